// The tray at a glance: one state per situation (the most urgent wins), words that say
// what is wrong, and an icon per state that does not rest on colour alone.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inflateSync } from 'node:zlib';
import { trayIconPng, trayModel, type TrayState } from '../../../main/status/tray-model';
import type { AgentStatus } from '../../../main/agent';
import { statusFixture } from '../../support/status-fixture';

describe('tray model', () => {
  it('shows the session when all is well', () => {
    assert.equal(trayModel(statusFixture()).state, 'unlocked');
    assert.equal(trayModel(statusFixture((s) => ({ ...s, session: { ...s.session!, phase: 'warning' } }))).state, 'warning');
    const locked = trayModel(statusFixture((s) => ({ ...s, session: { ...s.session!, phase: 'locked', owner: 'sam.okafor', lockInSeconds: null } })));
    assert.equal(locked.state, 'locked');
    assert.equal(locked.tooltip, 'Clinical Workstation Agent — Locked (sam.okafor)');
    assert.deepEqual(locked.actions, ['lock-now', 'status', 'copy-status', 'about']);
  });

  it('puts an emergency first, then faults, then an unreachable collector', () => {
    const failingSpool = (s: AgentStatus): AgentStatus => ({ ...s, audit: { ...s.audit, spool: { ...s.audit.spool, failing: true, queued: 3 } } });
    const emergency = statusFixture((s) => failingSpool({ ...s, auth: { ...s.auth, emergency: { user: 'sam.okafor', reason: 'x', expiresAt: '2026-11-30T10:00:00.000Z' } } }));
    assert.equal(trayModel(emergency).state, 'emergency');
    const failing = trayModel(statusFixture(failingSpool));
    assert.equal(failing.state, 'error');
    assert.match(failing.tooltip, /audit writes are failing/);
    assert.equal(trayModel(statusFixture((s) => ({ ...s, auth: { ...s.auth, directoryKey: { ok: false, problem: 'missing' } } }))).state, 'error');
    const down = statusFixture((s) => ({
      ...s,
      forwarding: { ...s.forwarding!, lanes: [{ name: 'https', acknowledges: true, state: 'backoff', position: 1, lastAck: null, lastError: { kind: 'connect', message: 'refused', at: 'x' }, backoffMs: 4000, consecutiveFailures: 3 }] },
    }));
    const m = trayModel(down);
    assert.equal(m.state, 'upstream-unreachable');
    assert.ok(m.lines.includes('Problem: the audit collector cannot be reached'));
  });

  it('draws a valid PNG per state, each different', () => {
    const seen = new Set<string>();
    for (const state of ['unlocked', 'warning', 'locked', 'emergency', 'upstream-unreachable', 'error'] as TrayState[]) {
      const png = trayIconPng(state);
      assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      assert.equal(png.readUInt32BE(16), 32);
      assert.equal(png.readUInt32BE(20), 32);
      const idatLen = png.readUInt32BE(33);
      const raw = inflateSync(png.subarray(41, 41 + idatLen));
      assert.equal(raw.length, 32 * (32 * 4 + 1));
      seen.add(raw.toString('hex'));
    }
    assert.equal(seen.size, 6);
  });
});
