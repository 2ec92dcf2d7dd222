// forward.drain: events/s draining 100,000 buffered events from the real encrypted store to
// the reference receiver over mutual TLS on localhost, the receiver verifying every hash,
// chain link and signature. Ceiling: the receiver's own verification rate (the same
// ChainVerifier over the same events, in this run, with no network or storage).
import { ChainVerifier } from '../main/audit/verifier';
import { createPublicKey } from 'node:crypto';
import { openHarness, waitForStatus } from '../test/integration/forward/support/harness';
import { withRatio, type Emit } from './result';

const N = 100_000;

export default async function forwardDrain(emit: Emit): Promise<void> {
  const h = await openHarness('bench-forward-drain');
  try {
    await h.fill(N);
    const meta = h.store.deviceMeta();

    // Ceiling: verification alone, as the receiver does it, on the exact rows to be drained.
    const rows = h.store.readAfter(0, N);
    const verifier = new ChainVerifier({ publicKey: createPublicKey(meta.publicKeyPem), keyId: meta.keyId, device: meta.device, start: h.store.anchor() });
    const v0 = performance.now();
    for (const r of rows) {
      const p = verifier.push(r);
      if (p) throw new Error(`bench data does not verify: ${p.message}`);
    }
    const verifyMs = performance.now() - v0;
    const ceiling = N / (verifyMs / 1000);
    rows.length = 0;

    await h.startReceiver();
    const f = h.forwarder({ policy: { batch: { maxEvents: 1000, maxBytes: 1024 * 1024, lingerMs: 5 }, backoff: { initialMs: 20, maxMs: 200 } } });
    const d0 = performance.now();
    f.start();
    await waitForStatus(f, (s) => s.queueDepth === 0, 600_000);
    const drainMs = performance.now() - d0;
    await f.stop();

    const c = h.receiver.counts();
    if (c.stored !== N || c.verified !== N) throw new Error(`receiver holds ${c.stored} (verified ${c.verified}), expected ${N}`);
    emit(
      withRatio({
        name: 'forward.drain',
        value: Math.round(N / (drainMs / 1000)),
        unit: 'events/s',
        ceiling: Math.round(ceiling),
        target: '>= 0.5 ratio',
        events: N,
        drainMs: Math.round(drainMs),
        ceilingVerifyMs: Math.round(verifyMs),
        batchEvents: 1000,
        duplicates: c.duplicates,
      }),
    );
  } finally {
    await h.cleanup();
  }
}
