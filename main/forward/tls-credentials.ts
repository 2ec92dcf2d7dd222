// Loads what mutual TLS needs from policy: the pinned CA, the client certificate and the
// client key, the key from the OS keychain or from a file only the agent's account can read.
import { readFile, stat } from 'node:fs/promises';
import type { KeyStore } from '../platform/keystore';
import type { ClientKeySource, HttpsUpstreamPolicy } from './policy';

export interface TlsCredentials {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

export class TlsCredentialsError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'TlsCredentialsError';
  }
}

async function readPem(path: string, what: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new TlsCredentialsError(`The ${what} named by policy (${path}) cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}. Check the path and its permissions.`, err);
  }
  if (!text.includes('-----BEGIN ')) throw new TlsCredentialsError(`The ${what} at ${path} is not PEM.`);
  return text;
}

/** Refuses a key file that another account could read: on POSIX, no group/other bits and owned by us. */
export async function assertPrivateFile(path: string): Promise<void> {
  if (process.platform === 'win32') return; // NTFS ACLs are set by the installer; mode bits mean nothing there
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    throw new TlsCredentialsError(`The client key file ${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}.`, err);
  }
  if ((st.mode & 0o077) !== 0) {
    throw new TlsCredentialsError(
      `The client key file ${path} is readable by other accounts (mode ${(st.mode & 0o777).toString(8)}). Make it readable by the agent's account only (chmod 600) before the agent will use it.`,
    );
  }
  const uid = process.getuid?.();
  if (uid !== undefined && uid !== 0 && st.uid !== uid) {
    throw new TlsCredentialsError(`The client key file ${path} belongs to another account (uid ${st.uid}); it must belong to the agent's account.`);
  }
}

async function loadKey(source: ClientKeySource, keyStore: KeyStore): Promise<string> {
  if (source.source === 'keychain') {
    const pem = await keyStore.get(source.account);
    if (pem === null) {
      throw new TlsCredentialsError(`The client key is missing from the ${keyStore.description} (account "${source.account}"). Provision the device certificate again.`);
    }
    if (!pem.includes('-----BEGIN ')) throw new TlsCredentialsError(`The client key in the ${keyStore.description} (account "${source.account}") is not PEM.`);
    return pem;
  }
  await assertPrivateFile(source.path);
  return readPem(source.path, 'client key');
}

export async function loadTlsCredentials(policy: Pick<HttpsUpstreamPolicy, 'caFile' | 'clientCertFile' | 'clientKey'>, keyStore: KeyStore): Promise<TlsCredentials> {
  const [ca, cert, key] = await Promise.all([
    readPem(policy.caFile, 'pinned upstream CA'),
    readPem(policy.clientCertFile, 'client certificate'),
    loadKey(policy.clientKey, keyStore),
  ]);
  return { ca, cert, key };
}
