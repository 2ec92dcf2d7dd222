// Opens the device's audit buffer: identity and database key from the keychain (created
// on first start only), then the store. Existing audit data is never re-keyed or recreated.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadDeviceIdentity } from '../platform/device-identity';
import type { KeyStore } from '../platform/keystore';
import type { Clock } from '../platform/clock';
import { AuditStore, DB_KEY_ACCOUNT } from './store';

export interface OpenAuditBufferOptions {
  readonly path: string;
  readonly keyStore: KeyStore;
  readonly clock?: Clock;
  /** Raw machine id override (tests); defaults to the OS machine id. */
  readonly machineId?: string;
}

export async function openAuditBuffer(opts: OpenAuditBufferOptions): Promise<AuditStore> {
  const exists = existsSync(opts.path);
  const hadKey = (await opts.keyStore.get(DB_KEY_ACCOUNT)) !== null;
  const identity = await loadDeviceIdentity(opts.keyStore, { create: !exists, machineId: opts.machineId });
  if (!exists) mkdirSync(dirname(opts.path), { recursive: true, mode: 0o700 });
  const store = await AuditStore.open({ path: opts.path, keyStore: opts.keyStore, identity, clock: opts.clock });
  if (!exists && hadKey) {
    // Keys from an earlier buffer exist but its file is gone: say so in the new chain.
    await store.record({
      action: 'audit.continuity_alarm',
      details: { reason: 'audit database file was missing at start; a new buffer was created with the existing device keys', path: opts.path },
    });
  }
  return store;
}
