// Direct access to an audit database behind the store's back, to play the attacker in
// tamper tests (edit, delete, reorder, re-sign rows) with the real key from the keychain.
import type { Database } from 'better-sqlite3-multiple-ciphers';
import { openEncrypted, DB_KEY_ACCOUNT } from '../../main/audit/store';
import type { KeyStore } from '../../main/platform/keystore';

export async function openRawDb(path: string, keyStore: KeyStore): Promise<Database> {
  const key = await keyStore.get(DB_KEY_ACCOUNT);
  if (key === null) throw new Error('test: no database key in the keychain');
  return openEncrypted(path, key);
}
