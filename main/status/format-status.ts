// The status snapshot as a help-desk tech reads it out over the phone: one fact a line,
// problems first.
import type { AgentStatus } from '../agent';
import type { LaneStatus } from '../forward/forwarder';
import { rejectionLine } from '../policy/effective-policy';

export function ago(iso: string | null, nowMs: number): string {
  if (!iso) return '-';
  const s = Math.max(0, Math.round((nowMs - Date.parse(iso)) / 1000));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  return `${(s / 3600).toFixed(1)} h ago`;
}

/** What is wrong, most urgent first (also the first lines of formatStatus). */
export function problemsOf(s: AgentStatus, nowMs = Date.now()): string[] {
  const problems: string[] = [];
  if (s.audit.spool.failing) problems.push(`audit writes failing since ${s.audit.spool.since}: ${s.audit.spool.queued} events wait in memory (${s.audit.spool.lastError ?? ''})`);
  for (const src of s.policy.sources) {
    if (src.state !== 'unreadable') continue;
    const kept = src.keptFrom ? `the policy read from it at ${src.keptFrom} stays in force` : 'nothing was read from it before; the other sources and the defaults apply';
    problems.push(`policy source unreadable: ${src.label} (${src.location}): ${src.why ?? 'unknown error'}; ${kept}`);
  }
  if (s.policy.rejections.length > 0) {
    problems.push(`policy settings rejected (the next source's value or the default applies instead): ${s.policy.rejections.map(rejectionLine).join('; ')}`);
  }
  if (s.buffer.alarmPercent !== null) problems.push(`audit buffer at ${s.buffer.percent.toFixed(0)} % of its budget (alarm at ${s.buffer.alarmPercent} %)`);
  const f = s.forwarding;
  if (s.upstreamProblem) problems.push(upstreamProblemLine(s, nowMs));
  if (f?.continuityAlarm) problems.push(`continuity alarm: ${f.continuityAlarm.message}`);
  if (f?.lastError) problems.push(`upstream error (${f.lastError.kind}): ${f.lastError.message}`);
  if (f && !f.deliveryConfirmed) problems.push('delivery unconfirmed: only syslog is configured, which never acknowledges');
  if (!s.auth.directoryKey.ok) problems.push(`badge sign-in unavailable: ${s.auth.directoryKey.problem}`);
  const dir = s.auth.directory;
  if (dir.mode === 'synced' && !dir.connected) problems.push(`shared directory not reachable (${dir.lastError ?? 'connecting'}): the copy from ${dir.lastSyncAt ? ago(dir.lastSyncAt, nowMs) : 'before start'} serves`);
  if (s.auth.emergency) problems.push(`EMERGENCY ACCESS in use by ${s.auth.emergency.user} until ${s.auth.emergency.expiresAt}: ${s.auth.emergency.reason}`);
  return problems;
}

/** The upstreams of the policy in force that could not start: why, what runs meanwhile, the next try. */
export function upstreamProblemLine(s: AgentStatus, nowMs: number): string {
  const p = s.upstreamProblem!;
  const meanwhile = s.forwarding ? 'the upstreams started before keep running' : 'events stay in the local buffer';
  const retry = Math.max(0, Math.round((Date.parse(p.retryAt) - nowMs) / 1000));
  return `upstreams of the policy in force not started (since ${ago(p.since, nowMs)}): ${p.message}; ${meanwhile}; next try in ${retry} s`;
}

/** One upstream lane: state, how far it got, its last ack and when it retries. */
export function laneSummary(l: LaneStatus, nowMs: number): string {
  return (
    `${l.state}, ${l.acknowledges ? 'acknowledged' : 'written'} through seq ${l.position}` +
    `${l.lastAck ? `, last ${ago(l.lastAck.at, nowMs)}` : ''}${l.backoffMs > 0 ? `, retry in ${Math.round(l.backoffMs / 1000)} s` : ''}`
  );
}

export function formatStatus(s: AgentStatus, nowMs = Date.now()): string[] {
  const lines: string[] = [];
  for (const p of problemsOf(s, nowMs)) lines.push(`PROBLEM  ${p}`);
  lines.push(`agent    ${s.version}, running since ${s.startedAt}`);
  lines.push(`device   ${s.deviceId} (key ${s.keyId})`);
  const set = s.policy.effective.filter((e) => e.source !== 'default').length;
  lines.push(`policy   ${s.policy.source}${s.policy.hash ? ` sha256 ${s.policy.hash.slice(0, 16)}…` : ''}; ${set} setting${set === 1 ? '' : 's'} set, ${s.policy.rejections.length} rejected (agentctl policy show)`);
  lines.push(`session  ${s.session ? `${s.session.phase}${s.session.owner ? `, owner ${s.session.owner}` : ''}` : 'not enforced (headless)'}`);
  const a = s.auth;
  const dir = a.directory;
  const f = s.forwarding;
  lines.push(
    `sign-in  ${a.enrolledUsers} enrolled, directory version ${a.directoryVersion} ` +
      `(${dir.mode === 'synced' ? `copy of the collector's, ${dir.connected ? 'live' : 'offline'}, synced ${ago(dir.lastSyncAt, nowMs)}` : 'this workstation only'}), ` +
      `org key ${a.directoryKey.ok ? a.directoryKey.keyId : 'MISSING'}; ` +
      `security keys: ${a.userVerification === 'authenticator' ? 'the key verifies its own PIN' : 'key presence + the agent PIN'} (origin ${a.origin}, RP ID ${a.rpId})`,
  );
  for (const c of s.certificates) lines.push(`cert     ${c.role}: ${c.subject}, ${c.daysLeft < 0 ? 'EXPIRED' : `${c.daysLeft} days left`}`);
  lines.push(`buffer   ${s.audit.count} events stored, ${s.audit.unacknowledged} not yet acknowledged, oldest unacknowledged ${ago(s.audit.oldestUnackedTime, nowMs)}; ${(s.audit.databaseBytes / 1e6).toFixed(1)} MB`);
  if (s.upstreamsRestarting) lines.push(`upstream restarting on the policy just loaded${f ? "; until it has, the lines below are the previous upstreams'" : ''}`);
  else if (!f) lines.push(s.upstreamProblem ? 'upstream not started (the problem above): events stay in the local buffer' : 'upstream none configured: events stay in the local buffer');
  for (const l of f?.lanes ?? []) lines.push(`upstream ${l.name}: ${laneSummary(l, nowMs)}`);
  for (const e of s.lastErrors.slice(-5)) lines.push(`error    ${e.at} ${e.area}: ${e.message}`);
  return lines;
}
