// Sealing: canonical JSON, hash chain and signature of one event. The store seals, the
// verifier and the receiver recompute with the same two functions.
import { hash } from 'node:crypto';

/** SHA-256(prevHash bytes ‖ UTF-8 canonical body). One-shot: the verifier runs it per event. */
export function chainHash(prevHashHex: string, body: string): Buffer;
/** The same, as lowercase hex (what the verifier compares with a stored hash). */
export function chainHash(prevHashHex: string, body: string, encoding: 'hex'): string;
export function chainHash(prevHashHex: string, body: string, encoding?: 'hex'): Buffer | string {
  const input = Buffer.allocUnsafe(32 + Buffer.byteLength(body, 'utf8'));
  if (input.write(prevHashHex, 0, 32, 'hex') !== 32) input.fill(0, 0, 32);
  input.write(body, 32, 'utf8');
  return encoding === 'hex' ? hash('sha256', input, 'hex') : hash('sha256', input, 'buffer');
}
