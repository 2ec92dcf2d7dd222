// The auth policy: safe defaults, the WebAuthn origin rules, and user verification per OS.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_AUTH_POLICY, resolveUserVerification, rpIdOf } from '../../../main/auth/policy';
import { parsePolicyText } from '../../../main/policy/schema';

describe('auth policy', () => {
  it('defaults to http://localhost, RP ID localhost, PIN 4–8 digits, 5 failures → 15 min, reader thresholds that accept ~40 ms per key', () => {
    assert.equal(DEFAULT_AUTH_POLICY.origin, 'http://localhost');
    assert.equal(rpIdOf(DEFAULT_AUTH_POLICY), 'localhost');
    assert.deepEqual(DEFAULT_AUTH_POLICY.pin, { minLength: 4, maxLength: 8, maxFailures: 5, lockoutMinutes: 15 });
    assert.ok(DEFAULT_AUTH_POLICY.badge.maxKeyGapMs >= 40 && DEFAULT_AUTH_POLICY.badge.maxKeyGapMs < 100);
    assert.deepEqual(DEFAULT_AUTH_POLICY.enrollerRoles, ['enroller']);
  });

  it('requires user verification from the key on Windows only (Electron draws no key-PIN UI elsewhere)', () => {
    assert.equal(resolveUserVerification(DEFAULT_AUTH_POLICY, 'win32'), 'authenticator');
    assert.equal(resolveUserVerification(DEFAULT_AUTH_POLICY, 'linux'), 'agent-pin');
    assert.equal(resolveUserVerification(DEFAULT_AUTH_POLICY, 'darwin'), 'agent-pin');
    assert.equal(resolveUserVerification({ ...DEFAULT_AUTH_POLICY, userVerification: 'required' }, 'linux'), 'authenticator');
  });

  it('names the field and the fix for origins WebAuthn would refuse', () => {
    const bad = (auth: unknown) => {
      const r = parsePolicyText(JSON.stringify({ auth }));
      return r.ok ? [] : r.errors;
    };
    assert.match(bad({ origin: 'http://10.0.0.5' }).join('\n'), /auth\.origin: plain http is allowed only on localhost/);
    assert.match(bad({ origin: 'https://agent.hospital.example', rpId: 'other.example' }).join('\n'), /auth\.rpId: "other\.example" is not the origin's host/);
    assert.deepEqual(bad({ origin: 'https://agent.hospital.example', rpId: 'hospital.example' }), []);
    assert.match(bad({ pin: { minLength: 8, maxLength: 6 } }).join('\n'), /auth\.pin\.minLength: must not exceed pin\.maxLength/);
    assert.match(bad({ badge: { maxKeyGapMs: 1 } }).join('\n'), /auth\.badge\.maxKeyGapMs/);
    assert.match(bad({ pinn: {} }).join('\n'), /auth\.pinn: unknown setting/);
  });
});
