// An AgentStatus as a running agent reports it, for tests of what the tray, the status
// window and agentctl show; each test changes only what it is about.
import type { AgentStatus } from '../../main/agent';
import { mergePolicy } from '../../main/policy/effective-policy';

/** The base status, changed by `edit` (which returns the status the test needs). */
export function statusFixture(edit: (s: AgentStatus) => AgentStatus = (s) => s): AgentStatus {
  const base: AgentStatus = {
    version: '0.1.0',
    deviceId: 'a'.repeat(32),
    keyId: 'b'.repeat(32),
    startedAt: '2026-11-30T07:00:00.000Z',
    policy: {
      source: '/etc/clinical-workstation-agent/policy.json',
      hash: 'c'.repeat(64),
      errors: [],
      sources: [
        { name: 'installer', label: 'installer value', location: '/etc/clinical-workstation-agent/installer-values.json', state: 'absent', hash: null, why: null, fix: null, keptFrom: null },
        { name: 'machine-file', label: 'policy file', location: '/etc/clinical-workstation-agent/policy.json', state: 'ok', hash: 'c'.repeat(64), why: null, fix: null, keptFrom: null },
      ],
      effective: mergePolicy([]).settings,
      rejections: [],
    },
    session: { phase: 'unlocked', owner: 'dana.reyes', idleSeconds: 12, lockInSeconds: 288 },
    certificates: [
      { role: 'https client certificate', subject: 'CN=ward-4-bay-1', validTo: '2027-06-30T00:00:00.000Z', daysLeft: 211 },
      { role: 'https pinned CA', subject: 'CN=hospital-ca', validTo: '2030-01-01T00:00:00.000Z', daysLeft: 1127 },
    ],
    audit: {
      firstSeq: 1,
      lastSeq: 120,
      count: 120,
      acknowledgedThrough: 118,
      unacknowledged: 2,
      oldestUnackedTime: '2026-11-30T08:59:50.000Z',
      databaseBytes: 2_000_000,
      journalMode: 'wal',
      synchronous: 2,
      spool: { failing: false, queued: 0, lost: 0, since: null, lastError: null },
    },
    forwarding: {
      queueDepth: 2,
      oldestUnackedAgeMs: 10_000,
      deliveryConfirmed: true,
      lastAck: { seq: 118, at: '2026-11-30T08:59:55.000Z' },
      lastError: null,
      backoffMs: 0,
      continuityAlarm: null,
      lanes: [{ name: 'https', acknowledges: true, state: 'idle', position: 118, lastAck: { seq: 118, at: '2026-11-30T08:59:55.000Z' }, lastError: null, backoffMs: 0, consecutiveFailures: 0 }],
    },
    upstreamsRestarting: false,
    upstreamProblem: null,
    upstreamsStartedAt: '2026-11-30T08:00:00.000Z',
    buffer: { bytes: 2_000_000, budgetBytes: 1_073_741_824, percent: 0.2, alarmPercent: null },
    auth: {
      directoryVersion: 12,
      enrolledUsers: 40,
      directoryKey: { ok: true, keyId: 'd'.repeat(16) },
      origin: 'http://localhost',
      rpId: 'localhost',
      userVerification: 'agent-pin',
      directory: { mode: 'synced', connected: true, version: 12, lastSyncAt: '2026-11-30T08:59:58.000Z', lastError: null },
      emergency: null,
    },
    lastErrors: [],
  };
  return edit(base);
}
