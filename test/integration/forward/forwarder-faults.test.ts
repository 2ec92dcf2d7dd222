// The forwarder against the reference receiver over real mutual TLS, with the receiver
// down, failing and misbehaving: every event arrives, once stored, in order, and the
// receiver's counts show that duplicates were only resends.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { parseEventBody } from '../../../main/audit/event';
import type { Fault } from '../../support/test-collector';
import { openHarness, waitForStatus, type Harness } from './support/harness';

let h: Harness;
let device: string;

before(async () => {
  h = await openHarness('forwarder-faults');
  device = h.store.deviceMeta().device;
  await h.startReceiver();
});
after(() => h.cleanup());

async function assertReceiverHoldsTheWholeChain(): Promise<void> {
  const head = h.store.head();
  const result = await h.receiver.verifyStored(device);
  assert.equal(result.problem, null, result.problem?.message);
  assert.deepEqual(result.last, head, 'the receiver ends exactly at the agent head');
  assert.equal(result.verified, head.seq, 'every event from seq 1 verified');
}

test('receiver down for a while, then up: everything arrives once, in order', async () => {
  await h.fill(400);
  const port = h.receiver.port;
  await h.receiver.close();
  const before = h.receiver.counts();
  const f = h.forwarder();
  f.start();
  // Let it fail a few times against the closed port, with the error classified.
  const down = await waitForStatus(f, (s) => s.lanes[0]!.consecutiveFailures >= 3);
  assert.equal(down.lastError?.kind, 'connect');
  assert.equal(down.queueDepth, 400);
  assert.ok(down.oldestUnackedAgeMs !== null && down.oldestUnackedAgeMs >= 0);
  assert.equal(h.store.acknowledgedThrough(), 0, 'nothing is acknowledged while the receiver is down');

  await h.startReceiver({ port }); // same port, same database
  const done = await waitForStatus(f, (s) => s.queueDepth === 0);
  await f.stop();
  const c = h.receiver.counts();
  assert.equal(c.stored, 400);
  assert.equal(c.duplicates, before.duplicates, 'no event was sent twice');
  assert.equal(c.resyncs, 0, 'never out of order');
  assert.equal(done.lastAck?.seq, 400);
  assert.equal(h.store.acknowledgedThrough(), 400);
  await assertReceiverHoldsTheWholeChain();
});

test('500s, timeouts, slow reads and resets mid-batch: no loss, duplicates are only resends', async () => {
  const start = h.receiver.counts();
  const startSeq = h.store.head().seq;
  await h.fill(1500);
  const plan: (Fault | undefined)[] = [
    { kind: 'status', status: 500 },
    { kind: 'hang' },
    { kind: 'slow-read', chunkDelayMs: 20 },
    { kind: 'reset-mid-body' },
    undefined,
    { kind: 'reset-after-store' },
    { kind: 'status', status: 503 },
    { kind: 'delay-reply', ms: 1500 },
    undefined,
  ];
  h.receiver.setFaults(({ index }) => plan[index % plan.length]);
  const f = h.forwarder({ transport: { requestTimeoutMs: 700 }, policy: { batch: { maxEvents: 100, maxBytes: 256 * 1024, lingerMs: 5 }, backoff: { initialMs: 10, maxMs: 50 } } });
  const kinds = new Set<string>();
  const sub = f.onChange(() => {
    const e = f.status().lastError;
    if (e) kinds.add(e.kind === 'http-status' ? `http-${e.status}` : e.kind);
  });
  f.start();
  await waitForStatus(f, (s) => s.queueDepth === 0, 120_000);
  sub.dispose();
  await f.stop();
  h.receiver.setFaults(undefined);

  const c = h.receiver.counts();
  assert.equal(c.stored - start.stored, 1500, 'every event stored exactly once');
  assert.equal(c.conflicts, 0, 'every duplicate carried the hash already stored: a resend, not a different event');
  assert.equal(c.rejected, start.rejected);
  assert.equal(c.resyncs, start.resyncs, 'never a gap or reordering');
  assert.ok(c.duplicates > start.duplicates, 'lost acks caused resends, which the receiver deduplicated');
  assert.ok(c.faults > 0);
  for (const k of ['http-500', 'http-503', 'timeout', 'connect']) assert.ok(kinds.has(k), `status showed a ${k} error (saw ${[...kinds].join(', ')})`);
  assert.equal(h.store.acknowledgedThrough(), startSeq + 1500);
  await assertReceiverHoldsTheWholeChain();
});

test('a receiver that lost its data gets everything again from seq 1; the ack watermark never moves back', async () => {
  const acked = h.store.acknowledgedThrough();
  assert.ok(acked > 0);
  await h.receiver.close();
  await h.startReceiver({ dbPath: join(h.dir, 'restored-from-old-backup.db') });
  await h.fill(10);
  const f = h.forwarder();
  f.start();
  await h.receiver.waitFor((c) => c.stored === acked + 10);
  await waitForStatus(f, (s) => s.queueDepth === 0);
  await f.stop();
  assert.ok(h.receiver.counts().resyncs >= 1, 'the receiver asked for a resend (409)');
  assert.ok(h.store.acknowledgedThrough() >= acked);
  await assertReceiverHoldsTheWholeChain();
});

test('a wrong upstream CA: nothing is sent, status says tls, device.tls_failure is recorded once', async () => {
  const rogueCa = h.pki.createCa('not-the-pinned-ca');
  await h.fill(5);
  const before = h.receiver.counts();
  const headBefore = h.store.head().seq;
  const f = h.forwarder({ transport: { ca: rogueCa.cert } });
  f.start();
  const s = await waitForStatus(f, (st) => st.lanes[0]!.consecutiveFailures >= 3);
  await f.stop();
  assert.equal(s.lastError?.kind, 'tls');
  assert.equal(h.receiver.counts().requests, before.requests, 'no request reached the receiver');
  const recorded = h.store.readAfter(headBefore, 100).map((e) => parseEventBody(e.body).action);
  assert.deepEqual(
    recorded.filter((a) => a === 'device.tls_failure'),
    ['device.tls_failure'],
  );
});

test('rows already purged when the receiver asks for them: continuity alarm, never a silent skip', async () => {
  // Drain what is pending, then purge everything acknowledged.
  const f1 = h.forwarder();
  f1.start();
  await waitForStatus(f1, (s) => s.queueDepth === 0);
  await f1.stop();
  const purged = h.store.purge({ retentionMs: 0 });
  assert.ok(purged > 0);
  const anchor = h.store.anchor();

  await h.receiver.close();
  await h.startReceiver({ dbPath: join(h.dir, 'empty-collector.db') });
  await h.fill(3);
  const f = h.forwarder();
  f.start();
  const s = await waitForStatus(f, (st) => st.continuityAlarm !== null);
  await f.stop();
  assert.equal(s.continuityAlarm?.reason, 'purged');
  assert.equal(s.continuityAlarm?.upstreamSeq, 0);
  assert.equal(s.lastError?.kind, 'rejected');
  assert.equal(h.receiver.counts().stored, 0, 'nothing after the hole was accepted');
  assert.ok(s.queueDepth > 0, 'the events stay queued');
  const alarms = h.store
    .readAfter(anchor.seq, 1000)
    .map((e) => parseEventBody(e.body))
    .filter((e) => e.action === 'audit.continuity_alarm');
  assert.equal(alarms.length, 1, 'one alarm for this hole');
  assert.equal(alarms[0]!.details.reason, 'purged');
});
