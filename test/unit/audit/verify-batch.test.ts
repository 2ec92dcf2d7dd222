// verifyBatch (signatures on the thread pool, for the collector) gives exactly the verdict
// and message of the sequential ChainVerifier, for any tampering of any batch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ChainVerifier, verifyBatch, type VerifiableRecord } from '../../../main/audit/verifier';
import { GENESIS_HASH } from '../../../main/audit/event';
import { sampleInput, SyntheticChain } from '../../support/atna-events';

const chain = new SyntheticChain('ws-batch');
const records: VerifiableRecord[] = Array.from({ length: 40 }, (_, i) => chain.next(sampleInput('session.lock', i)).sealed);
const opts = { publicKey: chain.publicKey, keyId: chain.keyId, device: 'ws-batch', start: { seq: 0, hash: GENESIS_HASH } };

function sequential(batch: readonly VerifiableRecord[]) {
  const v = new ChainVerifier(opts);
  for (const r of batch) if (v.push(r)) break;
  const { verified, problem } = v.finish();
  return { verified, problem };
}

type Tamper = { at: number; how: 'sig' | 'body' | 'hash' | 'drop' | 'swap' | 'dup' };

function tampered(t: Tamper[]): VerifiableRecord[] {
  let out = records.map((r) => ({ ...r }));
  for (const { at, how } of t) {
    const i = at % out.length;
    const r = out[i]!;
    if (how === 'sig') out[i] = { ...r, sig: Buffer.from(Buffer.from(r.sig, 'base64').map((b, j) => (j === 5 ? b ^ 1 : b))).toString('base64') };
    if (how === 'body') out[i] = { ...r, body: r.body!.replace('session.lock', 'session.unlock') };
    if (how === 'hash') out[i] = { ...r, hash: `${r.hash.slice(0, 63)}${r.hash.endsWith('0') ? '1' : '0'}` };
    if (how === 'drop') out = out.filter((_, j) => j !== i);
    if (how === 'swap' && i + 1 < out.length) [out[i], out[i + 1]] = [out[i + 1]!, out[i]!];
    if (how === 'dup') out.splice(i, 0, { ...r });
  }
  return out;
}

test('verifyBatch agrees with ChainVerifier on intact and tampered batches (property)', async () => {
  assert.deepEqual(await verifyBatch(records, opts), { verified: 40, problem: null });
  await fc.assert(
    fc.asyncProperty(fc.array(fc.record({ at: fc.nat(60), how: fc.constantFrom('sig', 'body', 'hash', 'drop', 'swap', 'dup') as fc.Arbitrary<Tamper['how']> }), { maxLength: 4 }), async (t) => {
      const batch = tampered(t);
      assert.deepEqual(await verifyBatch(batch, opts), sequential(batch));
    }),
    { numRuns: 300 },
  );
});
