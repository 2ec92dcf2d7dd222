// PIN verifiers: memory-hard, peppered, parameters stored with the hash, constant-time check.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { hashPin, parseVerifier, pinProblem, verifyPin } from '../../../main/auth/pin-hash';

const FAST = { N: 1 << 10, r: 8, p: 1 };

describe('PIN hash', () => {
  it('verifies the right PIN only, and keeps scrypt parameters and a salt with each hash', async () => {
    const pepper = randomBytes(32);
    const v = await hashPin('4826', pepper);
    assert.match(v, /^scrypt1\$32768\$8\$1\$[\w-]+\$[\w-]+$/);
    assert.equal(await verifyPin('4826', v, pepper), true);
    assert.equal(await verifyPin('4827', v, pepper), false);
    assert.notEqual(v, await hashPin('4826', pepper), 'a fresh salt each time');
    assert.ok(!v.split('$').includes('4826'), 'the PIN is not one of the stored fields');
  });

  it('needs the organisation pepper: the same PIN under another pepper does not verify', async () => {
    const v = await hashPin('4826', randomBytes(32), FAST);
    assert.equal(await verifyPin('4826', v, randomBytes(32)), false);
  });

  it('verifies hashes made with other parameters (they can be raised later)', async () => {
    const pepper = randomBytes(32);
    const v = await hashPin('135790', pepper, FAST);
    assert.deepEqual(parseVerifier(v)?.params, FAST);
    assert.equal(await verifyPin('135790', v, pepper), true);
  });

  it('refuses a tampered or unreadable verifier instead of using it', async () => {
    const pepper = randomBytes(32);
    for (const bad of ['', 'plain:4826', 'scrypt1$1073741824$8$1$AAAAAAAAAAA$' + 'A'.repeat(43), 'scrypt1$1000$8$1$AAAAAAAAAAA$' + 'A'.repeat(43), 'scrypt1$1024$8$1$AA$AA']) {
      assert.equal(parseVerifier(bad), null, bad);
      assert.equal(await verifyPin('4826', bad, pepper), false);
    }
  });

  it('refuses weak or malformed new PINs with a reason a person understands', () => {
    const limits = { minLength: 4, maxLength: 8 };
    assert.equal(pinProblem('4826', limits), null);
    assert.match(pinProblem('123', limits) ?? '', /4 to 8 digits/);
    assert.match(pinProblem('12a4', limits) ?? '', /digits only/);
    assert.match(pinProblem('1111', limits) ?? '', /one digit repeated/);
    assert.match(pinProblem('1234', limits) ?? '', /run/);
    assert.match(pinProblem('8765', limits) ?? '', /run/);
    assert.match(pinProblem('7890', limits) ?? '', /run/);
  });
});
