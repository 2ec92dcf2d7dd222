// The organisation's directory key: one 32-byte secret for every workstation (held in each
// keychain), from which the badge-token key and the PIN pepper are derived. A badge number
// is only ever kept as HMAC-SHA-256 under the badge key, so one enrolment works everywhere
// and a copied database reveals no card number and no PIN without the keychain.
import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { KeyStore } from '../platform/keystore';

export const DIRECTORY_KEY_ACCOUNT = 'directory-org-key';

export class DirectoryKeyError extends Error {
  constructor(
    readonly kind: 'missing' | 'invalid',
    message: string,
  ) {
    super(message);
    this.name = 'DirectoryKeyError';
  }
}

/** The derived keys; the raw organisation key never leaves this module. */
export interface DirectoryKeys {
  /** HMAC-SHA-256 of a card number under the badge key, hex. */
  badgeToken(cardNumber: string): string;
  /** The PIN pepper mixed into every PIN hash. */
  readonly pinPepper: Buffer;
  /** First 16 hex of SHA-256-HMAC of a fixed label: which org key this is, safe to show in status. */
  readonly keyId: string;
}

function derive(orgKey: Buffer, label: string): Buffer {
  return Buffer.from(hkdfSync('sha256', orgKey, Buffer.alloc(0), `clinical-workstation-agent/${label}`, 32));
}

/** Which organisation key this is (16 hex), the same at the collector and every agent. */
export function orgKeyFingerprint(orgKey: Buffer): string {
  return createHmac('sha256', derive(orgKey, 'key-id/v1')).update('key-id').digest('hex').slice(0, 16);
}

export function directoryKeysFrom(orgKey: Buffer): DirectoryKeys {
  if (orgKey.length !== 32) throw new DirectoryKeyError('invalid', 'the directory key must be 32 bytes');
  const badgeKey = derive(orgKey, 'badge-token/v1');
  const pinPepper = derive(orgKey, 'pin-pepper/v1');
  return {
    badgeToken: (cardNumber) => createHmac('sha256', badgeKey).update(normalizeCardNumber(cardNumber)).digest('hex'),
    pinPepper,
    keyId: orgKeyFingerprint(orgKey),
  };
}

/** Readers differ in letter case for hex card numbers; the token must not. */
export function normalizeCardNumber(cardNumber: string): string {
  return cardNumber.trim().toUpperCase();
}

/**
 * Loads the organisation key from the keychain. It is created only when the directory is
 * empty (first enrolment on a new installation); with enrolled users and no key every badge
 * would silently become unknown, so that fails closed with a message for IT instead.
 */
export async function loadDirectoryKeys(keyStore: KeyStore, opts: { readonly directoryEmpty: boolean }): Promise<DirectoryKeys> {
  const stored = await keyStore.get(DIRECTORY_KEY_ACCOUNT);
  if (stored === null) {
    if (!opts.directoryEmpty) {
      throw new DirectoryKeyError(
        'missing',
        `The organisation directory key is missing from the ${keyStore.description} (account "${DIRECTORY_KEY_ACCOUNT}"), ` +
          'but users are enrolled on this workstation, so no badge or PIN can be checked. Restore the keychain entry ' +
          '(or import the organisation key with agentctl); the agent never creates a new key over an existing directory.',
      );
    }
    const key = randomBytes(32);
    await keyStore.set(DIRECTORY_KEY_ACCOUNT, key.toString('base64'));
    return directoryKeysFrom(key);
  }
  const key = Buffer.from(stored, 'base64');
  if (key.length !== 32) {
    throw new DirectoryKeyError(
      'invalid',
      `The organisation directory key in the ${keyStore.description} (account "${DIRECTORY_KEY_ACCOUNT}") is not 32 bytes of base64; it may have been overwritten. Restore it from backup.`,
    );
  }
  return directoryKeysFrom(key);
}
