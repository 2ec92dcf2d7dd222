// The leak check the browser tests use: a PIN or badge number shown as itself is found; the
// same digits inside a hex id, a hash or a longer number are not a leak.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { secretsInTrail, showsSecret } from '../../support/lock-driver';

describe('showsSecret', () => {
  it('finds the secret standing alone, whatever surrounds it', () => {
    for (const text of ['4826', 'PIN 4826', 'pin=4826;', '"4826"', 'typed: 4826\n', '(4826)']) assert.equal(showsSecret(text, '4826'), true, text);
    assert.equal(showsSecret('badge 00A1B2C3D4 read', '00A1B2C3D4'), true);
  });

  it('does not count the digits inside a longer run of letters and digits', () => {
    for (const text of ['device 3a94d6334826a06d', 'sha256 d6067574826…', 'seq 14826', '48261', 'key x4826', 'id 0190c3a2-7f1e-4826-9b3d-5c2e8f7a1b44', 'cred xK_4826-Qz']) assert.equal(showsSecret(text, '4826'), false, text);
  });

  it('takes the secret literally', () => {
    assert.equal(showsSecret('a+b', 'a+b'), true);
    assert.equal(showsSecret('aab', 'a+b'), false);
  });
});

describe('secretsInTrail', () => {
  const event = (action: string, user: string | null, details: Record<string, unknown>, seq?: number) => ({ action, user, method: null, details, ...(seq === undefined ? {} : { seq }) });

  it('names the event and the field that shows a secret, and cuts the secret short', () => {
    const trail = [event('auth.badge.failure', null, { kind: 'unknown-user', typed: '4826' }, 7), event('break_glass.granted', '0012345678', { reason: ['pin 4826'] })];
    assert.deepEqual(secretsInTrail(trail, ['4826', '0012345678']), [
      'auth.badge.failure (seq 7) details.typed: 48…',
      'break_glass.granted user: 00…',
      'break_glass.granted details.reason: 48…',
    ]);
  });

  it('finds nothing in a policy hash or a credential id that happen to hold the digits', () => {
    const trail = [event('policy.loaded', null, { source: 'file', hash: '9f3a94d6334826a06d0c' }), event('auth.fido.success', 'dana.reyes', { credential: 'xK4826_Qz' })];
    assert.deepEqual(secretsInTrail(trail, ['4826']), []);
  });
});
