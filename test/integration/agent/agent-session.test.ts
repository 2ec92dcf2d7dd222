// The Agent with session enforcement (the ports Electron provides, here as recording
// doubles): it starts locked, a badge + PIN unlocks, a policy change takes effect without a
// restart, the idle lock fires, and the audit trail holds it all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../../../main/agent';
import { parseEventBody } from '../../../main/audit/event';
import { AuditStore } from '../../../main/audit/store';
import { verifyStore } from '../../../main/audit/verify-store';
import { KeytarKeyStore } from '../../../main/platform/keystore';
import { createAgentLogger } from '../../../main/platform/logger';
import { defaultPaths } from '../../../main/platform/paths';
import { until } from '../../support/until';
import { uniqueService } from '../../support/audit-fixture';
import { RealTimeIdleSource } from '../../support/real-time-idle';
import { RecordingLockPresenter, RecordingOsSession } from '../../support/session-doubles';

const NURSE = 'nurse-0042';

test('agent with a session: starts locked, unlocks with badge + PIN, applies a new policy live, locks when idle', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cwa-agent-session-'));
  const service = uniqueService('agent-session');
  const paths = defaultPaths('linux', { CWA_DATA_DIR: join(dir, 'data'), CWA_POLICY_FILE: join(dir, 'policy.json'), CWA_KEYCHAIN_SERVICE: service });
  const keyStore = new KeytarKeyStore(service);
  const idle = new RealTimeIdleSource();
  const presenter = new RecordingLockPresenter();
  const os = new RecordingOsSession();
  const agent = await Agent.start({ version: '0.1.0-test', paths, keyStore, logger: createAgentLogger({ console: false }), machineId: 'agent-session', session: { idle, presenter, os } });
  try {
    const first = presenter.calls.find((c) => c.kind === 'showLock');
    assert.equal(first?.kind === 'showLock' ? first.reason : null, 'startup', 'the overlay is up before anyone signs in');
    await agent.dispatch({ type: 'badge', user: NURSE });
    idle.activity();
    await agent.dispatch({ type: 'pin-ok', user: NURSE });
    assert.deepEqual([agent.status().session?.phase, agent.status().session?.owner], ['unlocked', NURSE]);

    // IT shortens the lock; the running session picks it up. The nurse keeps working until
    // it is in force (however long the reload takes here), then walks away.
    const keepWorking = setInterval(() => idle.activity(), 100);
    try {
      writeFileSync(paths.policyFile, JSON.stringify({ session: { lockAfterSeconds: 3, warnAfterSeconds: 1.5 } }));
      await until('the session to run on the new policy', () => (agent.status().session?.lockInSeconds ?? Infinity) <= 3);
    } finally {
      clearInterval(keepWorking);
    }
    idle.activity();
    const lock = await presenter.next('showLock', 15_000);
    assert.equal(lock.reason, 'idle');
    assert.equal(agent.status().session?.phase, 'locked');
    assert.equal(agent.status().session?.owner, NURSE);
  } finally {
    await agent.stop('test done');
    const ro = await AuditStore.openReadOnly(paths.auditDb, keyStore);
    try {
      const actions: string[] = ro.readAfter(0, 200).map((e) => parseEventBody(e.body).action);
      const order = ['agent.start', 'session.lock', 'auth.badge.success', 'auth.pin.success', 'session.unlock', 'policy.loaded', 'session.warning', 'session.lock', 'agent.stop'];
      let at = -1;
      for (const a of order) {
        const next = actions.indexOf(a, at + 1);
        assert.ok(next > at, `expected ${a} after position ${at} in ${actions.join(', ')}`);
        at = next;
      }
      assert.equal(verifyStore(ro).ok, true);
    } finally {
      await ro.close();
      for (const a of ['audit-db-key', 'device-signing-key']) await keyStore.delete(a).catch(() => false);
      rmSync(dir, { recursive: true, force: true });
    }
  }
});
