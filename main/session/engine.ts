// The session engine: a pure, total reducer `step(state, event, now) → {state, effects}`.
// No timers, I/O or Electron: the controller feeds it monotonic time and idle reads and
// executes its effects. It never throws; an unexpected fault fails closed (lock).
import type { AuditAction, Outcome } from '../audit/catalog';
import { auditEventInputSchema, type AuditDetails } from '../audit/event';
import type { FactorRequest, SessionEffect, LockReason, LogoffReason, TimerName } from './effects';
import type { SessionEvent } from './events';
import { sessionPolicySchema, type SessionPolicy, type StrongFactor } from './policy';
import {
  emergencyOf,
  isOpen,
  ownerOf,
  type EmergencyPhase,
  type OpenPhase,
  type PendingAuth,
  type SessionPhase,
  type SessionState,
  type UnlockedPhase,
  type UnlockMethod,
} from './state';

export interface StepResult {
  readonly state: SessionState;
  readonly effects: readonly SessionEffect[];
}

const BREAKGLASS_REASON_MIN = 3;
const BREAKGLASS_REASON_MAX = 200;
/** At most this many deadlines are resolved in one step (lock, then logoff). */
const MAX_CASCADE = 4;

const ms = {
  warn: (p: SessionPolicy) => p.warnAfterSeconds * 1000,
  lock: (p: SessionPolicy) => p.lockAfterSeconds * 1000,
  logoff: (p: SessionPolicy) => p.logoffAfterSeconds * 1000,
  grace: (p: SessionPolicy) => p.graceHours * 3600_000,
  emergency: (p: SessionPolicy) => p.emergencyMaxMinutes * 60_000,
};

const userIdSchema = auditEventInputSchema.shape.user.unwrap().unwrap();

/** A user id the audit log accepts (the engine refuses any other). */
export function isValidUserId(user: unknown): user is string {
  return typeof user === 'string' && userIdSchema.safeParse(user).success;
}

/** Checks and normalizes a policy (the engine's input may come from anywhere). */
function checkedPolicy(policy: unknown): SessionPolicy | null {
  const parsed = sessionPolicySchema.safeParse(policy);
  return parsed.success ? parsed.data : null;
}

/** The state before the first event: no session, the overlay up. */
export function initialState(policy: SessionPolicy, now: number): SessionState {
  const checked = checkedPolicy(policy);
  if (checked === null) throw new Error('initialState: the session policy is invalid; parse it with sessionPolicySchema first');
  const t = Number.isFinite(now) ? now : 0;
  return { phase: { kind: 'logged-off', since: t, pending: null }, policy: checked, now: t, lastInputAt: t, strongAuthAt: new Map() };
}

/** The initial state plus the effects that put the lock overlay up at startup. */
export function start(policy: SessionPolicy, now: number): StepResult {
  const state = initialState(policy, now);
  return {
    state,
    effects: [
      { type: 'lock', reason: 'startup', owner: null, osLock: false },
      { type: 'audit', input: { action: 'session.lock', user: null, method: 'startup', details: { reason: 'startup' } } },
    ],
  };
}

/** Deadlines the controller must wake up for, by timer name. */
export function deadlines(state: SessionState): Partial<Record<TimerName, number>> {
  const { phase, policy } = state;
  const out: Partial<Record<TimerName, number>> = {};
  if (isOpen(phase)) {
    if (phase.kind !== 'warning') out.warn = state.lastInputAt + ms.warn(policy);
    out.lock = state.lastInputAt + ms.lock(policy);
    const em = emergencyOf(phase);
    if (em) out.emergency = em.expiresAt;
  } else if (phase.kind === 'locked') {
    out.logoff = phase.since + ms.logoff(policy);
  }
  return out;
}

/** Collects the next state and the effects of one step. */
class Transition {
  readonly effects: SessionEffect[] = [];
  constructor(public s: SessionState) {}

  get phase(): SessionPhase {
    return this.s.phase;
  }
  get now(): number {
    return this.s.now;
  }
  get policy(): SessionPolicy {
    return this.s.policy;
  }
  set(phase: SessionPhase): void {
    this.s = { ...this.s, phase };
  }
  emit(effect: SessionEffect): void {
    this.effects.push(effect);
  }
  audit(action: AuditAction, f: { user?: string | null; method?: string; outcome?: Outcome; details?: AuditDetails }): void {
    const input = {
      action,
      user: f.user ?? null,
      ...(f.method === undefined ? {} : { method: f.method }),
      ...(f.outcome === undefined ? {} : { outcome: f.outcome }),
      details: f.details ?? {},
    };
    this.emit({ type: 'audit', input });
  }
}

/** Audit `method` for an event type that is known to be safe to echo. */
function eventLabel(event: unknown): string {
  const type = typeof event === 'object' && event !== null ? (event as { type?: unknown }).type : undefined;
  return typeof type === 'string' && /^[a-z-]{1,32}$/.test(type) ? type : 'unknown';
}

function refuse(t: Transition, event: unknown, reason: string, user?: unknown): void {
  const label = eventLabel(event);
  t.audit('session.event_refused', {
    user: isValidUserId(user) ? user : null,
    method: label,
    details: { event: label, state: t.phase.kind, reason },
  });
}

function secondsOf(msValue: number): number {
  return Math.round(msValue / 100) / 10;
}

/** Open session → locked, keeping the owner; ends a break-glass session on the way. */
function lock(t: Transition, reason: LockReason, method: string, at: number = t.now, details: AuditDetails = {}): void {
  const phase = t.phase;
  if (!isOpen(phase)) return;
  const em = emergencyOf(phase);
  if (phase.kind === 'warning') t.emit({ type: 'hide-warning' });
  t.set({ kind: 'locked', owner: phase.user, since: Math.min(at, t.now), pending: null });
  t.emit({ type: 'lock', reason, owner: phase.user, osLock: t.policy.osLockOnLock && reason !== 'os-lock' });
  if (em) {
    t.audit(reason === 'breakglass-expired' ? 'breakglass.expire' : 'breakglass.stop', {
      user: em.user,
      method: 'breakglass',
      details: { reason, durationSeconds: secondsOf(t.now - em.since) },
    });
  }
  const late = t.now - at;
  t.audit('session.lock', {
    user: phase.user,
    method,
    details: { reason, osLock: t.policy.osLockOnLock && reason !== 'os-lock', ...(late > 0 ? { lateMs: Math.round(late) } : {}), ...details },
  });
}

/** Ends the owner's session (open sessions are locked first so the overlay is up). */
function logoff(t: Transition, reason: LogoffReason, lockReason: LockReason = 'idle'): void {
  if (isOpen(t.phase)) lock(t, lockReason, lockReason);
  const owner = ownerOf(t.phase);
  if (owner === null) return;
  const action = t.policy.logoffAction;
  t.set({ kind: 'logged-off', since: t.now, pending: null });
  t.emit({ type: 'logoff', user: owner, reason, action });
  t.audit('session.logoff', { user: owner, method: action.kind, details: { reason, action: action.kind } });
}

/** Before `user` may hold the session, a different owner's session ends (never inherited). */
function endOtherOwner(t: Transition, user: string, method: string): void {
  const owner = ownerOf(t.phase);
  if (owner === null || owner === user) return;
  t.audit('session.user_switch', { user, method, details: { from: owner, to: user } });
  logoff(t, 'user-switch', 'other-badge');
}

function unlock(t: Transition, user: string, method: UnlockMethod, why: 'grace' | 'strong-auth'): void {
  endOtherOwner(t, user, method);
  const newSession = ownerOf(t.phase) === null;
  t.s = { ...t.s, phase: { kind: 'unlocked', user, since: t.now, method }, lastInputAt: Math.max(t.s.lastInputAt, t.now) };
  t.emit({ type: 'unlock', user });
  t.audit('session.unlock', { user, method, details: { reason: why, newSession } });
}

function withinGrace(s: SessionState, user: string): boolean {
  const at = s.strongAuthAt.get(user);
  return at !== undefined && s.now - at < ms.grace(s.policy);
}

function pendingOf(phase: SessionPhase): PendingAuth | null {
  return phase.kind === 'locked' || phase.kind === 'logged-off' ? phase.pending : null;
}

function showWarning(t: Transition, resume: UnlockedPhase | EmergencyPhase): void {
  const deadline = t.s.lastInputAt + ms.lock(t.policy);
  const secondsLeft = Math.max(0, Math.ceil((deadline - t.now) / 1000));
  t.set({ kind: 'warning', user: resume.user, since: t.now, deadline, resume });
  t.emit({ type: 'show-warning', lockAt: deadline, secondsLeft });
  t.audit('session.warning', {
    user: resume.user,
    method: 'idle',
    details: { reason: 'idle', idleSeconds: secondsOf(t.now - t.s.lastInputAt), lockInSeconds: secondsLeft },
  });
}

function cancelWarning(t: Transition): void {
  const phase = t.phase;
  if (phase.kind !== 'warning') return;
  t.set(phase.resume);
  t.emit({ type: 'hide-warning' });
  t.audit('session.warning_cancelled', { user: phase.user, method: 'activity', details: { reason: 'activity' } });
}

/**
 * Input seen at `inputAt`. Input before the lock deadline moves the idle window; input at
 * or after it cannot reopen a window that had already closed (a late poll or a missed
 * suspend must not keep a session open), so the lock lands in `enforceDeadlines`.
 */
function absorbInput(t: Transition, inputAt: number): void {
  const s = t.s;
  if (!(inputAt > s.lastInputAt)) return;
  if (isOpen(s.phase) && inputAt >= s.lastInputAt + ms.lock(s.policy)) return;
  if (s.phase.kind === 'warning') cancelWarning(t);
  t.s = { ...t.s, lastInputAt: inputAt };
}

/** Applies every deadline that `now` has reached, earliest first. */
function enforceDeadlines(t: Transition, cause: 'time' | 'policy'): void {
  for (let i = 0; i < MAX_CASCADE; i++) {
    const p = t.phase;
    const { now, lastInputAt, policy } = t.s;
    if (isOpen(p)) {
      const idleDeadline = lastInputAt + ms.lock(policy);
      const em = emergencyOf(p);
      if (em && em.expiresAt <= now && em.expiresAt <= idleDeadline) {
        lock(t, 'breakglass-expired', 'breakglass', em.expiresAt);
        continue;
      }
      if (idleDeadline <= now) {
        lock(t, cause === 'policy' ? 'policy' : 'idle', 'idle', idleDeadline, { idleSeconds: secondsOf(now - lastInputAt) });
        continue;
      }
      const idle = now - lastInputAt;
      if (p.kind !== 'warning' && idle >= ms.warn(policy)) showWarning(t, p);
      else if (p.kind === 'warning' && idle < ms.warn(policy)) cancelWarning(t);
      return;
    }
    if (p.kind === 'locked' && p.since + ms.logoff(policy) <= now) {
      logoff(t, 'locked-timeout');
      continue;
    }
    return;
  }
}

function tapOut(t: Transition, phase: OpenPhase, event: SessionEvent): void {
  const behaviour = t.policy.tapOut;
  if (behaviour === 'off') {
    refuse(t, event, 'tap-out is turned off by policy', phase.user);
    return;
  }
  t.audit('session.tap_out', { user: phase.user, method: 'badge', details: { reason: 'tap-out', then: behaviour } });
  if (behaviour === 'logoff') logoff(t, 'tap-out', 'tap-out');
  else lock(t, 'tap-out', 'badge');
}

function onBadge(t: Transition, event: Extract<SessionEvent, { type: 'badge' }>): void {
  const user = event.user;
  if (!isValidUserId(user)) return refuse(t, event, 'malformed user id');
  const phase = t.phase;
  if (isOpen(phase)) {
    if (phase.user === user) return tapOut(t, phase, event);
    // Someone else is at an open screen: protect the owner's session, do not end it.
    t.audit('auth.badge.success', { user, method: 'badge', details: { next: 'lock' } });
    lock(t, 'other-badge', 'badge', t.now, { by: user });
    return;
  }
  const owner = ownerOf(phase);
  const takeover = owner !== null && owner !== user;
  if (withinGrace(t.s, user) && !takeover) {
    t.audit('auth.badge.success', { user, method: 'badge', details: { next: 'unlock' } });
    unlock(t, user, 'badge', 'grace');
    return;
  }
  // The owner's session ends only once the new user has proven who they are (a stray or
  // malicious tap must not end it): a strong factor, or on the grace path a confirmation.
  const awaiting: FactorRequest = withinGrace(t.s, user) ? 'confirm-switch' : t.policy.strongFactor;
  t.audit('auth.badge.success', { user, method: 'badge', details: { next: awaiting, ...(takeover ? { owner } : {}) } });
  const pending: PendingAuth = { user, since: t.now, awaiting };
  t.set(phase.kind === 'locked' ? { ...phase, pending } : { kind: 'logged-off', since: phase.since, pending });
  t.emit({ type: 'request-factor', user, factor: awaiting });
}

function onSwitchConfirm(t: Transition, event: Extract<SessionEvent, { type: 'switch-confirm' }>): void {
  const user = event.user;
  if (!isValidUserId(user)) return refuse(t, event, 'malformed user id');
  const pending = pendingOf(t.phase);
  if (pending === null || pending.user !== user || pending.awaiting !== 'confirm-switch') return refuse(t, event, 'no badge tap is waiting for this confirmation', user);
  if (!withinGrace(t.s, user)) return refuse(t, event, 'the grace window ended; the strong factor is needed', user);
  unlock(t, user, 'badge', 'grace');
}

function onAccessRevoked(t: Transition, event: Extract<SessionEvent, { type: 'access-revoked' }>): void {
  if (!isValidUserId(event.user)) return refuse(t, event, 'malformed user id');
  const phase = t.phase;
  if ((phase.kind === 'locked' || phase.kind === 'logged-off') && phase.pending?.user === event.user) t.set({ ...phase, pending: null });
  if (ownerOf(t.phase) !== event.user) return;
  logoff(t, 'revoked', 'revoked');
}

function onAuthCancel(t: Transition): void {
  const phase = t.phase;
  if ((phase.kind === 'locked' || phase.kind === 'logged-off') && phase.pending !== null) t.set({ ...phase, pending: null });
}

function failureKind(kind: unknown): string {
  return typeof kind === 'string' && /^[a-z0-9-]{1,64}$/.test(kind) ? kind : 'unspecified';
}

function onFactor(t: Transition, event: Extract<SessionEvent, { type: 'pin-ok' | 'pin-fail' | 'fido-ok' | 'fido-fail' }>): void {
  const factor: StrongFactor = event.type === 'pin-ok' || event.type === 'pin-fail' ? 'pin' : 'fido2';
  const ok = event.type === 'pin-ok' || event.type === 'fido-ok';
  const user = event.user;
  if (!isValidUserId(user)) return refuse(t, event, 'malformed user id');
  if (!ok) {
    const kind = failureKind((event as { kind?: unknown }).kind);
    const triesLeft = (event as { triesLeft?: unknown }).triesLeft;
    t.audit(factor === 'pin' ? 'auth.pin.failure' : 'auth.fido.failure', {
      user,
      method: `badge+${factor}`,
      details: { kind, ...(typeof triesLeft === 'number' && Number.isSafeInteger(triesLeft) && triesLeft >= 0 ? { triesLeft } : {}) },
    });
    return;
  }
  const pending = pendingOf(t.phase);
  if (pending === null || pending.user !== user) return refuse(t, event, `no badge tap is waiting for this user's ${factor}`, user);
  if (factor === 'pin' && t.policy.strongFactor === 'fido2') return refuse(t, event, 'policy requires a FIDO2 security key after the badge', user);
  const uv = event.type === 'fido-ok' && (event.uv === 'authenticator' || event.uv === 'agent-pin') ? event.uv : null;
  t.audit(factor === 'pin' ? 'auth.pin.success' : 'auth.fido.success', { user, method: `badge+${factor}`, ...(uv ? { details: { userVerification: uv } } : {}) });
  t.s = { ...t.s, strongAuthAt: pruneStrongAuth(t.s, user) };
  unlock(t, user, factor === 'pin' ? 'badge+pin' : 'badge+fido2', 'strong-auth');
}

/** Records `user`'s strong auth now and drops entries outside any grace window. */
function pruneStrongAuth(s: SessionState, user: string): ReadonlyMap<string, number> {
  const graceMs = ms.grace(s.policy);
  const next = new Map<string, number>();
  for (const [u, at] of s.strongAuthAt) if (s.now - at < graceMs) next.set(u, at);
  next.set(user, s.now);
  return next;
}

function validReason(reason: unknown): reason is string {
  return typeof reason === 'string' && reason.trim().length >= BREAKGLASS_REASON_MIN && reason.length <= BREAKGLASS_REASON_MAX;
}

function onBreakglassStart(t: Transition, event: Extract<SessionEvent, { type: 'breakglass-start' }>): void {
  const { user, reason } = event;
  if (!isValidUserId(user)) return refuse(t, event, 'malformed user id');
  if (!validReason(reason)) return refuse(t, event, `break-glass needs a reason of ${BREAKGLASS_REASON_MIN} to ${BREAKGLASS_REASON_MAX} characters`, user);
  if (emergencyOf(t.phase)) return refuse(t, event, 'break-glass is already on; extend it with a new reason', user);
  if (isOpen(t.phase)) return refuse(t, event, 'the session is already open', user);
  endOtherOwner(t, user, 'breakglass');
  const newSession = ownerOf(t.phase) === null;
  const maxMs = ms.emergency(t.policy);
  const trimmed = reason.trim();
  t.s = {
    ...t.s,
    phase: { kind: 'emergency', user, reason: trimmed, since: t.now, expiresAt: t.now + maxMs },
    lastInputAt: Math.max(t.s.lastInputAt, t.now),
  };
  t.emit({ type: 'unlock', user });
  const factor = typeof event.factor === 'string' && /^[a-z0-9+-]{1,32}$/.test(event.factor) ? event.factor : null;
  t.audit('breakglass.start', {
    user,
    method: 'breakglass',
    details: { reason: trimmed, expiresInSeconds: secondsOf(maxMs), extended: false, ...(factor ? { factor } : {}) },
  });
  t.audit('session.unlock', { user, method: 'breakglass', details: { reason: 'breakglass', newSession } });
}

function onBreakglassExtend(t: Transition, event: Extract<SessionEvent, { type: 'breakglass-extend' }>): void {
  const phase = t.phase;
  const em = emergencyOf(phase);
  if (em === null) return refuse(t, event, 'break-glass is not on');
  if (!validReason(event.reason)) return refuse(t, event, `extending break-glass needs a reason of ${BREAKGLASS_REASON_MIN} to ${BREAKGLASS_REASON_MAX} characters`, em.user);
  const reason = event.reason.trim();
  if (reason === em.reason) return refuse(t, event, 'extending break-glass needs a new reason', em.user);
  const maxMs = ms.emergency(t.policy);
  const extended: EmergencyPhase = { ...em, reason, expiresAt: t.now + maxMs };
  t.set(phase.kind === 'warning' ? { ...phase, resume: extended } : extended);
  t.audit('breakglass.start', { user: em.user, method: 'breakglass', details: { reason, expiresInSeconds: secondsOf(maxMs), extended: true } });
}

function onPolicy(t: Transition, event: Extract<SessionEvent, { type: 'policy' }>): void {
  const policy = checkedPolicy(event.policy);
  if (policy === null) return refuse(t, event, 'invalid session policy');
  t.s = { ...t.s, policy };
  // A shorter break-glass limit applies at once; a longer one never extends a running session.
  const phase = t.phase;
  const em = emergencyOf(phase);
  if (em) {
    const capped: EmergencyPhase = { ...em, expiresAt: Math.min(em.expiresAt, t.now + ms.emergency(policy)) };
    t.set(phase.kind === 'warning' ? { ...phase, resume: capped } : capped);
  }
  enforceDeadlines(t, 'policy');
}

function applyEvent(t: Transition, event: SessionEvent): void {
  const phase = t.phase;
  switch (event.type) {
    case 'activity':
    case 'tick':
      return; // absorbed before the deadlines
    case 'badge':
      return onBadge(t, event);
    case 'tap-out':
      if (!isValidUserId(event.user)) return refuse(t, event, 'malformed user id');
      if (isOpen(phase) && phase.user === event.user) return tapOut(t, phase, event);
      return refuse(t, event, isOpen(phase) ? "only the owner's badge can tap out" : 'the screen is not unlocked', event.user);
    case 'pin-ok':
    case 'pin-fail':
    case 'fido-ok':
    case 'fido-fail':
      return onFactor(t, event);
    case 'switch-confirm':
      return onSwitchConfirm(t, event);
    case 'auth-cancel':
      return onAuthCancel(t);
    case 'access-revoked':
      return onAccessRevoked(t, event);
    case 'manual-lock':
      if (isOpen(phase)) lock(t, 'manual', event.via === 'hotkey' ? 'hotkey' : 'tray');
      return;
    case 'suspend':
      if (isOpen(phase)) lock(t, 'suspend', 'suspend');
      return;
    case 'resume':
      if (isOpen(phase)) lock(t, 'resume', 'resume');
      return;
    case 'os-lock':
      if (isOpen(phase)) lock(t, 'os-lock', 'os-lock');
      return;
    case 'policy':
      return onPolicy(t, event);
    case 'breakglass-start':
      return onBreakglassStart(t, event);
    case 'breakglass-extend':
      return onBreakglassExtend(t, event);
    case 'breakglass-end':
      if (emergencyOf(phase) === null) return refuse(t, event, 'break-glass is not on');
      lock(t, 'breakglass-ended', 'breakglass');
      return;
    default:
      return refuse(t, event, 'unknown event');
  }
}

function timerEffects(before: SessionState, after: SessionState): SessionEffect[] {
  const a = deadlines(before);
  const b = deadlines(after);
  const out: SessionEffect[] = [];
  for (const name of ['warn', 'lock', 'logoff', 'emergency'] as const) {
    const at = b[name];
    if (at === undefined) {
      if (a[name] !== undefined) out.push({ type: 'clear-timer', timer: name });
    } else if (at !== a[name]) {
      out.push({ type: 'set-timer', timer: name, at });
    }
  }
  return out;
}

function stepUnchecked(prev: SessionState, event: SessionEvent, rawNow: number): StepResult {
  const now = Number.isFinite(rawNow) ? Math.max(rawNow, prev.now) : prev.now;
  const t = new Transition({ ...prev, now });
  const malformed =
    typeof event !== 'object' || event === null
      ? 'malformed event'
      : event.type === 'tick' && !(typeof event.idleMs === 'number' && event.idleMs >= 0)
        ? 'idle time must be a number of milliseconds >= 0'
        : null;
  if (malformed === null) {
    if (event.type === 'tick') absorbInput(t, now - event.idleMs);
    else if (event.type === 'activity') absorbInput(t, now);
  }
  // Time has passed whatever the event: deadlines apply even to a refused one.
  enforceDeadlines(t, 'time');
  if (malformed === null) applyEvent(t, event);
  else refuse(t, event, malformed);
  return { state: t.s, effects: [...t.effects, ...timerEffects(prev, t.s)] };
}

/** One engine step. Total: returns for every state and event, failing closed on a fault. */
export function step(prev: SessionState, event: SessionEvent, now: number): StepResult {
  try {
    return stepUnchecked(prev, event, now);
  } catch (err) {
    const t = new Transition({ ...prev, now: Number.isFinite(now) ? Math.max(now, prev.now) : prev.now });
    lock(t, 'engine-error', 'engine-error');
    t.audit('session.event_refused', {
      outcome: 8,
      method: eventLabel(event),
      details: { event: eventLabel(event), state: prev.phase.kind, reason: 'engine-error', error: err instanceof Error ? err.message.slice(0, 200) : 'unknown' },
    });
    return { state: t.s, effects: [...t.effects, ...timerEffects(prev, t.s)] };
  }
}
