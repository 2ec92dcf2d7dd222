// The session policy schema: safe defaults, profiles, overrides, and the bounds IT can
// only pass with the explicit override flag.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SESSION_POLICY, SESSION_PROFILES, sessionPolicyForProfile, sessionPolicySchema } from '../../../main/session/policy';

const messages = (input: unknown) => {
  const r = sessionPolicySchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('session policy', () => {
  it('defaults to a shared clinical workstation: warn 60 s before a 5-minute lock, logoff after 30 min, grace 4 h, emergency 60 min', () => {
    assert.deepEqual(DEFAULT_SESSION_POLICY, {
      profile: 'shared-clinical',
      allowExtendedTimeouts: false,
      warnAfterSeconds: 240,
      lockAfterSeconds: 300,
      logoffAfterSeconds: 1800,
      graceHours: 4,
      strongFactor: 'pin',
      emergencyMaxMinutes: 60,
      osLockOnLock: false,
      logoffAction: { kind: 'agent-signout' },
      tapOut: 'lock',
    });
  });

  it('takes a profile and overrides single fields on top of it', () => {
    const p = sessionPolicySchema.parse({ profile: 'back-office', lockAfterSeconds: 420 });
    assert.equal(p.lockAfterSeconds, 420);
    assert.equal(p.warnAfterSeconds, 360, "keeps the profile's 60 s warning lead");
    assert.equal(p.strongFactor, 'fido2');
    assert.deepEqual(p.logoffAction, { kind: 'os-logoff' });
    for (const name of Object.keys(SESSION_PROFILES) as (keyof typeof SESSION_PROFILES)[]) {
      assert.equal(sessionPolicyForProfile(name).profile, name);
    }
  });

  it('refuses timeouts beyond the standard bounds without the override flag, naming the field and the way out', () => {
    const errs = messages({ lockAfterSeconds: 1800 });
    assert.equal(errs.length, 1);
    assert.match(errs[0] ?? '', /^lockAfterSeconds: 1800 s is above the limit of 900 s .*allowExtendedTimeouts: true/);
    assert.deepEqual(messages({ lockAfterSeconds: 1800, allowExtendedTimeouts: true }), []);
    assert.match(messages({ lockAfterSeconds: 7200, allowExtendedTimeouts: true })[0] ?? '', /hard limit of 3600 s/);
    assert.match(messages({ graceHours: 13 })[0] ?? '', /^graceHours: /);
    assert.match(messages({ emergencyMaxMinutes: 240 })[0] ?? '', /^emergencyMaxMinutes: /);
    assert.match(messages({ logoffAfterSeconds: 5 * 3600 })[0] ?? '', /^logoffAfterSeconds: /);
  });

  it('requires the warning before the lock, positive times, and known values', () => {
    assert.match(messages({ warnAfterSeconds: 300 })[0] ?? '', /^warnAfterSeconds: must be less than lockAfterSeconds/);
    assert.match(messages({ lockAfterSeconds: 0 })[0] ?? '', /^lockAfterSeconds: /);
    assert.match(messages({ strongFactor: 'sms' })[0] ?? '', /^strongFactor: /);
    assert.match(messages({ lockAfterSecond: 60 })[0] ?? '', /lockAfterSecond/);
  });

  it('takes a logoff command only as an argv array with an absolute program path', () => {
    assert.deepEqual(sessionPolicySchema.parse({ logoffAction: { kind: 'command', argv: ['/opt/ehr/bin/signout', '--all'] } }).logoffAction, {
      kind: 'command',
      argv: ['/opt/ehr/bin/signout', '--all'],
    });
    assert.deepEqual(sessionPolicySchema.parse({ logoffAction: { kind: 'command', argv: ['C:\\Program Files\\EHR\\signout.exe'] } }).logoffAction.kind, 'command');
    assert.match(messages({ logoffAction: { kind: 'command', argv: ['signout'] } })[0] ?? '', /^logoffAction\.argv\.0: argv\[0\] must be an absolute path/);
    assert.equal(messages({ logoffAction: { kind: 'command', argv: 'rm -rf /' } }).length, 1);
    assert.equal(messages({ logoffAction: { kind: 'command', argv: [] } }).length, 1);
  });
});
