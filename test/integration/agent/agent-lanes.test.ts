// The whole agent with all three upstreams in one policy file, as a hospital that keeps
// its collector, its SIEM (syslog/TLS to a real rsyslog) and its FHIR audit repository
// would deploy it: every event reaches each of them, each in its own format and tied to
// the same chain (seq and hash), the store's acknowledgement is the lower of the two
// acknowledging lanes, and status lists the three lanes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../../../main/agent';
import { parseEventBody } from '../../../main/audit/event';
import { parseSyslogMessage } from '../../../main/audit/formats/rfc5424';
import { runAgentctl } from '../../../main/cli/agentctl';
import { KeytarKeyStore } from '../../../main/platform/keystore';
import { createAgentLogger } from '../../../main/platform/logger';
import { defaultPaths } from '../../../main/platform/paths';
import { startStatusServer } from '../../../main/status/status-server';
import { TestPki } from '../../../collector/demo-pki';
import { uniqueService } from '../../support/audit-fixture';
import { Rsyslog } from '../../support/rsyslog';
import { startReceiverFor } from '../../support/test-collector';
import { seqOf, startTestFhirServer } from '../../support/test-fhir-server';
import { until } from '../../support/until';

const WORKSTATION = 'ws-lanes.clinic.example';

/** seq → hash of every message rsyslog stored, from the structured data the agent put in each. */
function syslogChain(rsyslog: Rsyslog): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of rsyslog.messages()) {
    const m = parseSyslogMessage(line);
    const sd = m.structuredData.find((e) => e.id === 'cwa@32473');
    const param = (name: string): string | undefined => sd?.params.find(([n]) => n === name)?.[1];
    out.set(Number(param('seq')), param('hash') ?? '');
  }
  return out;
}

test('headless agent with HTTPS, syslog and FHIR in one policy: every event reaches all three, tied to the same chain', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cwa-agent-lanes-'));
  const service = uniqueService('agent-lanes');
  const env = { CWA_DATA_DIR: join(dir, 'data'), CWA_POLICY_FILE: join(dir, 'policy.json'), CWA_KEYCHAIN_SERVICE: service };
  const paths = defaultPaths('linux', env);
  const keyStore = new KeytarKeyStore(service);
  const pki = new TestPki();
  const ca = pki.createCa('hospital-ca');
  const server = pki.issue(ca, 'upstreams', { kind: 'server', dns: ['localhost'], ips: ['127.0.0.1'] });
  const client = pki.issue(ca, 'workstation', { kind: 'client', dns: [WORKSTATION] });
  chmodSync(client.keyPath, 0o600);
  const logger = createAgentLogger({ console: false });
  let agent: Agent | null = await Agent.start({ version: '0.1.0-test', paths, keyStore, logger, machineId: 'agent-lanes' });
  const status = await startStatusServer(paths.statusSocket, () => agent!.status());
  const collector = await startReceiverFor(agent, { ca: ca.cert, cert: server.cert, key: server.key }, join(dir, 'collector.db'));
  const rsyslog = await Rsyslog.startReceiver({ caFile: ca.certPath, certFile: server.certPath, keyFile: server.keyPath, permittedPeers: [WORKSTATION] });
  const fhir = await startTestFhirServer({ ca: ca.cert, cert: server.cert, key: server.key });
  try {
    const tls = { caFile: ca.certPath, clientCertFile: client.certPath, clientKey: { source: 'file', path: client.keyPath } };
    writeFileSync(
      paths.policyFile,
      JSON.stringify({
        forwarding: { https: { url: collector.url.replace('127.0.0.1', 'localhost'), ...tls }, batch: { lingerMs: 10 }, backoff: { initialMs: 50, maxMs: 500 } },
        syslog: { host: '127.0.0.1', port: rsyslog.port, servername: 'localhost', ...tls },
        fhir: { url: fhir.url.replace('127.0.0.1', 'localhost'), ...tls, maxEntries: 7 },
      }),
    );
    const forwarding = await until('the policy to start three lanes', () => (agent!.status().forwarding?.lanes.length === 3 ? agent!.status().forwarding : false));
    assert.deepEqual(
      forwarding!.lanes.map((l) => [l.name, l.acknowledges]),
      [
        ['https', true],
        ['syslog', false],
        ['fhir', true],
      ],
    );
    assert.equal(forwarding!.deliveryConfirmed, true);

    // Events recorded now (as the session would) go out on every lane.
    for (let i = 0; i < 20; i++) await agent.store.record({ action: 'session.lock', user: `nurse-${String(i).padStart(4, '0')}`, method: 'idle' });
    const head = agent.store.head().seq;
    await collector.waitFor((c) => c.stored >= head, 20_000);
    await until('rsyslog to store every event', () => syslogChain(rsyslog).size >= head, 20_000);
    await until('the FHIR server to hold every event', () => fhir.resources().size >= head, 20_000);
    await until('both acknowledgements to reach the agent', () => agent!.status().audit.acknowledgedThrough >= head, 20_000);

    const stored = agent.store.readAfter(0, head);
    assert.equal(stored.length, head);
    // The syslog lane reads no signatures, but each message still carries the stored hash.
    const chain = syslogChain(rsyslog);
    for (const e of stored) assert.equal(chain.get(e.seq), e.hash, `syslog message for seq ${e.seq}`);
    // FHIR: one AuditEvent per event, none twice, across transactions of 7 (the agent may
    // have recorded more since: only the events through `head` are compared).
    const fhirSeqs = [...fhir.resources().values()].map(seqOf).filter((seq) => seq <= head).sort((a, b) => a - b);
    assert.deepEqual(fhirSeqs, stored.map((e) => e.seq));
    assert.ok(fhir.counts().transactions >= Math.ceil(head / 7), 'sent in transactions of at most 7 entries');
    assert.equal((await collector.verifyStored(agent.status().deviceId)).ok, true);
    assert.ok(stored.some((e) => parseEventBody(e.body).action === 'policy.loaded'), 'the policy change itself went out');

    // The help desk sees the three lanes.
    const out: string[] = [];
    const code = await runAgentctl(['status'], { out: (l) => out.push(l), err: (l) => out.push(l), env });
    assert.equal(code, 0, out.join('\n'));
    const text = out.join('\n');
    assert.match(text, /^upstream https: (idle|sending), acknowledged through seq \d+/m);
    assert.match(text, /^upstream syslog: (idle|sending), written through seq \d+/m);
    assert.match(text, /^upstream fhir: (idle|sending), acknowledged through seq \d+/m);
  } finally {
    await status.close();
    await agent?.stop();
    agent = null;
    await fhir.close();
    await rsyslog.dispose();
    await collector.close();
    pki.dispose();
    for (const a of ['audit-db-key', 'device-signing-key']) await keyStore.delete(a).catch(() => false);
    rmSync(dir, { recursive: true, force: true });
  }
});
