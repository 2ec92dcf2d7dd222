// Opens a real audit store for a test: a fresh folder, a keychain service name of its
// own (parallel libsecret lookups on one service can crash), real gnome-keyring.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { openAuditBuffer } from '../../main/audit/open-buffer';
import type { AuditStore } from '../../main/audit/store';
import { KeytarKeyStore } from '../../main/platform/keystore';
import type { Clock } from '../../main/platform/clock';

export interface TestStore {
  readonly store: AuditStore;
  readonly dir: string;
  readonly path: string;
  readonly service: string;
  readonly keyStore: KeytarKeyStore;
  readonly machineId: string;
  /** Opens the same database again (after close) with the same keychain service. */
  reopen(): Promise<AuditStore>;
  cleanup(): Promise<void>;
}

export function uniqueService(label: string): string {
  return `cwa-test-${label}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

export async function openTestStore(label: string, opts: { clock?: Clock; dir?: string } = {}): Promise<TestStore> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), `cwa-${label}-`));
  const path = join(dir, 'audit.db');
  const service = uniqueService(label);
  const keyStore = new KeytarKeyStore(service);
  const machineId = `test-machine-${label}`;
  const open = () => openAuditBuffer({ path, keyStore, machineId, clock: opts.clock });
  const store = await open();
  let current = store;
  return {
    store,
    dir,
    path,
    service,
    keyStore,
    machineId,
    async reopen() {
      current = await open();
      return current;
    },
    async cleanup() {
      await current.close().catch(() => undefined);
      await store.close().catch(() => undefined);
      for (const account of ['audit-db-key', 'device-signing-key']) await keyStore.delete(account).catch(() => false);
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
