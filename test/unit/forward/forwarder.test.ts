// The forwarding loop's rules, against the real audit store and a scripted transport
// (the upstream's answers are the input here; the real HTTPS path has its own tests).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import type { ChainedEvent, SealedEvent } from '../../../main/audit/event';
import { parseEventBody } from '../../../main/audit/event';
import type { AuditStore } from '../../../main/audit/store';
import { Forwarder, type ForwarderOptions } from '../../../main/forward/forwarder';
import { TransportError, type SendOutcome, type ChainedTransport, type SealedTransport, type Transport } from '../../../main/forward/transport';
import { openTestStore, type TestStore } from '../../support/audit-fixture';
import { until, untilChanged } from '../../support/until';

type Responder = (batch: readonly SealedEvent[], call: number) => SendOutcome | Promise<SendOutcome>;
const ackAll: Responder = (batch) => ({ kind: 'acknowledged', acceptedThrough: batch[batch.length - 1]!.seq });

class ScriptedTransport implements SealedTransport {
  readonly carriesSignatures = true;
  readonly calls: (readonly SealedEvent[])[] = [];
  private waiters: ((b: readonly SealedEvent[]) => void)[] = [];
  closed = false;

  constructor(
    public respond: Responder = ackAll,
    readonly name = 'https',
    readonly acknowledges = true,
  ) {}

  async send(batch: readonly SealedEvent[]): Promise<SendOutcome> {
    this.calls.push(batch);
    for (const w of this.waiters.splice(0)) w(batch);
    return this.respond(batch, this.calls.length - 1);
  }

  /** Resolves with the next batch sent. */
  nextSend(): Promise<readonly SealedEvent[]> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

let t: TestStore;
let store: AuditStore;

before(async () => {
  t = await openTestStore('forwarder-unit');
  store = t.store;
});
after(() => t.cleanup());

const POLICY = { batch: { maxEvents: 10, maxBytes: 1024 * 1024, lingerMs: 0 }, backoff: { initialMs: 40, maxMs: 100 } };

async function fill(n: number): Promise<void> {
  await Promise.all(Array.from({ length: n }, (_, i) => store.record({ action: 'session.lock', user: `nurse-${String(i).padStart(4, '0')}`, method: 'idle' })));
}

function forwarder(transport: Transport | Transport[], opts: Partial<ForwarderOptions> = {}): Forwarder {
  return new Forwarder({ store, transports: Array.isArray(transport) ? transport : [transport], policy: POLICY, ...opts });
}


/** Leaves the store fully acknowledged for the next test. */
async function settle(): Promise<void> {
  const f = forwarder(new ScriptedTransport());
  f.start();
  await untilChanged(f, () => f.status().queueDepth === 0);
  await f.stop();
}

const seqs = (b: readonly SealedEvent[]): number[] => b.map((e) => e.seq);
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test('sends in seq order in batches bounded by count, and advances only as far as the upstream acknowledges', async () => {
  const base = store.head().seq;
  await fill(25);
  const tr = new ScriptedTransport((batch, call) => (call === 0 ? { kind: 'acknowledged', acceptedThrough: base + 5 } : ackAll(batch, call)));
  const f = forwarder(tr);
  f.start();
  await untilChanged(f, () => store.acknowledgedThrough() === base + 25);
  await f.stop();
  assert.deepEqual(tr.calls.map(seqs), [range(base + 1, base + 10), range(base + 6, base + 15), range(base + 16, base + 25)]);
  assert.equal(tr.closed, true, 'stop() closes the transport it owns');
});

test('batches are bounded by bytes too', async () => {
  const base = store.head().seq;
  await fill(6);
  const bodyBytes = store.readAfter(base, 1)[0]!.body.length;
  const tr = new ScriptedTransport();
  const f = forwarder(tr, { policy: { ...POLICY, batch: { ...POLICY.batch, maxBytes: bodyBytes * 2 + 10 } } });
  f.start();
  await untilChanged(f, () => store.acknowledgedThrough() === base + 6);
  await f.stop();
  assert.ok(tr.calls.every((b) => b.length <= 2), `batch sizes ${tr.calls.map((b) => b.length).join(',')}`);
  assert.deepEqual(tr.calls.flatMap(seqs), range(base + 1, base + 6));
});

test('an acknowledgement beyond the batch is not trusted past what was sent', async () => {
  const base = store.head().seq;
  await fill(3);
  const tr = new ScriptedTransport((batch) => ({ kind: 'acknowledged', acceptedThrough: batch[batch.length - 1]!.seq + 1000 }));
  const f = forwarder(tr);
  f.start();
  await untilChanged(f, () => f.status().queueDepth === 0);
  await f.stop();
  assert.equal(store.acknowledgedThrough(), base + 3);
});

test('failures back off exponentially with full jitter up to the cap, and status classifies the last error', async () => {
  await fill(2);
  const tr = new ScriptedTransport((batch, call) => {
    if (call < 4) throw new TransportError('connect', 'could not connect to collector (ECONNREFUSED)');
    return ackAll(batch, call);
  });
  const f = forwarder(tr, { random: () => 0.5 });
  const backoffs: number[] = [];
  const sub = f.onChange(() => {
    const s = f.status();
    if (s.lanes[0]!.state === 'backoff' && backoffs.length < s.lanes[0]!.consecutiveFailures) backoffs.push(s.backoffMs);
  });
  f.start();
  await untilChanged(f, () => f.status().queueDepth === 0);
  sub.dispose();
  const s = f.status();
  await f.stop();
  // cap = min(100, 40 * 2^n); full jitter at 0.5 halves it.
  assert.deepEqual(backoffs, [20, 40, 50, 50]);
  assert.equal(s.lastError?.kind, 'connect');
  assert.equal(s.backoffMs, 0);
  assert.equal(s.lanes[0]!.consecutiveFailures, 0);
  assert.ok(s.lastAck !== null);
});

test('an urgent event ends the backoff wait at once (still in seq order); a routine one does not', async () => {
  const base = store.head().seq;
  await fill(1);
  let fail = true;
  const tr = new ScriptedTransport((batch, call) => {
    if (fail) throw new TransportError('http-status', 'HTTP 503', { retryable: true, status: 503 });
    return ackAll(batch, call);
  });
  const f = forwarder(tr, { policy: { ...POLICY, backoff: { initialMs: 60_000, maxMs: 60_000 } }, random: () => 0.99 });
  f.start();
  await untilChanged(f, () => f.status().lanes[0]!.state === 'backoff');
  assert.ok(f.status().backoffMs > 50_000);
  fail = false;

  await store.record({ action: 'session.unlock', user: 'nurse-0042', method: 'badge' });
  await tick();
  assert.equal(tr.calls.length, 1, 'a routine event waits out the backoff');

  const next = tr.nextSend();
  await store.record({ action: 'auth.lockout', user: 'nurse-0042', details: { seconds: 300 } });
  const batch = await next;
  assert.deepEqual(seqs(batch), range(base + 1, base + 3), 'the urgent event goes with those before it, in order');
  assert.equal(parseEventBody(batch[2]!.body).action, 'auth.lockout');
  await untilChanged(f, () => f.status().queueDepth === 0);
  await f.stop();
});

test('nudge() (network change, resume) retries at once', async () => {
  await fill(1);
  let fail = true;
  const tr = new ScriptedTransport((batch, call) => {
    if (fail) throw new TransportError('dns', 'collector.example could not be resolved');
    return ackAll(batch, call);
  });
  const f = forwarder(tr, { policy: { ...POLICY, backoff: { initialMs: 60_000, maxMs: 60_000 } }, random: () => 0.99 });
  f.start();
  await untilChanged(f, () => f.status().lanes[0]!.state === 'backoff');
  assert.equal(f.status().lastError?.kind, 'dns');
  fail = false;
  const next = tr.nextSend();
  f.nudge();
  await next;
  await untilChanged(f, () => f.status().queueDepth === 0);
  await f.stop();
});

test('stop() waits for the send in flight and applies its answer', async () => {
  const base = store.head().seq;
  await fill(2);
  let answer!: (o: SendOutcome) => void;
  const tr = new ScriptedTransport(() => new Promise<SendOutcome>((resolve) => (answer = resolve)));
  const f = forwarder(tr);
  const sent = tr.nextSend();
  f.start();
  await sent;
  let stopped = false;
  const stopping = f.stop().then(() => (stopped = true));
  await tick();
  assert.equal(stopped, false, 'stop() returned while a send was in flight');
  answer({ kind: 'acknowledged', acceptedThrough: base + 2 });
  await stopping;
  assert.equal(store.acknowledgedThrough(), base + 2);
  assert.equal(f.status().lanes[0]!.state, 'stopped');
});

test('409 with a position the device still holds: acknowledged through it (a lost ack), resend after it', async () => {
  const base = store.head().seq;
  await fill(10);
  const hash4 = store.readAfter(base + 3, 1)[0]!.hash;
  const tr = new ScriptedTransport((batch, call) => (call === 0 ? { kind: 'resync', lastSeq: base + 4, lastHash: hash4 } : ackAll(batch, call)));
  const f = forwarder(tr);
  f.start();
  await untilChanged(f, () => f.status().queueDepth === 0);
  await f.stop();
  assert.equal(tr.calls[1]![0]!.seq, base + 5);
});

test('409s that keep coming without progress (replicas that disagree) are retried with backoff, not in a loop', async () => {
  await settle();
  const acked = store.acknowledgedThrough();
  await fill(3);
  const at = (seq: number) => store.readAfter(seq - 1, 1)[0]!.hash;
  const positions = [acked + 1, acked + 2];
  const tr = new ScriptedTransport((_batch, call) => ({ kind: 'resync', lastSeq: positions[call % 2]!, lastHash: at(positions[call % 2]!) }));
  const f = forwarder(tr, { policy: { ...POLICY, backoff: { initialMs: 100, maxMs: 200 }, }, random: () => 0.5 });
  f.start();
  await until('the lane to report the 409s', () => f.status().lanes[0]!.lastError?.kind === 'rejected');
  const s = f.status().lanes[0]!;
  const sentBefore = tr.calls.length;
  // Backoff of 100–200 ms: a handful of sends in the next 400 ms; without it, thousands.
  await new Promise((r) => setTimeout(r, 400));
  const sentDuring = tr.calls.length - sentBefore;
  await f.stop();
  assert.ok(sentDuring <= 10, `${sentDuring} sends in 400 ms`);
  assert.match(s.lastError?.message ?? '', /answered 409 \d+ times in a row/);
  await settle();
});

test('409 below the ack watermark: resend from there, the watermark never moves back', async () => {
  const acked = store.acknowledgedThrough();
  await fill(2);
  const back = acked - 3;
  const hashBack = store.readAfter(back - 1, 1)[0]!.hash;
  const watermarks: number[] = [];
  const tr = new ScriptedTransport((batch, call) => {
    watermarks.push(store.acknowledgedThrough());
    return call === 0 ? { kind: 'resync', lastSeq: back, lastHash: hashBack } : ackAll(batch, call);
  });
  const f = forwarder(tr);
  f.start();
  await untilChanged(f, () => f.status().queueDepth === 0 && f.status().lanes[0]!.position === store.head().seq);
  await f.stop();
  assert.equal(tr.calls[1]![0]!.seq, back + 1);
  assert.ok(watermarks.every((w) => w >= acked), `watermarks ${watermarks.join(',')}`);
  assert.equal(store.acknowledgedThrough(), store.head().seq);
});

for (const c of [
  { name: 'a different hash at the position (diverged chains)', reason: 'diverged', resync: (): SendOutcome => ({ kind: 'resync', lastSeq: 2, lastHash: 'f'.repeat(64) }) },
  { name: 'a position beyond anything recorded here', reason: 'upstream-ahead', resync: (): SendOutcome => ({ kind: 'resync', lastSeq: store.head().seq + 50, lastHash: 'a'.repeat(64) }) },
]) {
  test(`409 with ${c.name}: continuity alarm recorded once, status flag, nothing skipped`, async () => {
    const base = store.head().seq;
    const acked = store.acknowledgedThrough();
    await fill(1);
    const tr = new ScriptedTransport(() => c.resync());
    const f = forwarder(tr, { policy: { ...POLICY, backoff: { initialMs: 10, maxMs: 20 } } });
    f.start();
    await untilChanged(f, () => tr.calls.length >= 4);
    await f.stop();
    const s = f.status();
    assert.equal(s.continuityAlarm?.reason, c.reason);
    assert.equal(store.acknowledgedThrough(), acked, 'nothing acknowledged');
    const alarms = store
      .readAfter(base, 100)
      .map((e) => parseEventBody(e.body))
      .filter((e) => e.action === 'audit.continuity_alarm');
    assert.equal(alarms.length, 1);
    assert.equal(alarms[0]!.details.reason, c.reason);
    await settle();
  });
}

test('a lane without acknowledgement (syslog) moves its cursor but never frees a row; status says delivery is unconfirmed', async () => {
  const acked = store.acknowledgedThrough();
  await fill(3);
  const tr = new ScriptedTransport((batch) => ({ kind: 'delivered', through: batch[batch.length - 1]!.seq }), 'syslog-unit', false);
  const f = forwarder(tr);
  f.start();
  await untilChanged(f, () => store.cursor('syslog-unit') === store.head().seq);
  const s = f.status();
  await f.stop();
  assert.equal(s.deliveryConfirmed, false);
  assert.equal(s.queueDepth, 0);
  assert.equal(store.acknowledgedThrough(), acked, 'syslog delivery acknowledged nothing');
});

test('a lane whose messages carry no signatures (syslog) is given its events without them, each with its hash as stored', async () => {
  const from = store.head().seq;
  await fill(3);
  const got: ChainedEvent[] = [];
  const lane: ChainedTransport = {
    name: 'chained-unit',
    acknowledges: false,
    carriesSignatures: false,
    async send(batch) {
      got.push(...batch);
      return { kind: 'delivered', through: batch[batch.length - 1]!.seq };
    },
    async close() {},
  };
  const f = forwarder(lane);
  f.start();
  await untilChanged(f, () => store.cursor('chained-unit') === store.head().seq);
  await f.stop();
  const stored = store.readAfter(from, 3);
  assert.equal(stored.length, 3);
  assert.deepEqual(
    got.filter((e) => e.seq > from),
    stored.map(({ seq, body, hash }) => ({ seq, body, hash })),
  );
});

test("with syslog alone and the 'after-delivery' retention rule, delivery starts the retention clock", async () => {
  await fill(2);
  const tr = new ScriptedTransport((batch) => ({ kind: 'delivered', through: batch[batch.length - 1]!.seq }), 'syslog-unit-2', false);
  const f = forwarder(tr, { unacknowledgedRetention: 'after-delivery' });
  f.start();
  await untilChanged(f, () => store.acknowledgedThrough() === store.head().seq);
  await f.stop();
});

test('with both lanes, the acknowledging one governs status and retention', async () => {
  // The syslog-alone test before moved the acknowledgement without the HTTPS lane: it is owed those first.
  await settle();
  const base = store.head().seq;
  await fill(2);
  const https = new ScriptedTransport(() => {
    throw new TransportError('timeout', 'no answer');
  });
  const syslog = new ScriptedTransport((batch) => ({ kind: 'delivered', through: batch[batch.length - 1]!.seq }), 'syslog-unit-3', false);
  const f = forwarder([https, syslog], { unacknowledgedRetention: 'after-delivery', policy: { ...POLICY, backoff: { initialMs: 10, maxMs: 20 } } });
  f.start();
  await untilChanged(f, () => store.cursor('syslog-unit-3') === store.head().seq && https.calls.length >= 2);
  const s = f.status();
  await f.stop();
  assert.equal(s.deliveryConfirmed, true);
  assert.equal(s.lastError?.kind, 'timeout');
  assert.equal(s.queueDepth, store.head().seq - base, 'syslog delivery does not shorten the unacknowledged queue');
  assert.equal(store.acknowledgedThrough(), base);
  await settle();
});

test('a failing audit store (e.g. a full disk on acknowledge) backs the lane off instead of stopping it', async () => {
  await settle();
  const base = store.head().seq;
  await fill(4);
  let failures = 2;
  const flaky = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'acknowledge' && failures > 0) {
        return () => {
          failures--;
          throw new Error('Could not record the audit event: the disk is full');
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const tr = new ScriptedTransport();
  const f = new Forwarder({ store: flaky, transports: [tr], policy: POLICY });
  const kinds: string[] = [];
  f.onChange(() => {
    const e = f.status().lastError;
    if (e) kinds.push(e.kind);
  });
  f.start();
  await untilChanged(f, () => store.acknowledgedThrough() === base + 4);
  await f.stop();
  assert.ok(kinds.includes('store'), `errors seen: ${kinds.join(',')}`);
  assert.ok(tr.calls.length >= 3, 'the batch was resent after each store failure');
});

test('a 409 naming a seq without its hash never frees rows: it raises a divergence alarm', async () => {
  await settle();
  const acked = store.acknowledgedThrough();
  await fill(3);
  const tr = new ScriptedTransport(() => ({ kind: 'resync', lastSeq: acked + 2, lastHash: null }));
  const f = forwarder(tr);
  f.start();
  await untilChanged(f, () => f.status().continuityAlarm !== null);
  await f.stop();
  assert.equal(f.status().continuityAlarm?.reason, 'diverged');
  assert.equal(store.acknowledgedThrough(), acked, 'nothing was acknowledged on the upstream word alone');
});

test('an unacknowledged lane behind purged rows raises a purged-continuity alarm instead of skipping silently', async () => {
  await settle();
  store.setCursor('syslog', 0);
  await fill(2);
  // Rows acknowledged by HTTPS and past retention are purged while syslog is behind.
  const https = forwarder(new ScriptedTransport());
  https.start();
  await untilChanged(https, () => https.status().queueDepth === 0);
  await https.stop();
  store.purge({ retentionMs: -1 });
  assert.ok(store.anchor().seq > 0);
  const recordedBefore = store.head().seq;
  const syslog = new ScriptedTransport((batch) => ({ kind: 'delivered', through: batch[batch.length - 1]!.seq }), 'syslog', false);
  const f = forwarder(syslog);
  f.start();
  await untilChanged(f, () => store.cursor('syslog') > recordedBefore);
  await f.stop();
  const alarms = store.readAfter(recordedBefore, 100).map((e) => parseEventBody(e.body)).filter((e) => e.action === 'audit.continuity_alarm');
  assert.equal(alarms.length, 1);
  assert.equal(alarms[0]!.details.reason, 'purged');
  assert.equal(alarms[0]!.details.upstream, 'syslog');
  assert.deepEqual(syslog.calls.flatMap(seqs), [recordedBefore + 1], 'the lane goes on with what it still holds: the alarm itself');
});
