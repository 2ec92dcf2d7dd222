// PIN verifiers: scrypt (memory-hard) over HMAC(pepper, PIN), the parameters stored with
// each hash so they can be raised later without invalidating enrolled PINs. Comparison is
// constant-time. The PIN itself is never stored, logged or audited.
import { createHmac, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface ScryptParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** 32 MiB, about 150 ms on one core of the reference machine (see README, Benchmarks). */
export const DEFAULT_SCRYPT: ScryptParams = { N: 1 << 15, r: 8, p: 1 };
const KEY_LEN = 32;
const SALT_LEN = 16;
const PREFIX = 'scrypt1';

function scryptAsync(secret: Buffer, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const opts: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) => scrypt(secret, salt, KEY_LEN, opts, (err, key) => (err ? reject(err) : resolve(key))));
}

function peppered(pin: string, pepper: Buffer): Buffer {
  return createHmac('sha256', pepper).update(pin, 'utf8').digest();
}

/** `scrypt1$N$r$p$salt$hash` (base64url salt and hash). */
export async function hashPin(pin: string, pepper: Buffer, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(SALT_LEN);
  const hash = await scryptAsync(peppered(pin, pepper), salt, params);
  return [PREFIX, params.N, params.r, params.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

export function parseVerifier(verifier: string): { params: ScryptParams; salt: Buffer; hash: Buffer } | null {
  const parts = verifier.split('$');
  if (parts.length !== 6 || parts[0] !== PREFIX) return null;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const valid = (x: number, max: number) => Number.isSafeInteger(x) && x > 0 && x <= max;
  // Bounds keep a tampered verifier from asking for gigabytes of memory.
  if (!valid(N, 1 << 20) || (N & (N - 1)) !== 0 || !valid(r, 32) || !valid(p, 16)) return null;
  const salt = Buffer.from(parts[4]!, 'base64url');
  const hash = Buffer.from(parts[5]!, 'base64url');
  if (salt.length < 8 || hash.length !== KEY_LEN) return null;
  return { params: { N, r, p }, salt, hash };
}

/** True when `pin` matches; false for a wrong PIN or an unreadable verifier. */
export async function verifyPin(pin: string, verifier: string, pepper: Buffer): Promise<boolean> {
  const parsed = parseVerifier(verifier);
  if (parsed === null) return false;
  const candidate = await scryptAsync(peppered(pin, pepper), parsed.salt, parsed.params);
  return timingSafeEqual(candidate, parsed.hash);
}

/** Why a new PIN is refused (null when acceptable): length, digits only, not trivially guessable. */
export function pinProblem(pin: string, limits: { readonly minLength: number; readonly maxLength: number }): string | null {
  if (!/^[0-9]*$/.test(pin)) return 'A PIN is digits only.';
  if (pin.length < limits.minLength || pin.length > limits.maxLength) return `A PIN has ${limits.minLength} to ${limits.maxLength} digits.`;
  if (/^(\d)\1+$/.test(pin)) return 'Choose a PIN that is not one digit repeated.';
  const digits = [...pin].map(Number);
  const steps = digits.slice(1).map((d, i) => (d - digits[i]! + 10) % 10);
  if (steps.every((s) => s === 1) || steps.every((s) => s === 9)) return 'Choose a PIN that is not a run such as 1234 or 4321.';
  return null;
}
