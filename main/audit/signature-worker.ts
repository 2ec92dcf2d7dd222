// The worker behind SignaturePool: verifies Ed25519 signatures over 32-byte hashes.
import { verify, type KeyObject } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

parentPort?.on('message', (m: { id: number; key: KeyObject; pairs: ArrayBuffer }) => {
  try {
    const key = m.key;
    const pairs = Buffer.from(m.pairs);
    let firstBad = -1;
    for (let i = 0; i * 96 < pairs.length; i++) {
      let ok = false;
      try {
        ok = verify(null, pairs.subarray(i * 96, i * 96 + 32), key, pairs.subarray(i * 96 + 32, i * 96 + 96));
      } catch {
        ok = false;
      }
      if (!ok) {
        firstBad = i;
        break;
      }
    }
    parentPort!.postMessage({ id: m.id, firstBad });
  } catch (err) {
    parentPort!.postMessage({ id: m.id, error: err instanceof Error ? err.message : String(err) });
  }
});
