// Event intake at the collector: the wire contract's checks for one batch (registered
// device, its key, dedupe by (device, seq), chain and signatures verified on every core),
// then the verified prefix stored in one transaction that continues the stored head.
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { SignaturePool } from '../main/audit/signature-pool';
import { verifyBatch, type ChainPosition } from '../main/audit/verifier';
import type { EventBatch } from '../main/forward/wire-contract';
import type { CollectorStore, DeviceRecord } from './store/collector-store';

export type IntakeOutcome =
  | { readonly status: 200; readonly body: { readonly acceptedThrough: number } }
  | { readonly status: 409; readonly body: { readonly lastSeq: number; readonly lastHash: string } }
  | { readonly status: 403 | 422; readonly body: { readonly reason: string; readonly message: string; readonly seq?: number } };

export interface IntakeCounts {
  stored: number;
  duplicates: number;
  conflicts: number;
  rejected: number;
  resyncs: number;
  verified: number;
}

/** Parsed device keys, so a busy collector does not re-parse a PEM per batch. */
export class DeviceKeys {
  private readonly cache = new Map<string, { pem: string; key: KeyObject }>();
  keyOf(device: DeviceRecord): KeyObject {
    const hit = this.cache.get(device.deviceId);
    if (hit && hit.pem === device.publicKeyPem) return hit.key;
    const key = publicKeyFromPem(device.publicKeyPem);
    this.cache.set(device.deviceId, { pem: device.publicKeyPem, key });
    return key;
  }
}

/** DER SubjectPublicKeyInfo of an Ed25519 key, before its 32 key bytes (RFC 8410). */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * A device's public key from its PEM. An Ed25519 SPKI is taken apart here and built from
 * its raw bytes (a tenth of the time OpenSSL's PEM decoder takes: after an outage every
 * device's key is parsed at once); anything else goes to the PEM decoder.
 */
export function publicKeyFromPem(pem: string): KeyObject {
  const body = /^-----BEGIN PUBLIC KEY-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END PUBLIC KEY-----\s*$/.exec(pem.trim() + '\n')?.[1];
  const der = body === undefined ? null : Buffer.from(body.replace(/\s/g, ''), 'base64');
  if (der && der.length === ED25519_SPKI_PREFIX.length + 32 && der.subarray(0, ED25519_SPKI_PREFIX.length).equals(ED25519_SPKI_PREFIX)) {
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: der.subarray(ED25519_SPKI_PREFIX.length).toString('base64url') }, format: 'jwk' });
  }
  return createPublicKey(pem);
}

const MAX_HEAD_RACES = 8;

export async function intakeBatch(store: CollectorStore, keys: DeviceKeys, batch: EventBatch, counts: IntakeCounts, pool?: SignaturePool): Promise<IntakeOutcome> {
  const device = await store.device(batch.device);
  if (!device) return { status: 403, body: { reason: 'unknown-device', message: `device ${batch.device} is not registered with this collector` } };
  if (device.state !== 'active') return { status: 403, body: { reason: 'revoked-device', message: `device ${batch.device} was revoked at this collector` } };
  if (batch.keyId !== device.keyId) return { status: 422, body: { reason: 'wrong-device-key', message: `key ${batch.keyId} is not the registered key of device ${batch.device}` } };
  const publicKey = keys.keyOf(device);

  for (let attempt = 0; attempt < MAX_HEAD_RACES; attempt++) {
    const head = await store.head(device.deviceId);
    // Events the collector already holds: the same hash is a resend, another is a fork.
    let i = 0;
    let dupes = 0;
    const known = batch.events[0] && batch.events[0].seq <= head.seq ? await store.hashesBetween(device.deviceId, batch.events[0].seq, head.seq) : new Map<number, string>();
    for (; i < batch.events.length; i++) {
      const e = batch.events[i]!;
      if (e.seq > head.seq) break;
      const stored = e.seq === head.seq ? head.hash : (known.get(e.seq) ?? null);
      if (stored !== null && stored !== e.hash) {
        counts.conflicts++;
        counts.resyncs++;
        return { status: 409, body: { lastSeq: head.seq, lastHash: head.hash } };
      }
      dupes++;
    }
    const fresh = batch.events.slice(i);
    const start: ChainPosition = head;
    const { verified, problem } = await verifyBatch(fresh, { publicKey, keyId: device.keyId, device: device.deviceId, start }, pool);
    const good = fresh.slice(0, verified);
    if (!(await store.appendEvents(device.deviceId, head, good))) continue; // the head moved: look again
    counts.duplicates += dupes;
    counts.stored += good.length;
    counts.verified += good.length;
    const last = good.length > 0 ? good[good.length - 1]!.seq : head.seq;
    if (problem && good.length === 0) {
      if (problem.reason === 'gap' || problem.reason === 'chain-break' || problem.reason === 'reordered' || problem.reason === 'duplicate') {
        counts.resyncs++;
        return { status: 409, body: { lastSeq: head.seq, lastHash: head.hash } };
      }
      counts.rejected++;
      return { status: 422, body: { reason: problem.reason, message: problem.message, seq: problem.seq } };
    }
    // A problem after a verified prefix: the prefix is acknowledged; the resend that starts
    // at the bad event gets its own 409 or 422.
    return { status: 200, body: { acceptedThrough: last } };
  }
  // Other requests for this device kept moving the head: let the agent resend from where it is.
  const head = await store.head(device.deviceId);
  counts.resyncs++;
  return { status: 409, body: { lastSeq: head.seq, lastHash: head.hash } };
}
