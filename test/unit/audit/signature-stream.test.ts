// SignatureStream (signatures on worker threads while a chain is walked) finds the first bad
// signature in chain order and confirms good records in order, whatever the chunking, with
// workers or inline, the same as checking one by one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SignatureStream } from '../../../main/audit/signature-stream';
import { sampleInput, SyntheticChain } from '../../support/atna-events';

const chain = new SyntheticChain('ws-sigstream');
const records = Array.from({ length: 120 }, (_, i) => {
  const { sealed } = chain.next(sampleInput('session.lock', i));
  return { seq: sealed.seq, hash: sealed.hash, sig: sealed.sig };
});

const corrupt = (sig: string) => {
  const b = Buffer.from(sig, 'base64');
  b[7] = b[7]! ^ 0x10;
  return b.toString('base64');
};

async function run(bad: readonly number[], chunkSize: number, workers: number) {
  const input = records.map((r, i) => (bad.includes(i) ? { ...r, sig: corrupt(r.sig) } : r));
  const confirmed: number[] = [];
  const stream = new SignatureStream({ publicKey: chain.publicKey, chunkSize, workers, onVerified: (r) => confirmed.push(r.seq) });
  let fed = 0;
  for (const r of input) {
    fed++;
    if (!stream.add(r)) break;
    if (stream.backlogged && !(await stream.drain())) break;
  }
  const result = await stream.finish();
  return { result, confirmed, fed };
}

test('an intact chain: every record confirmed, in order, on workers and inline', async () => {
  for (const [chunkSize, workers] of [
    [16, 2],
    [1000, 2],
  ] as const) {
    const { result, confirmed } = await run([], chunkSize, workers);
    assert.deepEqual(result, { verified: 120, bad: null });
    assert.deepEqual(confirmed, records.map((r) => r.seq));
  }
});

test('the first bad signature in chain order is reported, and nothing after it is confirmed (property)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.uniqueArray(fc.nat(119), { maxLength: 4 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 3 }), async (bad, chunkSize, workers) => {
      const { result, confirmed } = await run(bad, chunkSize, workers);
      const first = bad.length === 0 ? -1 : Math.min(...bad);
      if (first < 0) {
        assert.deepEqual(result, { verified: 120, bad: null });
      } else {
        assert.equal(result.bad?.seq, records[first]!.seq);
        assert.equal(result.verified, first);
      }
      assert.deepEqual(confirmed, records.slice(0, first < 0 ? 120 : first).map((r) => r.seq));
    }),
    { numRuns: 60 },
  );
});

test('a malformed signature (not base64 of 64 bytes) is a bad signature, not an error', async () => {
  const input = records.slice(0, 40).map((r, i) => (i === 25 ? { ...r, sig: 'not-a-signature' } : r));
  const stream = new SignatureStream({ publicKey: chain.publicKey, chunkSize: 8, workers: 2 });
  for (const r of input) {
    if (!stream.add(r)) break;
    if (stream.backlogged) await stream.drain();
  }
  const result = await stream.finish();
  assert.equal(result.bad?.seq, records[25]!.seq);
  assert.equal(result.verified, 25);
});
