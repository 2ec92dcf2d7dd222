// The help desk's "why did it lock?": the recent session events of the audit buffer (locks,
// unlocks, log-offs, tap-outs, user switches, break-glass, sign-in refusals, lockouts), in
// codes and in plain words. Only ids, codes, counts and times leave an event: a break-glass
// reason is reduced to its category (the clinician's words may name a patient), and
// display names, card numbers and their tokens are never in the events to begin with.
import { BREAKGLASS_REASONS, type BreakglassReasonCode } from '../../preload/contract';
import type { AuditAction } from '../audit/catalog';
import { parseEventBody, type AuditEvent } from '../audit/event';
import type { AuditStore } from '../audit/store';
import type { SessionPolicy } from '../session/policy';

/** What "why did it lock?" is made of. */
export const SESSION_HISTORY_ACTIONS: ReadonlySet<AuditAction> = new Set<AuditAction>([
  'agent.start',
  'agent.stop',
  'session.unlock',
  'session.warning',
  'session.lock',
  'session.logoff',
  'session.tap_out',
  'session.user_switch',
  'breakglass.start',
  'breakglass.stop',
  'breakglass.expire',
  'auth.badge.failure',
  'auth.pin.failure',
  'auth.fido.failure',
  'auth.lockout',
  'auth.lockout_cleared',
  'enrollment.user_removed',
  'policy.loaded',
  'policy.rejected',
]);

export type Fact = string | number | boolean;

export interface SessionHistoryEntry {
  readonly seq: number;
  readonly time: string;
  readonly action: AuditAction;
  readonly outcome: number;
  /** The enrolled user id the event is about (ids are fine; names never). */
  readonly user: string | null;
  readonly method: string | null;
  /** The reason code (idle, manual, os-lock...; for break-glass its category: life-threatening, other...). */
  readonly reason: string | null;
  /** Allow-listed details: codes, user ids, counts and flags only. */
  readonly facts: Readonly<Record<string, Fact>>;
}

const CODE = /^[a-z0-9][a-z0-9+.-]{0,40}$/;
const USER_ID = /^[A-Za-z0-9][\w.@:+-]{0,127}$/;
const CODE_KEYS = new Set(['action', 'then', 'kind', 'purpose', 'next', 'factor', 'userVerification', 'sessionProfile', 'via']);
const ID_KEYS = new Set(['from', 'to', 'by', 'owner', 'subject']);
const NUMBER_KEYS = new Set(['idleSeconds', 'lockInSeconds', 'lateMs', 'durationSeconds', 'expiresInSeconds', 'seconds', 'triesLeft', 'failures']);
const FLAG_KEYS = new Set(['osLock', 'newSession', 'extended', 'allowExtendedTimeouts', 'wasLockedOut']);

/**
 * The category of a break-glass reason as the lock page builds it (`Label: words`, the
 * label alone, or only the words for "other"); never the words themselves.
 */
export function breakglassCategory(reason: unknown): BreakglassReasonCode {
  if (typeof reason !== 'string') return 'other';
  const text = reason.trim();
  for (const r of BREAKGLASS_REASONS) if (r.code !== 'other' && (text === r.label || text.startsWith(`${r.label}:`))) return r.code;
  return 'other';
}

export function toHistoryEntry(e: AuditEvent): SessionHistoryEntry {
  const facts: Record<string, Fact> = {};
  for (const [k, v] of Object.entries(e.details)) {
    if (CODE_KEYS.has(k) && typeof v === 'string' && CODE.test(v)) facts[k] = v;
    else if (ID_KEYS.has(k) && typeof v === 'string' && USER_ID.test(v)) facts[k] = v;
    else if (NUMBER_KEYS.has(k) && typeof v === 'number' && Number.isFinite(v)) facts[k] = v;
    else if (FLAG_KEYS.has(k) && typeof v === 'boolean') facts[k] = v;
  }
  if (e.action === 'policy.loaded' && typeof e.details.hash === 'string' && /^[0-9a-f]{64}$/.test(e.details.hash)) facts.policyHash = e.details.hash.slice(0, 16);
  if (e.action === 'policy.rejected' && Array.isArray(e.details.errors)) facts.problems = e.details.errors.length;
  const raw = e.details.reason;
  const reason = e.action === 'breakglass.start' ? breakglassCategory(raw) : typeof raw === 'string' && CODE.test(raw) ? raw : null;
  return {
    seq: e.seq,
    time: e.time,
    action: e.action,
    outcome: e.outcome,
    user: e.user !== null && USER_ID.test(e.user) ? e.user : null,
    method: e.method !== null && CODE.test(e.method) ? e.method : null,
    reason,
    facts,
  };
}

/** The newest `last` session events, oldest first, read backwards from the head of the buffer. */
export function readSessionHistory(store: AuditStore, last: number): SessionHistoryEntry[] {
  const floor = store.anchor().seq;
  let upTo = store.head().seq;
  const found: SessionHistoryEntry[] = [];
  const WINDOW = 512;
  while (upTo > floor && found.length < last) {
    const from = Math.max(floor, upTo - WINDOW);
    const rows = store.readAfter(from, upTo - from);
    for (let i = rows.length - 1; i >= 0 && found.length < last; i--) {
      let event: AuditEvent;
      try {
        event = parseEventBody(rows[i]!.body);
      } catch {
        continue; // a damaged row is agentctl verify's business, not this list's
      }
      if (SESSION_HISTORY_ACTIONS.has(event.action)) found.push(toHistoryEntry(event));
    }
    upTo = from;
  }
  return found.reverse();
}

function duration(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

const LOGOFF_ACTIONS: Record<string, string> = {
  'os-logoff': 'the OS signed them out',
  command: "IT's log-off command ran",
  'agent-signout': 'the agent signed them out; the OS session stayed',
};

const BADGE_REFUSALS: Record<string, string> = {
  'unknown-badge': 'a badge that is not enrolled was tapped',
  'revoked-badge': 'a revoked badge was tapped',
  'revoked-user': 'a badge of a revoked account was tapped',
  'locked-out': 'a badge was tapped while its user is locked out',
  'not-enroller': 'a badge without the enroller role was tapped at enrolment',
  'unknown-user': 'emergency access was asked for a user ID that no active user has',
};

/** One event in the words a technician reads out over the phone. */
export function describeHistoryEntry(e: SessionHistoryEntry, policy?: Pick<SessionPolicy, 'lockAfterSeconds' | 'logoffAfterSeconds'>): string {
  const who = e.user ?? 'nobody';
  const f = e.facts;
  const n = (k: string): number | null => (typeof f[k] === 'number' ? (f[k] as number) : null);
  switch (e.action) {
    case 'agent.start':
      return 'The agent started (the screen always starts locked).';
    case 'agent.stop':
      return 'The agent stopped.';
    case 'session.lock': {
      const owner = e.user ? `${e.user}'s session` : 'The screen';
      const os = f.osLock === true ? ' The OS session was locked too.' : '';
      const words: Record<string, string> = {
        startup: 'Locked at start-up: the agent always starts locked.',
        idle: `${owner} locked after ${n('idleSeconds') === null ? 'the idle limit' : `${duration(n('idleSeconds')!)} without input`}` +
          `${policy ? ` (policy: lock after ${duration(policy.lockAfterSeconds)} idle)` : ''}.`,
        manual: `${owner} was locked ${e.method === 'hotkey' ? 'with the lock hotkey' : 'from the tray menu'}.`,
        suspend: `${owner} locked because the computer went to sleep.`,
        resume: `${owner} locked when the computer woke up.`,
        'os-lock': `${owner} locked because the operating system locked its screen (Win+L, lid closed, screen saver).`,
        'tap-out': `${owner} locked: ${who} tapped their own badge (tap-out).`,
        'other-badge': `${owner} locked: ${typeof f.by === 'string' ? f.by : 'another user'} tapped their badge on it.`,
        'breakglass-ended': `${owner} locked: ${who} ended emergency access.`,
        'breakglass-expired': `${owner} locked: emergency access reached its time limit.`,
        policy: `${owner} locked: a new policy shortened the idle limit below the time already idle.`,
        revoked: `${owner} locked: ${who}'s access was revoked.`,
        'engine-error': `${owner} locked to be safe after an internal error (agentctl logs shows it).`,
      };
      return `${words[e.reason ?? ''] ?? `${owner} locked (${e.reason ?? 'no reason recorded'}).`}${os}`;
    }
    case 'session.logoff': {
      const why: Record<string, string> = {
        'locked-timeout': `it stayed locked past the limit${policy ? ` (policy: ${duration(policy.logoffAfterSeconds)})` : ''}`,
        'user-switch': 'another user signed in at this workstation',
        'tap-out': 'they tapped out and policy ends the session on tap-out',
        revoked: 'their access was revoked',
      };
      const how = typeof f.action === 'string' ? LOGOFF_ACTIONS[f.action] : undefined;
      return `${who}'s session ended: ${why[e.reason ?? ''] ?? e.reason ?? 'no reason recorded'}${how ? ` (${how})` : ''}.`;
    }
    case 'session.unlock': {
      const fresh = f.newSession === true ? ' (a new session)' : '';
      if (e.reason === 'grace') return `${who} unlocked with a badge tap (inside the grace period after a PIN or security key)${fresh}.`;
      if (e.reason === 'breakglass') return `${who} opened the screen with emergency access${fresh}.`;
      return `${who} unlocked with ${e.method === 'badge+fido2' ? 'badge + security key' : e.method === 'badge+pin' ? 'badge + PIN' : (e.method ?? 'a sign-in')}${fresh}.`;
    }
    case 'session.warning':
      return `Idle warning shown to ${who}${n('lockInSeconds') === null ? '' : `: locking in ${duration(n('lockInSeconds')!)}`}.`;
    case 'session.tap_out':
      return `${who} tapped their own badge on the open screen (tap-out: ${typeof f.then === 'string' ? f.then : 'lock'}).`;
    case 'session.user_switch':
      return `${typeof f.to === 'string' ? f.to : 'Another user'} signed in over ${typeof f.from === 'string' ? f.from : 'the owner'}'s session, which ended first.`;
    case 'breakglass.start': {
      const label = BREAKGLASS_REASONS.find((r) => r.code === e.reason)?.label ?? 'Other';
      const span = n('expiresInSeconds') === null ? '' : ` for up to ${duration(n('expiresInSeconds')!)}`;
      return `${f.extended === true ? 'Emergency access extended' : 'Emergency access started'} by ${who}${span}; reason category: ${label} (the words typed are in the audit trail only).`;
    }
    case 'breakglass.stop':
      return `${who} ended emergency access${n('durationSeconds') === null ? '' : ` after ${duration(n('durationSeconds')!)}`}.`;
    case 'breakglass.expire':
      return `${who}'s emergency access ran out${n('durationSeconds') === null ? '' : ` after ${duration(n('durationSeconds')!)}`}.`;
    case 'auth.badge.failure': {
      const kind = typeof f.kind === 'string' ? f.kind : '';
      return `Sign-in refused: ${BADGE_REFUSALS[kind] ?? `badge refused (${kind || 'unspecified'})`}${e.user ? ` (${e.user})` : ''}.`;
    }
    case 'auth.pin.failure':
      return f.kind === 'locked-out'
        ? `${who} typed a PIN while locked out.`
        : `Wrong PIN for ${who}${n('triesLeft') === null ? '' : ` (${n('triesLeft')} tries left before lockout)`}.`;
    case 'auth.fido.failure':
      return `Security key refused for ${who} (${typeof f.kind === 'string' ? f.kind : 'unspecified'}).`;
    case 'auth.lockout':
      return `${who} is locked out${n('seconds') === null ? '' : ` for ${duration(n('seconds')!)}`} after too many wrong PINs or security-key failures.`;
    case 'auth.lockout_cleared':
      return `IT cleared the lockout of ${typeof f.subject === 'string' ? f.subject : 'a user'}.`;
    case 'enrollment.user_removed':
      return `${typeof f.subject === 'string' ? f.subject : 'A user'} was revoked${e.user ? ` by ${e.user}` : ' by IT'}: their badges and keys stop working.`;
    case 'policy.loaded':
      return `A new policy took effect${typeof f.policyHash === 'string' ? ` (sha256 ${f.policyHash}…)` : ''}${typeof f.sessionProfile === 'string' ? `, profile ${f.sessionProfile}` : ''}.`;
    case 'policy.rejected':
      return `Policy was not applied as written${n('problems') === null ? '' : `: ${n('problems')} problem${n('problems') === 1 ? '' : 's'}`} (rejected settings fall back to the next source or the default; an unreadable source keeps its last good reading). agentctl policy show lists them.`;
    default:
      return `${e.action}${e.user ? ` (${e.user})` : ''}.`;
  }
}

/** `2026-11-30 09:59:50` in this machine's time zone: what the nurse's clock said. */
export function localTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (x: number) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** The time zone localTime uses, e.g. `UTC+01:00`. */
export function localZone(at = new Date()): string {
  const off = -at.getTimezoneOffset();
  const p = (x: number) => String(Math.floor(Math.abs(x))).padStart(2, '0');
  return `UTC${off >= 0 ? '+' : '-'}${p(off / 60)}:${p(off % 60)}`;
}
