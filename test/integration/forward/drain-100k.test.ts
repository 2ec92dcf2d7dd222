// 100,000 events buffered while offline, then drained to the reference receiver over
// mutual TLS: the receiver holds exactly 100,000, and the chain verifies end to end.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openHarness, waitForStatus, type Harness } from './support/harness';

const N = 100_000;
let h: Harness;

before(async () => {
  h = await openHarness('drain-100k');
  await h.fill(N); // offline: no receiver yet
  await h.startReceiver();
});
after(() => h.cleanup());

test('100,000 events buffered offline, then drained: the receiver holds exactly 100,000, chain verified', async () => {
  assert.equal(h.store.stats().unacknowledged, N);
  const f = h.forwarder({ policy: { batch: { maxEvents: 1000, maxBytes: 1024 * 1024, lingerMs: 5 }, backoff: { initialMs: 20, maxMs: 200 } } });
  f.start();
  const s = await waitForStatus(f, (st) => st.queueDepth === 0, 300_000);
  await f.stop();
  const c = h.receiver.counts();
  assert.equal(c.stored, N);
  assert.equal(c.duplicates, 0);
  assert.equal(c.resyncs, 0);
  assert.equal(c.rejected, 0);
  assert.equal(s.lastAck?.seq, N);
  assert.equal(h.store.acknowledgedThrough(), N);
  const v = await h.receiver.verifyStored(h.store.deviceMeta().device);
  assert.equal(v.problem, null, v.problem?.message);
  assert.equal(v.verified, N);
  assert.equal(v.contentChecked, N, 'every body re-hashed at the receiver');
  assert.deepEqual(v.last, h.store.head());
});
