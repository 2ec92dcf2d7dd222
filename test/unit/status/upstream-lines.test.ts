// What agentctl status and the status window say about the upstreams while a new policy is
// being applied: never "none configured" when the upstreams are only restarting.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatStatus, problemsOf } from '../../../main/status/format-status';
import { trayModel } from '../../../main/status/tray-model';
import { statusView } from '../../../main/status/status-view';
import { statusFixture } from '../../support/status-fixture';

const NOW = Date.parse('2026-11-30T09:00:00.000Z');
const upstreamLines = (lines: string[]) => lines.filter((l) => l.startsWith('upstream'));
const upstreamRows = (s: Parameters<typeof statusView>[0]) => statusView(s, NOW).sections.find((x) => x.title === 'Upstream')!.rows.map((r) => r.join(': '));

describe('upstream lines in the status', () => {
  it('names each lane when forwarding runs', () => {
    const s = statusFixture();
    assert.deepEqual(upstreamLines(formatStatus(s, NOW)), ['upstream https: idle, acknowledged through seq 118, last 5 s ago']);
    assert.deepEqual(upstreamRows(s), ['https: idle, acknowledged through seq 118, last 5 s ago']);
  });

  it('says none is configured only when the policy names none', () => {
    const s = statusFixture((x) => ({ ...x, forwarding: null }));
    assert.deepEqual(upstreamLines(formatStatus(s, NOW)), ['upstream none configured: events stay in the local buffer']);
    assert.deepEqual(upstreamRows(s), ['Collector: none configured: events stay in the local buffer']);
  });

  it('says the upstreams are restarting while a new policy is applied, with the previous lanes marked as such', () => {
    const between = statusFixture((x) => ({ ...x, forwarding: null, upstreamsRestarting: true }));
    assert.deepEqual(upstreamLines(formatStatus(between, NOW)), ['upstream restarting on the policy just loaded']);
    assert.deepEqual(upstreamRows(between), ['Policy change: restarting the upstreams on the policy just loaded']);
    const old = statusFixture((x) => ({ ...x, upstreamsRestarting: true }));
    assert.deepEqual(upstreamLines(formatStatus(old, NOW)), [
      "upstream restarting on the policy just loaded; until it has, the lines below are the previous upstreams'",
      'upstream https: idle, acknowledged through seq 118, last 5 s ago',
    ]);
    assert.equal(upstreamRows(old).length, 2);
  });

  it('says when the upstreams of the policy could not start, whether the previous ones still run, and when it tries again', () => {
    const problem = { message: "https: the client key /etc/cwa/ws.key cannot be read (ENOENT)", since: '2026-11-30T08:58:00.000Z', retryAt: '2026-11-30T09:00:20.000Z' };
    const kept = statusFixture((x) => ({ ...x, upstreamProblem: problem }));
    const line = 'upstreams of the policy in force not started (since 2 min ago): https: the client key /etc/cwa/ws.key cannot be read (ENOENT)';
    assert.deepEqual(problemsOf(kept, NOW), [`${line}; the upstreams started before keep running; next try in 20 s`]);
    assert.deepEqual(upstreamLines(formatStatus(kept, NOW)), ['upstream https: idle, acknowledged through seq 118, last 5 s ago']);
    assert.equal(upstreamRows(kept)[0], `Not started: ${line}; the upstreams started before keep running; next try in 20 s`);
    const tray = trayModel(kept);
    assert.equal(tray.state, 'error');
    assert.match(tray.tooltip, /certificate or key cannot be read/);

    const none = statusFixture((x) => ({ ...x, forwarding: null, upstreamProblem: problem }));
    assert.deepEqual(problemsOf(none, NOW), [`${line}; events stay in the local buffer; next try in 20 s`]);
    assert.deepEqual(upstreamLines(formatStatus(none, NOW)), ['upstream not started (the problem above): events stay in the local buffer']);
    assert.ok(!upstreamRows(none).some((r) => r.includes('none configured')));
    assert.ok(trayModel(none).lines.includes('Upstream not started: audit events wait on this workstation'));
  });
});
