// Device-signed requests to the collector's directory and auth endpoints: mutual TLS says
// "a workstation of this hospital", the signature says which one. The device key signs
// method, path, time, a nonce and the body's SHA-256 (a text with its own prefix, so it can
// never be mistaken for an audit event signature, which covers a bare 32-byte hash).
import { createHash, randomBytes, verify, type KeyObject } from 'node:crypto';

export const HEADER_DEVICE = 'x-cwa-device';
export const HEADER_TIME = 'x-cwa-time';
export const HEADER_NONCE = 'x-cwa-nonce';
export const HEADER_SIGNATURE = 'x-cwa-signature';
/** How far a request's time may be from the collector's clock. */
export const MAX_SKEW_MS = 120_000;

function signedText(method: string, path: string, time: string, nonce: string, body: Buffer): Buffer {
  const digest = createHash('sha256').update(body).digest('hex');
  return Buffer.from(`cwa-request-v1\n${method.toUpperCase()}\n${path}\n${time}\n${nonce}\n${digest}`, 'utf8');
}

export interface RequestSigner {
  readonly deviceId: string;
  sign(data: Buffer): Buffer;
}

/** The headers that prove which registered device sends this request. */
export function signRequest(signer: RequestSigner, method: string, path: string, body: Buffer, nowMs = Date.now()): Record<string, string> {
  const time = String(nowMs);
  const nonce = randomBytes(16).toString('base64url');
  return {
    [HEADER_DEVICE]: signer.deviceId,
    [HEADER_TIME]: time,
    [HEADER_NONCE]: nonce,
    [HEADER_SIGNATURE]: signer.sign(signedText(method, path, time, nonce, body)).toString('base64'),
  };
}

export type SignatureCheck = { readonly ok: true; readonly deviceId: string; readonly nonce: string } | { readonly ok: false; readonly reason: string };

/** Reads the device a request claims to come from (before its key is looked up). */
export function claimedDevice(headers: Readonly<Record<string, string | string[] | undefined>>): string | null {
  const d = headers[HEADER_DEVICE];
  return typeof d === 'string' && /^[\w.:-]{1,128}$/.test(d) ? d : null;
}

/** Checks the signature with the device's registered key and the time window (the caller checks the nonce is new). */
export function checkRequestSignature(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  method: string,
  path: string,
  body: Buffer,
  publicKey: KeyObject,
  nowMs = Date.now(),
): SignatureCheck {
  const device = claimedDevice(headers);
  const time = headers[HEADER_TIME];
  const nonce = headers[HEADER_NONCE];
  const sig = headers[HEADER_SIGNATURE];
  if (!device || typeof time !== 'string' || typeof nonce !== 'string' || typeof sig !== 'string') return { ok: false, reason: 'the request is not signed by a device' };
  if (!/^\d{1,16}$/.test(time) || Math.abs(nowMs - Number(time)) > MAX_SKEW_MS) return { ok: false, reason: 'the request time is more than 2 minutes from the collector clock' };
  if (!/^[A-Za-z0-9_-]{16,64}$/.test(nonce)) return { ok: false, reason: 'malformed nonce' };
  let ok = false;
  try {
    ok = verify(null, signedText(method, path, time, nonce, body), publicKey, Buffer.from(sig, 'base64'));
  } catch {
    ok = false;
  }
  return ok ? { ok: true, deviceId: device, nonce } : { ok: false, reason: `the signature is not device ${device}'s` };
}
