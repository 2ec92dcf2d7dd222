// The status window's content, from the agent's status: what a help-desk technician reads
// out over the phone, problems first. The "copy for the help desk" text is formatStatus's.
import type { PolicyRowView, PolicyView, StatusView } from '../../preload/contract';
import type { AgentStatus } from '../agent';
import { sourceLabel, valueText } from '../policy/effective-policy';
import { settingNotes, settingsInOrder } from '../policy/policy-status';
import { ago, laneSummary, problemsOf, upstreamProblemLine } from './format-status';

const CERT_WARN_DAYS = 30;

function duration(seconds: number): string {
  if (seconds < 90) return `${seconds} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

export function statusView(s: AgentStatus, nowMs = Date.now()): StatusView {
  const problems = problemsOf(s, nowMs).map((p) => p.charAt(0).toUpperCase() + p.slice(1));
  for (const c of s.certificates) {
    if (c.daysLeft < 0) problems.push(`The ${c.role} (${c.subject}) has expired: the collector will refuse this workstation. Call IT to renew it.`);
    else if (c.daysLeft <= CERT_WARN_DAYS) problems.push(`The ${c.role} (${c.subject}) expires in ${c.daysLeft} days. Call IT to renew it.`);
  }
  const sections: StatusView['sections'][number][] = [];
  const session = s.session;
  sections.push({
    title: 'Session',
    rows: session
      ? [
          ['State', session.phase],
          ['Signed in', session.owner ?? 'nobody'],
          ['Idle for', duration(session.idleSeconds)],
          ['Locks in', session.lockInSeconds === null ? '-' : duration(session.lockInSeconds)],
          ...(s.auth.emergency ? ([['Emergency access', `${s.auth.emergency.user} until ${s.auth.emergency.expiresAt}: ${s.auth.emergency.reason}`]] as const) : []),
        ]
      : [['State', 'not enforced (headless agent)']],
  });
  const dir = s.auth.directory;
  sections.push({
    title: 'Sign-in',
    rows: [
      ['People enrolled', String(s.auth.enrolledUsers)],
      ['Directory', `version ${s.auth.directoryVersion}, ${dir.mode === 'synced' ? `copy of the collector's (${dir.connected ? 'live' : 'offline'}, synced ${ago(dir.lastSyncAt, nowMs)})` : 'this workstation only'}`],
      ['Organisation key', s.auth.directoryKey.ok ? s.auth.directoryKey.keyId : `missing: ${s.auth.directoryKey.problem}`],
      ['Security keys', s.auth.userVerification === 'authenticator' ? 'the key checks its own PIN' : 'key presence, then the agent PIN'],
      ['Pages origin', `${s.auth.origin} (RP ID ${s.auth.rpId})`],
    ],
  });
  sections.push({
    title: 'Audit buffer',
    rows: [
      ['Events stored', String(s.audit.count)],
      ['Not yet acknowledged', String(s.audit.unacknowledged)],
      ['Oldest unacknowledged', ago(s.audit.oldestUnackedTime, nowMs)],
      ['Size', `${(s.audit.databaseBytes / 1e6).toFixed(1)} MB (${s.buffer.percent.toFixed(1)} % of the budget)`],
      ['Durability', `${s.audit.journalMode}, synchronous=${s.audit.synchronous === 2 ? 'FULL' : s.audit.synchronous}`],
    ],
  });
  sections.push({
    title: 'Upstream',
    rows: [
      ...(s.upstreamsRestarting ? [['Policy change', 'restarting the upstreams on the policy just loaded'] as const] : []),
      ...(s.upstreamProblem ? [['Not started', upstreamProblemLine(s, nowMs)] as const] : []),
      ...(!s.forwarding && !s.upstreamsRestarting && !s.upstreamProblem ? [['Collector', 'none configured: events stay in the local buffer'] as const] : []),
      ...(s.forwarding?.lanes ?? []).map((l) => [l.name, `${laneSummary(l, nowMs)}${l.lastError ? `; last error (${l.lastError.kind}): ${l.lastError.message}` : ''}`] as const),
    ],
  });
  sections.push({
    title: 'Certificates and keychain',
    rows: [
      ['Keychain', 'reachable (the audit database key and the device key loaded at start)'],
      ...s.certificates.map((c) => [c.role, `${c.subject}; ${c.daysLeft < 0 ? 'EXPIRED' : `${c.daysLeft} days left`} (until ${c.validTo.slice(0, 10)})`] as const),
    ],
  });
  sections.push({
    title: 'Agent',
    rows: [
      ['Version', s.version],
      ['Running since', s.startedAt],
      ['Device', s.deviceId],
      ['Device key', s.keyId],
      ['Policy', `${s.policy.source}${s.policy.hash ? ` (sha256 ${s.policy.hash.slice(0, 16)}…)` : ''}`],
    ],
  });
  if (s.lastErrors.length > 0) sections.push({ title: 'Recent errors', rows: s.lastErrors.slice(-8).reverse().map((e) => [e.at.slice(11, 19), `${e.area}: ${e.message}`] as const) });
  return { generatedAt: new Date(nowMs).toISOString(), problems, sections, policy: policyView(s.policy) };
}

/** The Policy section: unreadable sources and rejections first, then every setting a source sets. */
export function policyView(p: AgentStatus['policy']): PolicyView {
  const rows: PolicyRowView[] = [];
  for (const src of p.sources) {
    if (src.state !== 'unreadable') continue;
    const kept = src.keptFrom ? `its policy as read at ${src.keptFrom} stays in force` : 'the other sources and the defaults apply';
    rows.push({ setting: '(all its settings)', value: '-', source: src.label, note: `Cannot be read: ${src.why ?? 'unknown error'}; ${kept}.${src.fix ? ` Fix: ${src.fix}.` : ''}`, problem: true });
  }
  const inForce = new Map(p.effective.map((e) => [e.key, e]));
  for (const r of p.rejections) {
    const now = inForce.get(r.key);
    const instead = now ? ` In force instead: ${valueText(now.value)} (${sourceLabel(now.source)}).` : '';
    rows.push({ setting: r.key, value: valueText(r.value), source: sourceLabel(r.source), note: `Rejected: ${r.reason}. Fix: ${r.fix}.${instead}`, problem: true });
  }
  for (const e of settingsInOrder(p.effective, false)) {
    if (e.source === 'default') continue;
    // An overridden value that would be rejected if it applied is flagged: IT should fix it before removing what overrides it.
    const latent = e.overrode.some((o) => o.invalid !== undefined);
    rows.push({ setting: e.key, value: valueText(e.value), source: sourceLabel(e.source), note: settingNotes({ ...e, rejected: [] }), problem: latent });
  }
  const set = p.effective.filter((e) => e.source !== 'default').length;
  const summary =
    set === 0 && rows.length === 0
      ? 'Every setting is at its default: no policy source sets anything.'
      : `From ${p.source}${p.hash ? ` (sha256 ${p.hash.slice(0, 16)}…)` : ''}: ${set} setting${set === 1 ? '' : 's'} set, ${p.rejections.length} rejected. Settings not listed are at their default.`;
  return { summary, rows };
}
