// Device public keys from their registered PEM: an Ed25519 key is built from its raw bytes
// (the same key as OpenSSL's PEM decoder gives, and it verifies the device's signatures),
// other keys and odd PEM layouts go to the decoder, and garbage is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { DeviceKeys, publicKeyFromPem } from '../../../collector/intake';

test('an Ed25519 PEM gives the same key, in LF or CRLF layout, and it verifies the device signature', () => {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const pem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
  for (const text of [pem, pem.replace(/\n/g, '\r\n'), `\n${pem}\n\n`]) {
    const key = publicKeyFromPem(text);
    assert.equal(key.asymmetricKeyType, 'ed25519');
    assert.ok(key.equals(publicKey));
    const message = Buffer.from('seq 1');
    assert.ok(verify(null, message, key, sign(null, message, privateKey)));
  }
});

test('other keys go to the PEM decoder; garbage is refused', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
  assert.ok(publicKeyFromPem(rsa.export({ type: 'spki', format: 'pem' }) as string).equals(rsa));
  assert.throws(() => publicKeyFromPem('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n'));
  assert.throws(() => publicKeyFromPem('not a key'));
});

test('DeviceKeys parses a device key once, and again when the registered key changes', () => {
  const keys = new DeviceKeys();
  const a = generateKeyPairSync('ed25519').publicKey;
  const b = generateKeyPairSync('ed25519').publicKey;
  const device = (pk: typeof a) => ({ deviceId: 'ws-1', publicKeyPem: pk.export({ type: 'spki', format: 'pem' }) as string }) as Parameters<DeviceKeys['keyOf']>[0];
  const first = keys.keyOf(device(a));
  assert.equal(keys.keyOf(device(a)), first);
  assert.ok(keys.keyOf(device(b)).equals(b));
});
