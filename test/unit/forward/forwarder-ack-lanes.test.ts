// Two acknowledging upstreams (the HTTPS collector and a FHIR server): each lane keeps its
// own position, the store's acknowledgement (what retention frees) is the lower of them,
// status shows the lagging lane's error, and a restart resumes each lane where it was.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SealedEvent } from '../../../main/audit/event';
import type { AuditStore } from '../../../main/audit/store';
import { Forwarder } from '../../../main/forward/forwarder';
import { TransportError, type SendOutcome, type SealedTransport } from '../../../main/forward/transport';
import { openTestStore, type TestStore } from '../../support/audit-fixture';
import { untilChanged } from '../../support/until';

class LaneDouble implements SealedTransport {
  readonly carriesSignatures = true;
  readonly acknowledges = true;
  readonly sent: number[] = [];
  /** Acknowledges through this seq at most; a batch wholly above it fails with a 503. */
  limit = Number.MAX_SAFE_INTEGER;

  constructor(readonly name: string) {}

  async send(batch: readonly SealedEvent[]): Promise<SendOutcome> {
    this.sent.push(...batch.map((e) => e.seq));
    const through = Math.min(batch[batch.length - 1]!.seq, this.limit);
    if (through < batch[0]!.seq) throw new TransportError('http-status', `${this.name} is down`, { retryable: true, status: 503 });
    return { kind: 'acknowledged', acceptedThrough: through };
  }

  async close(): Promise<void> {}
}

let t: TestStore;
let store: AuditStore;

before(async () => {
  t = await openTestStore('forwarder-ack-lanes');
  store = t.store;
});
after(() => t.cleanup());

const POLICY = { batch: { maxEvents: 10, maxBytes: 1024 * 1024, lingerMs: 0 }, backoff: { initialMs: 20, maxMs: 40 } };


test('the store acknowledges only what every acknowledging upstream holds; each lane resumes from its own position', async () => {
  await Promise.all(Array.from({ length: 30 }, (_, i) => store.record({ action: 'session.lock', user: `nurse-${String(i).padStart(4, '0')}`, method: 'idle' })));
  const https = new LaneDouble('https');
  const fhir = new LaneDouble('fhir');
  fhir.limit = 12;
  const f = new Forwarder({ store, transports: [https, fhir], policy: POLICY });
  f.start();
  await untilChanged(f, () => {
    const s = f.status();
    return s.lanes[0]!.position === 30 && s.lanes[1]!.position === 12 && s.lanes[1]!.consecutiveFailures >= 2;
  });
  assert.equal(store.acknowledgedThrough(), 12, 'retention waits for the lagging FHIR lane');
  const s = f.status();
  assert.equal(s.queueDepth, 18, 'unacknowledged means: not yet held by every acknowledging upstream');
  assert.equal(s.lastError?.kind, 'http-status', "status shows the lagging lane's error");
  assert.match(s.lastError?.message ?? '', /fhir is down/);
  assert.deepEqual(https.sent, Array.from({ length: 30 }, (_, i) => i + 1), 'the HTTPS lane went on alone, each event once');
  await f.stop();

  // A restart: HTTPS resends nothing, FHIR picks up after 12.
  const https2 = new LaneDouble('https');
  const fhir2 = new LaneDouble('fhir');
  const g = new Forwarder({ store, transports: [https2, fhir2], policy: POLICY });
  g.start();
  await untilChanged(g, () => g.status().lanes[1]!.position === 30);
  await g.stop();
  assert.deepEqual(https2.sent, []);
  assert.equal(fhir2.sent[0], 13);
  assert.equal(store.acknowledgedThrough(), 30);
  assert.equal(g.status().queueDepth, 0);
});

test('an upstream left out of the policy for a while is owed what the others took meanwhile; one named for the first time starts at the acknowledgement', async () => {
  const record = (n: number) => Promise.all(Array.from({ length: n }, (_, i) => store.record({ action: 'session.lock', user: `nurse-${String(i).padStart(4, '0')}`, method: 'idle' })));
  const run = async (lanes: LaneDouble[], until: () => boolean) => {
    const f = new Forwarder({ store, transports: lanes, policy: POLICY });
    f.start();
    await untilChanged(f, until);
    await f.stop();
    return f;
  };
  const start = store.head().seq;
  await record(5);
  const fhirPosition = start + 5;
  const https = new LaneDouble('https');
  const fhir = new LaneDouble('fhir');
  await run([https, fhir], () => store.acknowledgedThrough() === fhirPosition);

  // IT takes the FHIR server out of the policy; the collector alone acknowledges what follows.
  await record(5);
  const alone = new LaneDouble('https');
  await run([alone], () => store.acknowledgedThrough() === store.head().seq);
  assert.deepEqual(alone.sent, [6, 7, 8, 9, 10].map((i) => start + i));

  // Named again, the FHIR server gets the five it missed, then the new ones; a new upstream
  // ('fhir-b', another repository) starts where the store's acknowledgement was.
  const acknowledgedBefore = store.acknowledgedThrough();
  await record(2);
  const back = new LaneDouble('fhir');
  const https2 = new LaneDouble('https');
  const other = new LaneDouble('fhir-b');
  await run([https2, back, other], () => back.sent.includes(store.head().seq) && other.sent.includes(store.head().seq));
  assert.deepEqual(back.sent, [6, 7, 8, 9, 10, 11, 12].map((i) => start + i), 'nothing skipped for the FHIR server');
  assert.deepEqual(other.sent, [acknowledgedBefore + 1, acknowledgedBefore + 2]);
  assert.deepEqual(https2.sent, [acknowledgedBefore + 1, acknowledgedBefore + 2]);
  assert.equal(store.acknowledgedThrough(), store.head().seq);
});
