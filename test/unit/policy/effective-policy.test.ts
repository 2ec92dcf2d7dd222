// The merge of the policy sources, per setting: the highest-precedence source that sets a
// setting wins whatever order the sources arrive in, and what it overrode is listed; a
// value the schema refuses is rejected for its source only and the next source (or the
// default) applies; stray keys get a "did you mean"; cross-field rules reject the values
// of the source that broke them; and whatever comes in, the result parses with the schema.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { acceptedValues, closestKnown, mergePolicy, rejectionLine, splitDocument, type SourceDocument } from '../../../main/policy/effective-policy';
import { agentPolicySchema, DEFAULT_AGENT_POLICY } from '../../../main/policy/schema';
import { policySettings, settingByKey, setValueAt, valueAt, type PolicySetting } from '../../../main/policy/settings';
import { SOURCE_NAMES, type SourceName } from '../../../main/policy/sources';

const where = (source: SourceName) => `${source} (test)`;
const input = (source: SourceName, document: unknown, rejected?: SourceDocument['rejected']): SourceDocument => ({ source, where: where(source), document, rejected });

function setting(result: ReturnType<typeof mergePolicy>, key: string) {
  const s = result.settings.find((e) => e.key === key);
  assert.ok(s, `setting ${key} is in the result`);
  return s;
}

/** Every subset of the sources (non-empty), each in every order. */
function* orderedSubsets(): Generator<SourceName[]> {
  const permutations = (items: SourceName[]): SourceName[][] =>
    items.length <= 1 ? [items] : items.flatMap((first, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [first, ...rest]));
  for (let mask = 1; mask < 1 << SOURCE_NAMES.length; mask++) {
    yield* permutations(SOURCE_NAMES.filter((_, i) => mask & (1 << i)));
  }
}

/** A distinct valid forwarding.batch.maxEvents per source, so the winner shows by value. */
const MAX_EVENTS: Record<SourceName, number> = { 'group-policy': 101, mdm: 102, installer: 103, 'machine-file': 104 };

describe('mergePolicy: precedence', () => {
  it('gives every setting its default, from no source, when nothing is set; the defaults parse', () => {
    const r = mergePolicy([]);
    assert.deepEqual(r.policy, DEFAULT_AGENT_POLICY);
    assert.deepEqual(r.rejections, []);
    assert.equal(r.settings.length, policySettings().length);
    assert.deepEqual(r.settings.map((s) => s.key), policySettings().map((s) => s.key), 'schema order');
    for (const s of r.settings) {
      assert.equal(s.source, 'default', s.key);
      assert.deepEqual([s.overrode, s.rejected], [[], []], s.key);
    }
    assert.equal(setting(r, 'session.lockAfterSeconds').value, 300, 'the shared-clinical profile');
    assert.equal(setting(r, 'forwarding.batch.maxEvents').value, 500);
    assert.equal(setting(r, 'syslog.host').value, undefined, 'no default: syslog is off');
    assert.ok(agentPolicySchema.safeParse(r.document).success);
  });

  it('lets the highest-precedence source win for every subset of sources in every order, listing the rest as overridden', () => {
    let cases = 0;
    for (const order of orderedSubsets()) {
      const r = mergePolicy(order.map((name) => input(name, { forwarding: { batch: { maxEvents: MAX_EVENTS[name] } } })));
      const byPrecedence = SOURCE_NAMES.filter((n) => order.includes(n));
      const s = setting(r, 'forwarding.batch.maxEvents');
      const label = order.join(' > ');
      assert.equal(s.source, byPrecedence[0], label);
      assert.equal(s.value, MAX_EVENTS[byPrecedence[0]!], label);
      assert.equal(r.policy.forwarding.batch.maxEvents, MAX_EVENTS[byPrecedence[0]!], label);
      assert.deepEqual(s.overrode, byPrecedence.slice(1).map((n) => ({ source: n, value: MAX_EVENTS[n] })), label);
      assert.deepEqual(r.rejections, [], label);
      cases++;
    }
    assert.equal(cases, 4 + 12 + 24 + 24);
  });

  it('merges per setting: each setting comes from the highest source that sets it, the others from lower ones or the default', () => {
    const r = mergePolicy([
      input('machine-file', { session: { tapOut: 'off', graceHours: 2 }, auth: { helpDesk: 'Call 1000.' }, logging: { level: 'debug' } }),
      input('installer', { session: { graceHours: 3 }, auth: { helpDesk: 'Call 2000.' } }),
      input('mdm', { auth: { helpDesk: 'Call 3000.' } }),
      input('group-policy', { session: { tapOut: 'logoff' } }),
    ]);
    const view = (key: string) => {
      const s = setting(r, key);
      return [s.value, s.source, s.overrode.map((o) => o.source)];
    };
    assert.deepEqual(view('session.tapOut'), ['logoff', 'group-policy', ['machine-file']]);
    assert.deepEqual(view('session.graceHours'), [3, 'installer', ['machine-file']]);
    assert.deepEqual(view('auth.helpDesk'), ['Call 3000.', 'mdm', ['installer', 'machine-file']]);
    assert.deepEqual(view('logging.level'), ['debug', 'machine-file', []]);
    assert.deepEqual(view('session.strongFactor'), ['pin', 'default', []]);
    assert.deepEqual(r.document, { session: { tapOut: 'logoff', graceHours: 3 }, auth: { helpDesk: 'Call 3000.' }, logging: { level: 'debug' } });
    assert.equal(r.policy.session.tapOut, 'logoff');
    assert.equal(r.policy.auth.helpDesk, 'Call 3000.');
  });

  it('resolves a profile from one source with an override from another', () => {
    const r = mergePolicy([input('group-policy', { session: { profile: 'back-office' } }), input('machine-file', { session: { lockAfterSeconds: 120 } })]);
    assert.equal(r.policy.session.profile, 'back-office');
    assert.equal(r.policy.session.lockAfterSeconds, 120);
    assert.equal(r.policy.session.warnAfterSeconds, 60, "the profile's 60 s lead before the lock");
    assert.equal(r.policy.session.strongFactor, 'fido2');
    assert.equal(setting(r, 'session.lockAfterSeconds').source, 'machine-file');
  });
});

describe('mergePolicy: rejected values fall back', () => {
  it('falls back past every rejected value to the next source, then to the default, for every combination of bad sources', () => {
    for (let badMask = 0; badMask < 1 << SOURCE_NAMES.length; badMask++) {
      const bad = SOURCE_NAMES.filter((_, i) => badMask & (1 << i));
      const r = mergePolicy(SOURCE_NAMES.map((n) => input(n, { forwarding: { batch: { maxEvents: bad.includes(n) ? 0 : MAX_EVENTS[n] } } })));
      const s = setting(r, 'forwarding.batch.maxEvents');
      const winner = SOURCE_NAMES.find((n) => !bad.includes(n));
      const label = `bad: ${bad.join(', ') || 'none'}`;
      assert.equal(s.source, winner ?? 'default', label);
      assert.equal(s.value, winner ? MAX_EVENTS[winner] : 500, label);
      // Only the values tried before the winner are judged; those below it are overridden.
      const tried = winner ? SOURCE_NAMES.slice(0, SOURCE_NAMES.indexOf(winner)) : [...SOURCE_NAMES];
      assert.deepEqual(s.rejected.map((x) => x.source), tried, label);
      assert.deepEqual(r.rejections.map((x) => x.source), tried, label);
      const below = winner ? SOURCE_NAMES.slice(SOURCE_NAMES.indexOf(winner) + 1) : [];
      assert.deepEqual(s.overrode.map((o) => o.source), below, label);
      for (const x of s.rejected) {
        assert.deepEqual([x.key, x.value, x.where], ['forwarding.batch.maxEvents', 0, where(x.source)], label);
        assert.match(x.reason, /Too small: expected number to be >=1/, label);
        assert.equal(x.fix, 'use a whole number from 1 to 10000', label);
      }
    }
  });

  it('rejects one bad value without touching the other settings of the same source', () => {
    const r = mergePolicy([
      input('group-policy', { session: { strongFactor: 'sms', tapOut: 'off' }, forwarding: { batch: { lingerMs: 50 } } }),
      input('machine-file', { session: { strongFactor: 'fido2' } }),
    ]);
    assert.equal(r.policy.session.strongFactor, 'fido2');
    assert.equal(r.policy.session.tapOut, 'off');
    assert.equal(r.policy.forwarding.batch.lingerMs, 50);
    assert.deepEqual(
      r.rejections.map((x) => [x.key, x.source, x.value, x.fix]),
      [['session.strongFactor', 'group-policy', 'sms', 'use one of pin, fido2']],
    );
    assert.equal(rejectionLine(r.rejections[0]!), `session.strongFactor: ${r.rejections[0]!.reason} (${where('group-policy')})`);
  });

  it('rejects values of the wrong type with the kind of value the setting takes', () => {
    const r = mergePolicy([
      input('mdm', {
        session: { osLockOnLock: 'yes', logoffAction: { kind: 'command', argv: ['logoff.sh'] } },
        forwarding: { buffer: { alarmPercents: [80, 'ninety'] } },
        auth: { enrollerRoles: 'it' },
      }),
    ]);
    const fixes = new Map(r.rejections.map((x) => [x.key, x.fix]));
    assert.equal(fixes.get('session.osLockOnLock'), 'use true or false');
    assert.equal(fixes.get('forwarding.buffer.alarmPercents'), 'use a list of whole numbers from 1 to 100 (at least 1)');
    assert.equal(fixes.get('auth.enrollerRoles'), 'use a list of text values (at least 1)');
    const argv = r.rejections.find((x) => x.key === 'session.logoffAction');
    assert.match(argv?.reason ?? '', /^argv\.0: argv\[0\] must be an absolute path/, 'the path below the setting leads the reason');
    assert.equal(r.rejections.length, 4);
    assert.deepEqual(r.policy.session.logoffAction, { kind: 'agent-signout' }, "the profile's");
  });

  it('sorts rejections by source precedence, then by schema order, and carries the read rejections of each source', () => {
    const readRejection = { key: 'session.tapOut', value: 1, reason: 'REG_DWORD 1 where REG_SZ text was expected', fix: 'write it as REG_SZ', where: 'Group Policy HKLM\\…\\session' };
    const r = mergePolicy([
      input('machine-file', { logging: { level: 'loud' }, session: { graceHours: -1 } }),
      input('group-policy', { auth: { pin: { maxFailures: 0 } } }, [readRejection]),
    ]);
    assert.deepEqual(
      r.rejections.map((x) => [x.source, x.key]),
      [
        ['group-policy', 'session.tapOut'],
        ['group-policy', 'auth.pin.maxFailures'],
        ['machine-file', 'session.graceHours'],
        ['machine-file', 'logging.level'],
      ],
    );
    assert.deepEqual(r.rejections[0], { ...readRejection, source: 'group-policy' });
    assert.deepEqual(setting(r, 'session.tapOut').rejected, [r.rejections[0]], 'a read rejection shows on its setting');
    assert.equal(setting(r, 'session.tapOut').source, 'default');
  });
});

describe('mergePolicy: overridden values are judged too', () => {
  it('says why an overridden value would be rejected if the source above it went away, and leaves valid ones alone', () => {
    const r = mergePolicy([
      input('group-policy', { session: { lockAfterSeconds: 120, strongFactor: 'pin' }, forwarding: { batch: { maxEvents: 101 } } }),
      input('installer', { session: { strongFactor: 'fido2' } }),
      input('machine-file', { session: { lockAfterSeconds: 99_999_999, strongFactor: 'sms' }, forwarding: { batch: { maxEvents: 0 } } }),
    ]);
    assert.deepEqual(r.rejections, [], 'nothing in force was rejected');
    const batch = setting(r, 'forwarding.batch.maxEvents');
    assert.deepEqual([batch.value, batch.source], [101, 'group-policy']);
    assert.match(batch.overrode[0]!.invalid?.reason ?? '', /Too small/);
    assert.match(batch.overrode[0]!.invalid?.fix ?? '', /^use a whole number from 1/);
    const lock = setting(r, 'session.lockAfterSeconds');
    assert.deepEqual([lock.value, lock.source, lock.overrode[0]!.value], [120, 'group-policy', 99_999_999]);
    assert.match(lock.overrode[0]!.invalid?.reason ?? '', /above the limit of 900 s/, 'a rule between settings counts too');
    const factor = setting(r, 'session.strongFactor');
    assert.deepEqual(
      factor.overrode.map((o) => [o.source, o.value, o.invalid?.fix]),
      [
        ['installer', 'fido2', undefined],
        ['machine-file', 'sms', 'use one of pin, fido2'],
      ],
    );
  });

  it('judges an overridden value against the settings in force, as the merge would', () => {
    // The machine file's warning (200 s) is fine beside its own lock, but not beside Group
    // Policy's 120 s lock, which is in force: it would give way if Group Policy's
    // warning were removed.
    const r = mergePolicy([
      input('group-policy', { session: { lockAfterSeconds: 120, warnAfterSeconds: 60 } }),
      input('machine-file', { session: { lockAfterSeconds: 600, warnAfterSeconds: 200 } }),
    ]);
    const warn = setting(r, 'session.warnAfterSeconds');
    assert.match(warn.overrode[0]!.invalid?.reason ?? '', /must be less than lockAfterSeconds \(120 s\)/);
    assert.equal(setting(r, 'session.lockAfterSeconds').overrode[0]!.invalid, undefined, '600 s would apply beside the 60 s warning');
  });
});

describe('mergePolicy: keys that are no setting, and sections that are no object', () => {
  it('rejects unknown keys with a "did you mean" when a setting or section is close, and without one otherwise', () => {
    const r = mergePolicy([input('machine-file', { sesion: { tapOut: 'off' }, session: { lockAfterSecond: 120, tapOut: 'off' }, colour: 'blue' })]);
    const byKey = new Map(r.rejections.map((x) => [x.key, x]));
    assert.deepEqual([...byKey.keys()].sort(), ['colour', 'sesion', 'session.lockAfterSecond']);
    for (const x of byKey.values()) assert.equal(x.reason, 'unknown setting (check the spelling)');
    assert.equal(byKey.get('sesion')?.fix, 'did you mean session? Correct the spelling, or remove it');
    assert.deepEqual(byKey.get('sesion')?.value, { tapOut: 'off' });
    assert.equal(byKey.get('session.lockAfterSecond')?.fix, 'did you mean session.lockAfterSeconds? Correct the spelling, or remove it');
    assert.equal(byKey.get('colour')?.fix, 'remove it, or correct its spelling (agentctl policy show --all lists every setting)');
    assert.equal(r.policy.session.tapOut, 'off', 'the rest of the document applies');
    assert.equal(r.policy.session.lockAfterSeconds, 300);
  });

  it('finds the closest known name by edit distance, ignoring case, and nothing for names far from any', () => {
    assert.equal(closestKnown('Session.LockAfterSeconds'), 'session.lockAfterSeconds');
    assert.equal(closestKnown('forwarding.bach'), 'forwarding.batch');
    assert.equal(closestKnown('forwarding.batch.maxEvent'), 'forwarding.batch.maxEvents');
    assert.equal(closestKnown('auth.pin.maxFailure'), 'auth.pin.maxFailures');
    assert.equal(closestKnown('colour'), null);
    assert.equal(closestKnown('session.somethingElseEntirely'), null);
  });

  it('rejects a section given as a number, a string, null or a list, and a document that is no object', () => {
    const r = mergePolicy([
      input('group-policy', { session: 5, forwarding: { https: 'https://collector.example.org', batch: { maxEvents: 250 } }, auth: null, logging: ['debug'] }),
      input('mdm', [{ session: {} }]),
      input('machine-file', { session: { tapOut: 'off' } }),
    ]);
    assert.deepEqual(
      r.rejections.map((x) => [x.source, x.key, x.reason]),
      [
        ['group-policy', 'session', 'session is a section: expected an object of settings, found 5'],
        ['group-policy', 'forwarding.https', 'forwarding.https is a section: expected an object of settings, found "https://collector.example.org"'],
        ['group-policy', 'auth', 'auth is a section: expected an object of settings, found null'],
        ['group-policy', 'logging', 'logging is a section: expected an object of settings, found ["debug"]'],
        ['mdm', '(document)', 'a policy is a set of sections: expected an object of settings, found [{"session":{}}]'],
      ],
    );
    assert.equal(r.rejections[0]!.fix, 'write it as { "setting": value, … }');
    assert.equal(r.rejections[4]!.fix, 'write the policy as one JSON object: { "session": { … }, … }');
    assert.equal(r.policy.forwarding.batch.maxEvents, 250, 'the sibling that is right still applies');
    assert.equal(r.policy.session.tapOut, 'off', "the next source's session applies");
    assert.equal(r.policy.forwarding.https, undefined);
  });

  it('takes an object given for a scalar setting as that setting\'s (rejected) value, not as a section', () => {
    const { values, stray } = splitDocument(input('machine-file', { session: { lockAfterSeconds: { seconds: 300 } } }));
    assert.deepEqual([...values], [['session.lockAfterSeconds', { seconds: 300 }]]);
    assert.deepEqual(stray, []);
    const r = mergePolicy([input('machine-file', { session: { lockAfterSeconds: { seconds: 300 } } })]);
    assert.deepEqual(r.rejections.map((x) => [x.key, x.fix]), [['session.lockAfterSeconds', 'use a number of at least 1']]);
  });
});

const SYSLOG = { host: 'siem.example.org', caFile: '/etc/cwa/ca.pem', clientCertFile: '/etc/cwa/client.pem', clientKey: { source: 'file', path: '/etc/cwa/client.key' } };
const HTTPS = { url: 'https://collector.example.org:8443', caFile: '/etc/cwa/ca.pem', clientCertFile: '/etc/cwa/client.pem', clientKey: { source: 'keychain', account: 'cwa-client' } };

describe('mergePolicy: cross-field rules', () => {
  it('rejects a lock timeout above 900 s unless allowExtendedTimeouts is on, from whichever source allows it', () => {
    const alone = mergePolicy([input('group-policy', { session: { lockAfterSeconds: 1200 } }), input('machine-file', { session: { lockAfterSeconds: 600 } })]);
    assert.equal(alone.policy.session.lockAfterSeconds, 600, "the file's value, the GPO's being rejected");
    assert.deepEqual(alone.rejections.map((x) => [x.source, x.key, x.value]), [['group-policy', 'session.lockAfterSeconds', 1200]]);
    assert.equal(
      alone.rejections[0]!.reason,
      '1200 s is above the limit of 900 s for workstations that can show patient data; set allowExtendedTimeouts: true to allow up to 3600 s',
    );
    assert.equal(alone.rejections[0]!.fix, 'change it as the reason says, or remove it so the next source or the default applies');

    const allowed = mergePolicy([input('group-policy', { session: { lockAfterSeconds: 1200, allowExtendedTimeouts: true } })]);
    assert.deepEqual(allowed.rejections, []);
    assert.equal(allowed.policy.session.lockAfterSeconds, 1200);

    const beyond = mergePolicy([input('group-policy', { session: { lockAfterSeconds: 7200, allowExtendedTimeouts: true } })]);
    assert.equal(beyond.policy.session.lockAfterSeconds, 300);
    assert.equal(beyond.policy.session.allowExtendedTimeouts, true, 'only the value beyond the hard limit is rejected');
    assert.match(beyond.rejections[0]!.reason, /above the hard limit of 3600 s/);
  });

  it('rejects the lower source\'s long timeout when a higher source turns extended timeouts off', () => {
    const r = mergePolicy([
      input('group-policy', { session: { allowExtendedTimeouts: false } }),
      input('machine-file', { session: { allowExtendedTimeouts: true, lockAfterSeconds: 1800, tapOut: 'off' } }),
    ]);
    assert.equal(r.policy.session.allowExtendedTimeouts, false);
    assert.equal(r.policy.session.lockAfterSeconds, 300);
    assert.equal(r.policy.session.tapOut, 'off');
    assert.deepEqual(setting(r, 'session.allowExtendedTimeouts').overrode, [{ source: 'machine-file', value: true }]);
    assert.deepEqual(r.rejections.map((x) => [x.source, x.key, x.value]), [['machine-file', 'session.lockAfterSeconds', 1800]]);
  });

  it('rejects a warning that would come after the lock, keeping the lock', () => {
    const r = mergePolicy([input('group-policy', { session: { lockAfterSeconds: 120 } }), input('machine-file', { session: { warnAfterSeconds: 200 } })]);
    assert.deepEqual(r.rejections.map((x) => [x.source, x.key]), [['machine-file', 'session.warnAfterSeconds']]);
    assert.match(r.rejections[0]!.reason, /must be less than lockAfterSeconds \(120 s\)/);
    assert.deepEqual([r.policy.session.lockAfterSeconds, r.policy.session.warnAfterSeconds], [120, 60]);
  });

  it('in a conflict between two settings, the value from the lower-precedence source gives way, whichever side the rule is reported at', () => {
    const r = mergePolicy([input('group-policy', { session: { warnAfterSeconds: 200 } }), input('machine-file', { session: { lockAfterSeconds: 120 } })]);
    assert.deepEqual(r.rejections.map((x) => [x.source, x.key, x.value]), [['machine-file', 'session.lockAfterSeconds', 120]]);
    assert.equal(r.rejections[0]!.reason, 'conflicts with session.warnAfterSeconds from Group Policy (200): session.warnAfterSeconds must be less than lockAfterSeconds (120 s) so the warning shows before the lock');
    assert.match(r.rejections[0]!.fix, /^change it so that the two agree, or remove it/);
    assert.deepEqual([r.policy.session.warnAfterSeconds, r.policy.session.lockAfterSeconds], [200, 300], "Group Policy's warning stands, the lock falls back to the profile's");

    const pin = mergePolicy([input('mdm', { auth: { pin: { minLength: 8 } } }), input('installer', { auth: { pin: { maxLength: 6 } } })]);
    assert.deepEqual(pin.rejections.map((x) => [x.source, x.key]), [['installer', 'auth.pin.maxLength']]);
    assert.equal(pin.policy.auth.pin.minLength, 8);

    const backoff = mergePolicy([input('group-policy', { forwarding: { backoff: { maxMs: 1000 } } }), input('machine-file', { forwarding: { backoff: { initialMs: 5000 } } })]);
    assert.deepEqual(backoff.rejections.map((x) => [x.source, x.key]), [['machine-file', 'forwarding.backoff.initialMs']]);
    assert.equal(backoff.policy.forwarding.backoff.maxMs, 1000);

    // Both from one source: the value the rule is reported at is the one rejected.
    const same = mergePolicy([input('machine-file', { session: { warnAfterSeconds: 200, lockAfterSeconds: 120 } })]);
    assert.deepEqual(same.rejections.map((x) => [x.source, x.key]), [['machine-file', 'session.warnAfterSeconds']]);
  });

  it('rejects a syslog-only upstream without a retention rule: every syslog value of the source that set it, not the others', () => {
    const r = mergePolicy([input('installer', { syslog: SYSLOG, auth: { helpDesk: 'Call 4357.' } }), input('machine-file', { logging: { level: 'warn' } })]);
    assert.equal(r.policy.syslog, undefined);
    assert.equal(r.policy.auth.helpDesk, 'Call 4357.');
    assert.equal(r.policy.logging.level, 'warn');
    assert.deepEqual(r.rejections.map((x) => [x.source, x.key]), Object.keys(SYSLOG).map((k) => ['installer', `syslog.${k}`]));
    for (const x of r.rejections) {
      assert.match(x.reason, /^syslog\.retentionWhenOnlyTransport: syslog is the only upstream/);
      assert.equal(x.fix, 'change the settings as the reason says, or remove this setting');
    }
  });

  it('accepts syslog alone once any source sets the retention rule, and syslog next to HTTPS from another source', () => {
    const retention = mergePolicy([input('group-policy', { syslog: { retentionWhenOnlyTransport: 'keep-until-budget' } }), input('machine-file', { syslog: SYSLOG })]);
    assert.deepEqual(retention.rejections, []);
    assert.equal(retention.policy.syslog?.host, 'siem.example.org');
    assert.equal(setting(retention, 'syslog.retentionWhenOnlyTransport').source, 'group-policy');
    const https = mergePolicy([input('mdm', { forwarding: { https: HTTPS } }), input('machine-file', { syslog: SYSLOG })]);
    assert.deepEqual(https.rejections, []);
    assert.equal(https.policy.syslog?.port, 6514);
    assert.equal(https.policy.forwarding.https?.url, HTTPS.url);
  });

  it('rejects a value of a section whose required fields no source sets, naming the missing field', () => {
    const r = mergePolicy([input('group-policy', { forwarding: { https: { url: HTTPS.url } } }), input('machine-file', { forwarding: { https: { servername: 'collector' } } })]);
    assert.equal(r.policy.forwarding.https, undefined);
    assert.deepEqual(
      r.rejections.map((x) => [x.source, x.key, x.reason, x.fix]),
      [
        ['group-policy', 'forwarding.https.url', 'needs forwarding.https.caFile as well, which no source sets', 'set forwarding.https.caFile in the same place, or remove this setting'],
        // Once the GPO's url is gone, the file's servername lacks the url too.
        ['machine-file', 'forwarding.https.servername', 'needs forwarding.https.url as well, which no source sets', 'set forwarding.https.url in the same place, or remove this setting'],
      ],
    );
  });

  it('completes a section from several sources when together they set every required field', () => {
    const r = mergePolicy([
      input('group-policy', { forwarding: { https: { url: HTTPS.url } } }),
      input('installer', { forwarding: { https: { caFile: HTTPS.caFile, clientCertFile: HTTPS.clientCertFile } } }),
      input('machine-file', { forwarding: { https: { clientKey: HTTPS.clientKey, url: 'https://other.example.org' } } }),
    ]);
    assert.deepEqual(r.rejections, []);
    assert.deepEqual(r.policy.forwarding.https && { ...r.policy.forwarding.https, requestTimeoutMs: undefined }, { ...HTTPS, requestTimeoutMs: undefined });
    assert.deepEqual(setting(r, 'forwarding.https.url').overrode, [{ source: 'machine-file', value: 'https://other.example.org' }]);
  });
});

describe('mergePolicy: values the schema cannot even look at', () => {
  it('rejects a malformed auth.origin (which a cross-field rule parses) instead of throwing', () => {
    for (const origin of ['text', '', 'https://', 'ftp://collector.example.org']) {
      const r = mergePolicy([input('group-policy', { auth: { origin } }), input('machine-file', { auth: { origin: 'https://lock.example.org' } })]);
      assert.equal(r.policy.auth.origin, 'https://lock.example.org', origin);
      assert.deepEqual(r.rejections.map((x) => [x.source, x.key, x.reason]), [['group-policy', 'auth.origin', 'the pages origin must be an http(s) URL such as http://localhost']], origin);
    }
  });
});

describe('acceptedValues', () => {
  it('says in words what each kind of setting takes', () => {
    const words = (key: string) => acceptedValues(settingByKey(key)!);
    assert.equal(words('session.osLockOnLock'), 'true or false');
    assert.equal(words('forwarding.batch.maxEvents'), 'a whole number from 1 to 10000');
    assert.equal(words('session.lockAfterSeconds'), 'a number of at least 1');
    assert.equal(words('session.emergencyMaxMinutes'), 'a number more than 0');
    assert.equal(words('session.tapOut'), 'one of lock, logoff, off');
    assert.equal(words('forwarding.https.url'), 'a URL such as https://host.example.org');
    assert.equal(words('syslog.host'), 'text (1–253 characters)');
    assert.equal(words('auth.badge.prefix'), 'text (at most 8 characters)');
    assert.equal(words('auth.enrollerRoles'), 'a list of text values (at least 1)');
    assert.equal(words('session.logoffAction'), 'one of {"kind":"os-logoff"} or {"kind":"command","argv":…} or {"kind":"agent-signout"}');
  });
});

/** A small deterministic PRNG (mulberry32), so a failing case can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A value that is sometimes right for the setting, often not. */
function someValue(s: PolicySetting, random: () => number): unknown {
  const good = (): unknown => {
    switch (s.kind) {
      case 'boolean':
        return random() < 0.5;
      case 'integer':
      case 'number':
        return s.schema.minimum !== undefined ? s.schema.minimum + Math.floor(random() * 1000) : Math.floor(random() * 2000);
      case 'enum':
        return s.choices[Math.floor(random() * s.choices.length)];
      case 'string':
        return s.schema.format === 'uri' ? 'https://collector.example.org' : `/etc/cwa/${s.path.at(-1)}`;
      case 'list':
        return s.itemKind === 'integer' ? [50, 90] : ['Enter'];
      case 'json':
        return s.key.endsWith('clientKey') ? { source: 'keychain', account: 'cwa-client' } : { kind: 'os-logoff' };
    }
  };
  const bad: unknown[] = [0, -1, 1e12, 'text', '', true, null, {}, [], [null], { kind: 'nope' }];
  return random() < 0.5 ? good() : bad[Math.floor(random() * bad.length)];
}

describe('mergePolicy: whatever comes in', () => {
  it('always yields a document that parses with the one schema to the policy, with each winner the highest value not rejected', () => {
    const settings = policySettings();
    const random = prng(20240611);
    for (let round = 0; round < 300; round++) {
      const inputs: SourceDocument[] = [];
      for (const name of SOURCE_NAMES) {
        if (random() < 0.25) continue;
        const doc: Record<string, unknown> = {};
        for (const s of settings) if (random() < 0.15) setValueAt(doc, s.path, someValue(s, random));
        if (random() < 0.1) doc.colour = 'blue';
        inputs.push(input(name, doc));
      }
      const label = `round ${round}: ${JSON.stringify(inputs)}`;
      const r = mergePolicy(inputs);
      const parsed = agentPolicySchema.safeParse(r.document);
      assert.ok(parsed.success, label);
      assert.deepEqual(parsed.data, r.policy, label);
      for (const e of r.settings) {
        const path = settingByKey(e.key)!.path;
        const offered = SOURCE_NAMES.flatMap((n) => {
          const doc = inputs.find((i) => i.source === n)?.document;
          const v = valueAt(doc, path);
          return v === undefined ? [] : [{ source: n, value: v }];
        });
        const at = e.source === 'default' ? offered.length : offered.findIndex((o) => o.source === e.source);
        assert.ok(at >= 0, `${label}\n${e.key} won from ${e.source}, which does not set it`);
        if (e.source !== 'default') assert.deepEqual(valueAt(r.document, path), offered[at]!.value, `${label}\n${e.key}`);
        else assert.equal(valueAt(r.document, path), undefined, `${label}\n${e.key}`);
        assert.deepEqual(e.rejected.map((x) => x.source), offered.slice(0, at).map((o) => o.source), `${label}\n${e.key}: every value above the winner was rejected`);
        assert.deepEqual(
          e.overrode.map(({ source, value }) => ({ source, value })),
          offered.slice(at + 1),
          `${label}\n${e.key}`,
        );
      }
    }
  });
});
