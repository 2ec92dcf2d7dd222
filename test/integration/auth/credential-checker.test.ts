// PIN checks against a keystroke injector: submits that arrive faster than a PIN hashes are
// checked one at a time per user, so the lockout limit holds and a right guess made after
// the limit cannot erase it. Real encrypted store, directory, failure ledger and scrypt.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { CredentialChecker } from '../../../main/auth/credential-checker';
import { directoryKeysFrom } from '../../../main/auth/directory-key';
import { LocalDirectory } from '../../../main/auth/local-directory';
import { FailureLedger } from '../../../main/auth/lockout';
import { hashPin } from '../../../main/auth/pin-hash';
import { authPolicySchema } from '../../../main/auth/policy';
import { WebAuthnService } from '../../../main/auth/webauthn';
import { systemClock } from '../../../main/platform/clock';
import { openTestStore, type TestStore } from '../../support/audit-fixture';

let ts: TestStore;
before(async () => {
  ts = await openTestStore('credential-checker');
});
after(() => ts.cleanup());

test('wrong PINs submitted faster than they hash: exactly the limit is counted, and a right PIN after it is refused', async () => {
  const policy = authPolicySchema.parse({ pin: { maxFailures: 5 } });
  const keys = directoryKeysFrom(randomBytes(32));
  const directory = new LocalDirectory(ts.store.sharedConnection());
  await directory.enroll({ userId: 'kim.nguyen', profile: { displayName: 'Kim Nguyen', roles: ['clinician'] }, badgeToken: keys.badgeToken('0044403210'), pinVerifier: await hashPin('8642', keys.pinPepper) });
  const checker = new CredentialChecker({
    directory,
    keys: () => keys,
    ledger: new FailureLedger(ts.store.sharedConnection(), () => policy.pin, systemClock),
    webauthn: new WebAuthnService({ policy: () => policy, clock: systemClock }),
    recorder: ts.store,
    clock: systemClock,
  });
  const kim = (await directory.get('kim.nguyen'))!;
  // Eight wrong guesses and then the right one, all submitted before the first has hashed.
  const guesses = ['1111', '2222', '3333', '4444', '5555', '6666', '7777', '9999', '8642'];
  const results = await Promise.all(guesses.map((pin) => checker.checkPin(kim, pin)));
  assert.deepEqual(
    results.map((r) => (r.ok ? 'ok' : r.reason)),
    ['wrong-pin', 'wrong-pin', 'wrong-pin', 'wrong-pin', 'locked-out', 'locked-out', 'locked-out', 'locked-out', 'locked-out'],
  );
  const status = checker.lockout('kim.nguyen');
  assert.equal(status.failures, 5, 'no guess was counted past the limit');
  assert.ok(status.lockedUntilMs !== null && status.lockedUntilMs > Date.now(), 'the lockout stands');
});
