// Client TLS material from policy: a key file only the agent's account can read, or the keychain.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeytarKeyStore } from '../../../main/platform/keystore';
import { loadTlsCredentials, TlsCredentialsError } from '../../../main/forward/tls-credentials';
import { uniqueService } from '../../support/audit-fixture';
import { TestPki } from '../../../collector/demo-pki';

const pki = new TestPki();
const ca = pki.createCa('creds-ca');
const client = pki.issue(ca, 'creds-client', { kind: 'client' });
const keyStore = new KeytarKeyStore(uniqueService('tls-credentials'));
after(async () => {
  await keyStore.delete('upstream-client-key').catch(() => false);
  pki.dispose();
});

test('a key file readable by other accounts is refused with what to do', { skip: process.platform === 'win32' }, async () => {
  const path = join(pki.dir, 'open.key');
  writeFileSync(path, client.key);
  chmodSync(path, 0o644);
  await assert.rejects(
    loadTlsCredentials({ caFile: ca.certPath, clientCertFile: client.certPath, clientKey: { source: 'file', path } }, keyStore),
    (err: unknown) => err instanceof TlsCredentialsError && /chmod 600/.test(err.message),
  );
  chmodSync(path, 0o600);
  const creds = await loadTlsCredentials({ caFile: ca.certPath, clientCertFile: client.certPath, clientKey: { source: 'file', path } }, keyStore);
  assert.equal(creds.key, client.key);
  assert.equal(creds.ca, ca.cert);
});

test('the key from the keychain; a missing account names the account', async () => {
  const policy = { caFile: ca.certPath, clientCertFile: client.certPath, clientKey: { source: 'keychain' as const, account: 'upstream-client-key' } };
  await assert.rejects(loadTlsCredentials(policy, keyStore), (err: unknown) => err instanceof TlsCredentialsError && /upstream-client-key/.test(err.message));
  await keyStore.set('upstream-client-key', client.key);
  assert.equal((await loadTlsCredentials(policy, keyStore)).key, client.key);
});

test('a missing CA file names the file', async () => {
  chmodSync(client.keyPath, 0o600);
  await assert.rejects(
    loadTlsCredentials({ caFile: join(pki.dir, 'nope.pem'), clientCertFile: client.certPath, clientKey: { source: 'file', path: client.keyPath } }, keyStore),
    /pinned upstream CA .*nope\.pem.*ENOENT/,
  );
});
