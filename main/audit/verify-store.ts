// Verifies every row of an audit database against the device key it was created with,
// from the purge anchor to the newest row.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { keyIdOf } from '../platform/device-identity';
import type { AuditStore, ChainPoint } from './store';
import { ChainVerifier, type VerifyResult } from './verifier';

export interface VerifyStoreOptions {
  readonly expectLast?: ChainPoint;
  /** The device key registered elsewhere; the database must be signed with it. */
  readonly expectedDeviceKey?: KeyObject;
}

export interface StoreVerifyResult extends VerifyResult {
  readonly device: string;
  readonly keyId: string;
  readonly anchor: ChainPoint;
}

export function verifyStore(store: AuditStore, opts: VerifyStoreOptions = {}): StoreVerifyResult {
  const meta = store.deviceMeta();
  const anchor = store.anchor();
  const publicKey = createPublicKey(meta.publicKeyPem);
  if (opts.expectedDeviceKey && keyIdOf(opts.expectedDeviceKey) !== meta.keyId) {
    return {
      ok: false,
      verified: 0,
      contentChecked: 0,
      firstSeq: null,
      last: null,
      problem: { seq: anchor.seq + 1, reason: 'wrong-device-key', message: `the database is signed with key ${meta.keyId}, not the registered device key ${keyIdOf(opts.expectedDeviceKey)}` },
      device: meta.device,
      keyId: meta.keyId,
      anchor,
    };
  }
  const verifier = new ChainVerifier({ publicKey, keyId: meta.keyId, device: meta.device, start: anchor, expectLast: opts.expectLast });
  for (const e of store.iterate(anchor.seq + 1)) {
    if (verifier.push(e)) break;
  }
  return { ...verifier.finish(), device: meta.device, keyId: meta.keyId, anchor };
}
