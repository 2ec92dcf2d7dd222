// The whole agent as IT and the help desk meet it, headless under Node: first start,
// a policy file that names an HTTPS upstream (picked up without a restart), events
// arriving verified at the reference receiver, a bad policy rejected without losing the
// good one, `agentctl status` over the local socket, and a clean stop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../../../main/agent';
import { AuditStore } from '../../../main/audit/store';
import { verifyStore } from '../../../main/audit/verify-store';
import { parseEventBody } from '../../../main/audit/event';
import { runAgentctl } from '../../../main/cli/agentctl';
import { KeytarKeyStore } from '../../../main/platform/keystore';
import { createAgentLogger } from '../../../main/platform/logger';
import { defaultPaths } from '../../../main/platform/paths';
import { startStatusServer } from '../../../main/status/status-server';
import { formatStatus } from '../../../main/status/format-status';
import { trayModel } from '../../../main/status/tray-model';
import { uniqueService } from '../../support/audit-fixture';
import { TestPki } from '../../../collector/demo-pki';
import { startReceiverFor } from '../../support/test-collector';
import { until } from '../../support/until';

/** A hospital CA, the collector (SQLite in `dir`) with the agent's device registered, and a client certificate for the agent. */
async function collectorFor(agent: Agent, pki: TestPki, dir: string) {
  const ca = pki.createCa('hospital-ca');
  const server = pki.issue(ca, 'collector', { kind: 'server', dns: ['localhost'], ips: ['127.0.0.1'] });
  const client = pki.issue(ca, 'workstation', { kind: 'client' });
  chmodSync(client.keyPath, 0o600);
  const receiver = await startReceiverFor(agent, { ca: ca.cert, cert: server.cert, key: server.key }, join(dir, 'collector.db'));
  return { ca, client, receiver };
}

test('headless agent: policy-driven forwarding to the verifying receiver, policy rejection, status socket, clean stop', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cwa-agent-'));
  const service = uniqueService('agent');
  const env = { CWA_DATA_DIR: join(dir, 'data'), CWA_POLICY_FILE: join(dir, 'policy.json'), CWA_KEYCHAIN_SERVICE: service };
  const paths = defaultPaths('linux', env);
  const keyStore = new KeytarKeyStore(service);
  const pki = new TestPki();
  const logger = createAgentLogger({ console: false });
  let agent: Agent | null = await Agent.start({ version: '0.1.0-test', paths, keyStore, logger, machineId: 'agent-e2e' });
  const status = await startStatusServer(paths.statusSocket, () => agent!.status());
  try {
    const first = agent.status();
    assert.equal(first.forwarding, null, 'no upstream in the default policy');
    assert.equal(first.policy.source, 'built-in defaults');
    assert.deepEqual([first.audit.journalMode, first.audit.synchronous], ['wal', 2]);

    // IT registers the device at the collector and deploys a policy naming it.
    const { ca, client, receiver } = await collectorFor(agent, pki, dir);
    try {
      const policy = {
        forwarding: {
          https: { url: receiver.url.replace('127.0.0.1', 'localhost'), caFile: ca.certPath, clientCertFile: client.certPath, clientKey: { source: 'file', path: client.keyPath } },
          batch: { lingerMs: 10 },
          backoff: { initialMs: 50, maxMs: 500 },
        },
      };
      writeFileSync(paths.policyFile, JSON.stringify(policy, null, 2));
      const forwarding = await until('the new policy to start forwarding', () => agent!.status().forwarding);
      assert.equal(forwarding.deliveryConfirmed, true);
      const headSeq = agent.store.head().seq;
      await receiver.waitFor((c) => c.stored >= headSeq, 15_000);
      await until('the ack to reach the agent', () => agent!.status().audit.acknowledgedThrough >= headSeq);
      assert.equal((await receiver.verifyStored(first.deviceId)).ok, true);
      const actions = agent.store.readAfter(0, 100).map((e) => parseEventBody(e.body).action);
      assert.deepEqual(actions.slice(0, 2), ['agent.start', 'audit.recording_started']);
      assert.ok(actions.includes('policy.loaded'), 'the policy change is in the audit trail');

      // A policy file with bad settings: each is rejected with its path (the default applies
      // to it), everything else in the file is in force.
      const beforeReject = agent.store.head().seq;
      writeFileSync(paths.policyFile, JSON.stringify({ forwarding: { ...policy.forwarding, batch: { maxEvents: -5 } }, sesion: {} }));
      const rejected = await until('the bad policy to be reported', () => (agent!.status().policy.errors.length > 0 ? agent!.status().policy : false));
      const where = `policy file ${paths.policyFile}`;
      assert.deepEqual(
        rejected.rejections.map((r) => [r.key, r.where]),
        [
          ['forwarding.batch.maxEvents', where],
          ['sesion', where],
        ],
      );
      assert.ok(rejected.errors.includes(`sesion: unknown setting (check the spelling) (${where})`), rejected.errors.join('\n'));
      assert.equal(rejected.source, paths.policyFile);
      assert.equal(agent.policy().forwarding.batch.maxEvents, 500, 'the rejected value falls back to the default');
      // The valid settings changed (batch.lingerMs is gone), so the forwarder restarts with them.
      await until('forwarding to run on the settings that were valid', () => {
        const s = agent!.status();
        return !s.upstreamsRestarting && s.forwarding;
      });
      // The restart records what it does too (the directory key from the collector): the rejection is among it.
      const afterReject = agent.store.head().seq;
      const since = agent.store.readAfter(beforeReject, 100).map((e) => parseEventBody(e.body).action);
      assert.ok(since.includes('policy.rejected'), since.join(', '));
      await receiver.waitFor((c) => c.stored >= afterReject, 15_000);

      // The help desk asks for status over the local socket.
      const out: string[] = [];
      const code = await runAgentctl(['status'], { out: (l) => out.push(l), err: (l) => out.push(l), env });
      assert.equal(code, 0, out.join('\n'));
      const text = out.join('\n');
      assert.match(text, /^PROBLEM {2}policy settings rejected/m);
      assert.match(text, new RegExp(`^device   ${first.deviceId}`, 'm'));
      assert.match(text, /^upstream https: (idle|sending), acknowledged through seq \d+/m);
      assert.match(text, /^sign-in {2}0 enrolled, directory version 0 \(copy of the collector's, (live|offline), synced [^)]*\), org key [0-9a-f]{16}; security keys: key presence \+ the agent PIN \(origin http:\/\/localhost, RP ID localhost\)$/m);

      await agent.stop('test done');
      agent = null;
      const ro = await AuditStore.openReadOnly(paths.auditDb, keyStore);
      try {
        const r = verifyStore(ro);
        assert.equal(r.ok, true, JSON.stringify(r.problem));
        const tail = ro.readAfter(ro.head().seq - 2, 2).map((e) => parseEventBody(e.body).action);
        assert.deepEqual(tail, ['audit.recording_stopped', 'agent.stop']);
      } finally {
        await ro.close();
      }
      assert.equal(receiver.counts().conflicts, 0);
    } finally {
      await receiver.close();
    }
  } finally {
    await status.close();
    await agent?.stop();
    pki.dispose();
    for (const a of ['audit-db-key', 'device-signing-key']) await keyStore.delete(a).catch(() => false);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a policy whose client key cannot be read yet: the upstreams started before keep running, status and tray say why, and the agent starts the new ones once the key is there', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cwa-agent-creds-'));
  const service = uniqueService('agent-creds');
  const paths = defaultPaths('linux', { CWA_DATA_DIR: join(dir, 'data'), CWA_POLICY_FILE: join(dir, 'policy.json'), CWA_KEYCHAIN_SERVICE: service });
  const keyStore = new KeytarKeyStore(service);
  const pki = new TestPki();
  const agent = await Agent.start({ version: '0.1.0-test', paths, keyStore, logger: createAgentLogger({ console: false }), machineId: 'agent-creds', upstreamRetryMs: 300 });
  try {
    const { ca, client, receiver } = await collectorFor(agent, pki, dir);
    try {
      const https = { url: receiver.url.replace('127.0.0.1', 'localhost'), caFile: ca.certPath, clientCertFile: client.certPath, clientKey: { source: 'file', path: client.keyPath } };
      const forwarding = { https, batch: { lingerMs: 10 }, backoff: { initialMs: 50, maxMs: 500 } };
      writeFileSync(paths.policyFile, JSON.stringify({ forwarding }));
      await until('forwarding on the first policy', () => { const s = agent.status(); return !s.upstreamsRestarting && s.forwarding; });
      const startedAt = agent.status().upstreamsStartedAt;
      assert.ok(startedAt);

      // A change that leaves the upstream settings alone (a lock timeout) keeps the connections.
      writeFileSync(paths.policyFile, JSON.stringify({ forwarding, session: { warnAfterSeconds: 500, lockAfterSeconds: 600 } }));
      await until('the session change in force', () => agent.policy().session.lockAfterSeconds === 600);
      assert.equal(agent.status().upstreamsRestarting, false);
      assert.equal(agent.status().upstreamsStartedAt, startedAt, 'the upstreams were not restarted');

      // IT rolls out a renewed client certificate; its key reaches the workstation a little later.
      const renewedKey = join(dir, 'renewed.key');
      writeFileSync(paths.policyFile, JSON.stringify({ forwarding: { ...forwarding, https: { ...https, clientKey: { source: 'file', path: renewedKey } } }, session: { warnAfterSeconds: 500, lockAfterSeconds: 600 } }));
      const problem = await until('the problem to be reported', () => agent.status().upstreamProblem);
      assert.match(problem.message, new RegExp(`client key file ${renewedKey.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} cannot be read: ENOENT`));
      const s = agent.status();
      assert.ok(s.forwarding, 'the upstream started before keeps running');
      assert.equal(s.auth.directory.mode, 'synced', 'and the collector stays followed');
      const text = formatStatus(s).join('\n');
      assert.match(text, /^PROBLEM {2}upstreams of the policy in force not started .*the upstreams started before keep running; next try in \d+ s$/m);
      assert.equal(trayModel(s).state, 'error');
      // Events recorded meanwhile still leave.
      const head = (await agent.store.record({ action: 'session.lock', user: 'nurse-0001', method: 'manual', details: { reason: 'manual' } })).seq;
      await receiver.waitFor((c) => c.stored >= head, 15_000);

      copyFileSync(client.keyPath, renewedKey);
      chmodSync(renewedKey, 0o600);
      await until('the retry to start the new upstreams', () => { const now = agent.status(); return now.upstreamProblem === null && !now.upstreamsRestarting && now.forwarding; }, 15_000);
      assert.notEqual(agent.status().upstreamsStartedAt, startedAt, 'restarted on the renewed key');
      assert.equal(trayModel(agent.status()).state === 'error', false);
      const later = (await agent.store.record({ action: 'session.lock', user: 'nurse-0001', method: 'manual', details: { reason: 'manual' } })).seq;
      await receiver.waitFor((c) => c.stored >= later, 15_000);
      assert.equal(receiver.counts().conflicts, 0);
    } finally {
      await receiver.close();
    }
  } finally {
    await agent.stop();
    pki.dispose();
    for (const a of ['audit-db-key', 'device-signing-key']) await keyStore.delete(a).catch(() => false);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('agentctl status says plainly when no agent is running', async () => {
  const out: string[] = [];
  const code = await runAgentctl(['status'], { out: (l) => out.push(l), err: (l) => out.push(l), env: { CWA_DATA_DIR: join(tmpdir(), 'cwa-no-agent-here') } });
  assert.equal(code, 2);
  assert.match(out.join('\n'), /Cannot read agent status from .*status\.sock: the agent is not running/);
});
