// The FHIR lane against a test FHIR server with transaction semantics, over real mutual TLS
// on 127.0.0.1: every catalog action arrives as a valid AuditEvent; 5xx, hangs (timeouts)
// and lost responses lose nothing and create nothing twice (counted at both ends); a
// permanent 4xx on one entry lets the events before it through, is never skipped, raises
// a continuity alarm, shows in status, and clears once the server takes the event.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { AUDIT_ACTIONS } from '../../../main/audit/catalog';
import { parseEventBody } from '../../../main/audit/event';
import type { AuditStore } from '../../../main/audit/store';
import { FhirTransport, type FhirTransportOptions } from '../../../main/forward/fhir-transport';
import { Forwarder, type ForwarderOptions } from '../../../main/forward/forwarder';
import { TransportError } from '../../../main/forward/transport';
import { TestPki, type Ca, type CertFiles } from '../../../collector/demo-pki';
import { openTestStore, type TestStore } from '../../support/audit-fixture';
import { sampleInput } from '../../support/atna-events';
import { eventIdOf, seqOf, startTestFhirServer, type TestFhirServer } from '../../support/test-fhir-server';
import { FAST_POLICY, waitForStatus } from './support/harness';

let pki: TestPki;
let ca: Ca;
let client: CertFiles;
let test0: TestStore;
let store: AuditStore;
let server: TestFhirServer;
const forwarders: Forwarder[] = [];
const signal = new AbortController().signal;
const source = { hostname: 'ward-3-ws-2.clinic.example', processId: 4242, enterpriseSiteId: 'clinic-north' };

before(async () => {
  pki = new TestPki();
  ca = pki.createCa('fhir-ca');
  const serverCert = pki.issue(ca, 'fhir-server', { kind: 'server', dns: ['localhost'], ips: ['127.0.0.1'] });
  client = pki.issue(ca, 'workstation', { kind: 'client' });
  test0 = await openTestStore('fhir-lane');
  store = test0.store;
  server = await startTestFhirServer({ ca: ca.cert, cert: serverCert.cert, key: serverCert.key });
});

after(async () => {
  for (const f of forwarders) await f.stop({ abortInFlight: true }).catch(() => undefined);
  await server.close();
  await test0.cleanup();
  pki.dispose();
});

function transport(overrides: Partial<FhirTransportOptions> = {}): FhirTransport {
  return new FhirTransport({ url: server.url, ca: ca.cert, cert: client.cert, key: client.key, requestTimeoutMs: 5000, maxEntries: 100, source, ...overrides });
}

function forwarder(overrides: Partial<ForwarderOptions> & { transport?: Partial<FhirTransportOptions> } = {}): Forwarder {
  const { transport: t, ...rest } = overrides;
  const f = new Forwarder({ store, transports: [transport(t)], policy: FAST_POLICY, ...rest });
  forwarders.push(f);
  return f;
}

/** Records n events cycling through every catalog action (synthetic users only). */
async function fill(n: number): Promise<void> {
  await Promise.all(Array.from({ length: n }, (_, i) => store.record(sampleInput(AUDIT_ACTIONS[i % AUDIT_ACTIONS.length]!, i))));
}

/** Both ends agree: the server holds each event of 1..through exactly once, and nothing else. */
function assertServerHoldsExactly(through: number): void {
  const bySeq = new Map<number, number>();
  const ids = new Set<string>();
  for (const r of server.resources().values()) {
    const seq = seqOf(r);
    bySeq.set(seq, (bySeq.get(seq) ?? 0) + 1);
    const id = eventIdOf(r);
    assert.ok(id !== null && !ids.has(id), `event id ${id} stored once`);
    ids.add(id);
  }
  const expected = store.readAfter(0, through).filter((e) => e.seq <= through);
  assert.equal(expected.length, through, 'the agent still holds every event');
  for (const e of expected) {
    assert.equal(bySeq.get(e.seq), 1, `seq ${e.seq} stored exactly once`);
    assert.ok(ids.has(parseEventBody(e.body).id), `seq ${e.seq} stored under its own event id`);
  }
  assert.equal(server.resources().size, through, 'nothing beyond what was acknowledged');
}

test('every catalog action arrives as a created AuditEvent; a resend finds them all and creates nothing', async () => {
  await fill(AUDIT_ACTIONS.length * 2);
  const t = transport();
  try {
    const batch = store.readAfter(0, 100);
    const before = server.counts();
    assert.deepEqual(await t.send(batch, signal), { kind: 'acknowledged', acceptedThrough: batch.at(-1)!.seq });
    const mid = server.counts();
    assert.equal(mid.created - before.created, batch.length);
    assert.equal(mid.refused, 0, 'the server found every entry valid (R4 schema and BALP rules)');
    assert.deepEqual(await t.send(batch, signal), { kind: 'acknowledged', acceptedThrough: batch.at(-1)!.seq });
    const end = server.counts();
    assert.equal(end.created, mid.created, 'the resend created nothing');
    assert.equal(end.existing - mid.existing, batch.length, 'every entry found its resource');
    assertServerHoldsExactly(batch.length);
  } finally {
    await t.close();
  }
});

test('a batch longer than maxEntries is acknowledged in part, the rest goes next', async () => {
  const t = transport({ maxEntries: 7 });
  try {
    const batch = store.readAfter(0, 20);
    assert.deepEqual(await t.send(batch, signal), { kind: 'acknowledged', acceptedThrough: batch[6]!.seq });
  } finally {
    await t.close();
  }
});

test('5xx, hangs past the deadline and lost responses: every event stored exactly once, all acknowledged', async () => {
  // What the tests above sent directly counts as acknowledged, so every 200 below is a resend of this test's own.
  store.acknowledge(store.head().seq, 'fhir');
  await fill(600);
  const plan = [{ kind: 'status', status: 500 }, { kind: 'hang' }, undefined, { kind: 'drop-after-commit' }, { kind: 'status', status: 503 }, undefined, { kind: 'drop-after-commit' }] as const;
  server.setFaults(({ index }) => plan[index % plan.length]);
  const before = server.counts();
  const f = forwarder({ transport: { requestTimeoutMs: 1000, maxEntries: 50 }, policy: { batch: { maxEvents: 50, maxBytes: 1024 * 1024, lingerMs: 5 }, backoff: { initialMs: 10, maxMs: 50 } } });
  const kinds = new Set<string>();
  const sub = f.onChange(() => {
    const e = f.status().lastError;
    if (e) kinds.add(e.kind === 'http-status' ? `http-${e.status}` : e.kind);
  });
  f.start();
  const done = await waitForStatus(f, (s) => s.queueDepth === 0, 180_000);
  sub.dispose();
  await f.stop();
  server.setFaults(undefined);

  const head = store.head().seq;
  assert.equal(store.acknowledgedThrough(), head, 'the agent counts everything acknowledged');
  assert.equal(done.lanes[0]!.position, head);
  assertServerHoldsExactly(head);
  const c = server.counts();
  assert.ok(c.faults - before.faults >= 5, `faults were injected (${c.faults - before.faults})`);
  assert.ok(c.existing - before.existing > 0, 'a lost response was resent and found, not created again');
  for (const k of ['http-500', 'http-503', 'timeout', 'connect']) assert.ok(kinds.has(k), `saw ${k} in status (saw ${[...kinds].join(', ')})`);
});

for (const style of ['atomic', 'atomic-unnamed', 'per-entry'] as const) {
  test(`a permanent 4xx on one entry (${style}): the events before it arrive, it is never skipped, alarmed and in status, then delivered once the server takes it`, async (t) => {
    const from = store.head().seq;
    await fill(40);
    const refusedSeq = from + 23;
    server.setRefusalStyle(style);
    server.setRefusal((r) => (seqOf(r) === refusedSeq ? { status: 422, diagnostics: 'rejected by a local business rule' } : undefined));
    const f = forwarder({ transport: { maxEntries: 100 } });
    t.after(() => f.stop({ abortInFlight: true }));
    f.start();
    const stuck = await waitForStatus(f, (s) => s.continuityAlarm !== null && s.lanes[0]!.position === refusedSeq - 1 && s.lanes[0]!.consecutiveFailures >= 2);
    assert.equal(stuck.continuityAlarm?.reason, 'refused');
    assert.equal(stuck.continuityAlarm?.upstreamSeq, refusedSeq);
    assert.equal(stuck.lastError?.kind, 'rejected');
    assert.equal(stuck.lastError?.status, 422);
    assert.match(stuck.lastError?.message ?? '', new RegExp(`seq ${refusedSeq}\\b.*not skipped`));
    assert.equal(store.acknowledgedThrough(), refusedSeq - 1, 'acknowledged up to the refused event, not past it');
    assertServerHoldsExactly(refusedSeq - 1);
    // The alarm is in the audit trail itself (and so waits behind the refused event upstream).
    const alarms = store
      .readAfter(from, 1000)
      .map((e) => parseEventBody(e.body))
      .filter((e) => e.action === 'audit.continuity_alarm' && e.details['upstream'] === 'fhir');
    assert.equal(alarms.length, 1, `one alarm event, not one per retry: ${JSON.stringify(alarms.map((a) => [a.seq, a.details]))}`);
    assert.equal(alarms[0]!.details['reason'], 'refused');
    assert.equal(alarms[0]!.details['upstream'], 'fhir');

    // IT fixes the server's rule: the next retry delivers everything, once.
    server.setRefusal(undefined);
    f.nudge();
    const ok = await waitForStatus(f, (s) => s.queueDepth === 0);
    await f.stop();
    assert.equal(ok.continuityAlarm, null, 'the alarm clears once the lane moves on');
    assertServerHoldsExactly(store.head().seq);
  });
}

test('a server that refuses every Bundle without naming an entry: narrowed to the first event, whose error says the server named none', async () => {
  const t = transport();
  try {
    server.setRefusalStyle('atomic-unnamed');
    server.setRefusal(() => ({ status: 422, diagnostics: 'AuditEvent does not conform to the required profile' }));
    const batch = store.readAfter(0, 6);
    const err = await t.send(batch, signal).then(
      () => assert.fail('expected a rejection'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof TransportError);
    assert.equal(err.kind, 'rejected');
    assert.equal(err.options.refusedSeq, batch[0]!.seq, 'nothing before it to deliver; it is not skipped');
    assert.match(err.message, /did not say which entry.*refused this event sent alone.*on the server \(its rules, profile or limits\)/);
    server.setRefusalStyle('atomic');
    const named = await t.send(batch, signal).then(
      () => assert.fail('expected a rejection'),
      (e: unknown) => e,
    );
    assert.ok(named instanceof TransportError);
    assert.equal(named.options.refusedSeq, batch[0]!.seq);
    assert.doesNotMatch(named.message, /did not say which entry/, 'a refusal that names the entry blames it plainly');
  } finally {
    server.setRefusal(undefined);
    server.setRefusalStyle('atomic');
    await t.close();
  }
});

test('a 401 (the server refuses this device) concerns the lane, blames no event, and retries', async () => {
  const t = transport();
  try {
    server.setFaults(() => ({ kind: 'status', status: 401 }));
    const err = await t.send(store.readAfter(0, 3), signal).then(
      () => assert.fail('expected a rejection'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof TransportError);
    assert.equal(err.kind, 'rejected');
    assert.equal(err.options.refusedSeq, undefined);
  } finally {
    server.setFaults(undefined);
    await t.close();
  }
});

test('a server whose certificate is not from the pinned CA gets nothing', async () => {
  const other = pki.createCa('other-ca');
  const t = transport({ ca: other.cert });
  try {
    const before = server.counts().transactions;
    await assert.rejects(t.send(store.readAfter(0, 3), signal), (e: unknown) => e instanceof TransportError && e.kind === 'tls');
    assert.equal(server.counts().transactions, before);
  } finally {
    await t.close();
  }
});

test('a server whose conditional create ignores the identifier search: nothing is counted as delivered on its word', async () => {
  const serverCert = pki.issue(ca, 'lenient-fhir-server', { kind: 'server', dns: ['localhost'], ips: ['127.0.0.1'] });
  const lenient = await startTestFhirServer({ ca: ca.cert, cert: serverCert.cert, key: serverCert.key, search: 'ignores-identifier' });
  const t = new FhirTransport({ url: lenient.url, ca: ca.cert, cert: client.cert, key: client.key, requestTimeoutMs: 5000, maxEntries: 100, source });
  try {
    const events = store.readAfter(0, 4);
    assert.deepEqual(await t.send(events.slice(0, 1), signal), { kind: 'acknowledged', acceptedThrough: events[0]!.seq });
    // The server now answers every conditional create with the one AuditEvent it holds.
    await assert.rejects(t.send(events.slice(1), signal), (err: unknown) => {
      assert.ok(err instanceof TransportError);
      assert.equal(err.kind, 'protocol');
      assert.match(err.message, new RegExp(`seq ${events[1]!.seq} with AuditEvent/1, the AuditEvent it stored for seq ${events[0]!.seq}: its conditional create does not search by the event identifier`));
      return true;
    });
    assert.equal(lenient.resources().size, 1, 'the server holds only the first event');
    assert.ok(lenient.preferences().every((p) => p === 'return=minimal, handling=strict'), lenient.preferences().join(' / '));
  } finally {
    await t.close();
    await lenient.close();
  }
});
