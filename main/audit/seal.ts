// Sealing: canonical JSON, hash chain and signature of one event. The store seals, the
// verifier and the receiver recompute with the same two functions.
import { createHash } from 'node:crypto';

/** SHA-256(prevHash bytes ‖ UTF-8 canonical body), lowercase hex. */
export function chainHash(prevHashHex: string, body: string): Buffer {
  return createHash('sha256').update(Buffer.from(prevHashHex, 'hex')).update(body, 'utf8').digest();
}
