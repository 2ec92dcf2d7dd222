// Device identity: a stable device id (a keyed hash of the OS machine id, never the raw
// id) and the Ed25519 device key pair whose private half lives only in the OS keychain.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { machineIdSync } from 'node-machine-id';
import type { KeyStore } from './keystore';

export const DEVICE_KEY_ACCOUNT = 'device-signing-key';

export interface DeviceIdentity {
  /** 32 hex chars: SHA-256 of a fixed label and the machine id, truncated. */
  readonly deviceId: string;
  /** 32 hex chars: SHA-256 of the public key's SPKI DER, truncated. */
  readonly keyId: string;
  readonly publicKey: KeyObject;
  readonly publicKeyPem: string;
  /** Ed25519 signature of `data` with the device key (parsed once, held as a KeyObject). */
  sign(data: Buffer): Buffer;
}

export class DeviceKeyMissingError extends Error {
  constructor(description: string) {
    super(
      `The device signing key is missing from the ${description} (account "${DEVICE_KEY_ACCOUNT}"), ` +
        'but this workstation already has an audit database signed with it. The agent will not create a new key over ' +
        'existing audit data. Restore the keychain entry from backup, or have IT archive the audit database and re-provision the device.',
    );
    this.name = 'DeviceKeyMissingError';
  }
}

export class DeviceKeyInvalidError extends Error {
  constructor(description: string, cause: unknown) {
    super(
      `The device signing key in the ${description} (account "${DEVICE_KEY_ACCOUNT}") is not a valid Ed25519 private key. ` +
        'It may have been overwritten; restore it from backup. Nothing was changed.',
      { cause },
    );
    this.name = 'DeviceKeyInvalidError';
  }
}

export function deviceIdFromMachineId(machineId: string): string {
  return createHash('sha256').update('clinical-workstation-agent/device-id/v1\0').update(machineId).digest('hex').slice(0, 32);
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 32);
}

export function identityFromKeys(deviceId: string, privateKey: KeyObject): DeviceIdentity {
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`device key must be Ed25519, got ${privateKey.asymmetricKeyType}`);
  const publicKey = createPublicKey(privateKey);
  return {
    deviceId,
    keyId: keyIdOf(publicKey),
    publicKey,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    sign: (data) => sign(null, data, privateKey),
  };
}

export interface LoadDeviceIdentityOptions {
  /** Create a key pair when none is stored. False when existing audit data depends on the key. */
  readonly create: boolean;
  /** Raw machine id; defaults to the OS one (node-machine-id). Tests pass a synthetic one. */
  readonly machineId?: string;
}

/** Loads (or, on first start, creates and stores) the device identity. */
export async function loadDeviceIdentity(keyStore: KeyStore, opts: LoadDeviceIdentityOptions): Promise<DeviceIdentity> {
  const deviceId = deviceIdFromMachineId(opts.machineId ?? machineIdSync(true));
  const stored = await keyStore.get(DEVICE_KEY_ACCOUNT);
  if (stored === null) {
    if (!opts.create) throw new DeviceKeyMissingError(keyStore.description);
    const { privateKey } = generateKeyPairSync('ed25519');
    await keyStore.set(DEVICE_KEY_ACCOUNT, privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64'));
    return identityFromKeys(deviceId, privateKey);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: Buffer.from(stored, 'base64'), format: 'der', type: 'pkcs8' });
  } catch (err) {
    throw new DeviceKeyInvalidError(keyStore.description, err);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new DeviceKeyInvalidError(keyStore.description, new Error('not Ed25519'));
  return identityFromKeys(deviceId, privateKey);
}
