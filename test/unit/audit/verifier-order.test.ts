// Out-of-order events are named as such: two swapped events are `reordered` at the first
// out-of-place seq (the one that came early), not a gap; a missing event is still a gap,
// also when it is the last record seen. Checked on sealed events with and without their
// content (an export read without its key has envelopes only), and through verifyBatch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChainVerifier, verifyBatch, type VerifiableRecord } from '../../../main/audit/verifier';
import { GENESIS_HASH } from '../../../main/audit/event';
import { sampleInput, SyntheticChain } from '../../support/atna-events';

const chain = new SyntheticChain('ws-order');
const sealed: VerifiableRecord[] = Array.from({ length: 12 }, (_, i) => chain.next(sampleInput('session.unlock', i)).sealed);
const opts = { publicKey: chain.publicKey, keyId: chain.keyId, device: 'ws-order', start: { seq: 0, hash: GENESIS_HASH } };
/** The same events as an export read without its key carries them: envelope, no content. */
const envelopes: VerifiableRecord[] = sealed.map((r) => ({ seq: r.seq, hash: r.hash, sig: r.sig, keyId: chain.keyId, prevHash: (JSON.parse(r.body!) as { prevHash: string }).prevHash }));

/** The records in the order of the given seqs. */
const inOrder = (records: readonly VerifiableRecord[], seqs: readonly number[]) => seqs.map((s) => records[s - 1]!);

function verdict(records: readonly VerifiableRecord[]) {
  const v = new ChainVerifier(opts);
  for (const r of records) if (v.push(r)) break;
  return v.finish();
}

for (const [what, records] of [
  ['sealed events', sealed],
  ['envelopes only', envelopes],
] as const) {
  test(`${what}: two swapped events are reordered at the first out-of-place seq`, async () => {
    const swapped = inOrder(records, [1, 2, 3, 5, 4, 6, 7]);
    const r = verdict(swapped);
    assert.equal(r.ok, false);
    assert.deepEqual(r.problem, { seq: 5, reason: 'reordered', message: 'seq 5 comes before seq 4: the events are out of order after seq 3' });
    assert.equal(r.verified, 3);
    assert.deepEqual(await verifyBatch(swapped, opts), { verified: 3, problem: r.problem });
  });

  test(`${what}: an event moved further ahead is reordered too`, () => {
    assert.deepEqual(verdict(inOrder(records, [1, 2, 6, 3, 4, 5, 7])).problem?.reason, 'reordered');
    assert.equal(verdict(inOrder(records, [1, 2, 6, 3, 4, 5, 7])).problem?.seq, 6);
  });

  test(`${what}: a missing event is a gap, named at the seq after it, also at the end`, async () => {
    const dropped = inOrder(records, [1, 2, 3, 5, 6]);
    assert.deepEqual(verdict(dropped).problem, { seq: 5, reason: 'gap', message: 'events 4..4 are missing (seq 5 follows 3)' });
    const droppedLast = inOrder(records, [1, 2, 3, 5]);
    assert.deepEqual(verdict(droppedLast).problem, { seq: 5, reason: 'gap', message: 'events 4..4 are missing (seq 5 follows 3)' });
    assert.deepEqual(await verifyBatch(droppedLast, opts), { verified: 3, problem: verdict(droppedLast).problem });
    // A later event after the skip (not one of the skipped) keeps it a gap.
    assert.equal(verdict(inOrder(records, [1, 2, 5, 7])).problem?.reason, 'gap');
  });

  test(`${what}: an intact chain verifies`, () => {
    const r = verdict(records);
    assert.equal(r.ok, true);
    assert.equal(r.verified, 12);
  });
}
