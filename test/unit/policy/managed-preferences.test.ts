// Policy from an MDM profile on macOS: the managed-preferences plist (XML or binary, as
// macOS may write either) becomes a policy document; values a plist can hold but no setting
// takes (<date>, <data>, huge integers) are rejected with their setting; a .mobileconfig's
// payload for our domain is found in both profile forms; a missing file is "absent" and a
// damaged one "unreadable". Binary plists are written with the plist package's own writer,
// an implementation independent of the bplist-parser the agent reads them with.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { mergePolicy } from '../../../main/policy/effective-policy';
import { MAC_PREFERENCE_DOMAIN } from '../../../main/policy/locations';
import { documentFromPlist, ManagedPreferencesSource, parsePropertyList, payloadOfProfile, PlistError } from '../../../main/policy/managed-preferences';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cwa-managed-prefs-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// plist is an ES module only: imported where used, as the agent does.
// Values are `unknown` here: bigints and malformed shapes are written on purpose.
async function xml(value: unknown): Promise<Buffer> {
  const { build } = await import('plist');
  return Buffer.from(build(value as Parameters<typeof build>[0]));
}

async function binary(value: unknown): Promise<Buffer> {
  const { buildBinary } = await import('plist');
  return Buffer.from(buildBinary(value as Parameters<typeof buildBinary>[0]));
}

/** A managed-preferences file as macOS writes it (root-owned, not writable by others). */
function deploy(dir: string, bytes: Buffer): string {
  const path = join(dir, `${MAC_PREFERENCE_DOMAIN}.plist`);
  writeFileSync(path, bytes);
  chmodSync(path, 0o644);
  return path;
}

const WHERE = 'MDM profile (test)';

const POLICY = {
  session: { profile: 'emergency-department', lockAfterSeconds: 150, graceHours: 2.5, osLockOnLock: true, logoffAction: { kind: 'os-logoff' } },
  forwarding: { buffer: { budgetBytes: 2 ** 33, alarmPercents: [70, 90] } },
  auth: { enrollerRoles: ['charge-nurse', 'it'], helpDesk: 'Call extension 4357.' },
};

describe('parsePropertyList and documentFromPlist', () => {
  for (const [format, encode] of [
    ['XML', xml],
    ['binary', binary],
  ] as const) {
    it(`maps a ${format} plist's integers, reals, booleans, strings, arrays and dictionaries to the policy document`, async () => {
      const bytes = await encode({ PayloadUUID: 'B3C9D2E1-0000-4000-8000-000000000001', PayloadVersion: 1, ...POLICY });
      assert.equal(bytes.subarray(0, 8).toString('latin1') === 'bplist00', format === 'binary');
      const { document, rejected } = documentFromPlist(await parsePropertyList(bytes), WHERE);
      assert.deepEqual(rejected, []);
      assert.deepEqual(document, POLICY, 'Payload* bookkeeping keys are no settings and are skipped');
      const merged = mergePolicy([{ source: 'mdm', where: WHERE, document }]);
      assert.deepEqual(merged.rejections, []);
      assert.equal(merged.policy.session.lockAfterSeconds, 150);
      assert.equal(merged.policy.forwarding.buffer.budgetBytes, 2 ** 33);
    });
  }

  it('takes a structured setting written as JSON text in a <string>, as the ADMX does, and leaves broken JSON for the schema to reject', async () => {
    const good = documentFromPlist(await parsePropertyList(await binary({ session: { logoffAction: '{"kind":"command","argv":["/usr/local/bin/cwa-logoff"]}' } })), WHERE);
    assert.deepEqual(good.document, { session: { logoffAction: { kind: 'command', argv: ['/usr/local/bin/cwa-logoff'] } } });
    const broken = documentFromPlist(await parsePropertyList(await xml({ session: { logoffAction: '{"kind": os-logoff}', tapOut: '{not json either}' } })), WHERE);
    assert.deepEqual(broken.document, { session: { logoffAction: '{"kind": os-logoff}', tapOut: '{not json either}' } }, 'only json settings are parsed');
    const merged = mergePolicy([{ source: 'mdm', where: WHERE, document: broken.document }]);
    assert.deepEqual(merged.rejections.map((r) => r.key), ['session.logoffAction', 'session.tapOut']);
  });

  it('rejects <date> and <data> values, and integers beyond 2^53, with the setting they were given for', async () => {
    const bytes = await binary({
      session: { lockAfterSeconds: new Date('2025-01-01T08:00:00Z'), tapOut: 'off' },
      forwarding: { buffer: { budgetBytes: 2n ** 62n } },
      auth: { enrollerRoles: ['it', new Uint8Array([1, 2, 3])], helpDesk: new Uint8Array([0xde, 0xad]) },
    });
    const { document, rejected } = documentFromPlist(await parsePropertyList(bytes), WHERE);
    assert.deepEqual(document, { session: { tapOut: 'off' }, forwarding: { buffer: {} }, auth: {} }, 'the values that map still count');
    assert.deepEqual(
      rejected.map((r) => [r.key, r.reason, r.value, r.where]),
      [
        ['session.lockAfterSeconds', 'a <date> value, which no policy setting takes', '2025-01-01T08:00:00.000Z', WHERE],
        ['forwarding.buffer.budgetBytes', 'integer too large', (2n ** 62n).toString(), WHERE],
        ['auth.enrollerRoles', '1: a <data> value, which no policy setting takes', null, WHERE],
        ['auth.helpDesk', 'a <data> value, which no policy setting takes', null, WHERE],
      ],
    );
    assert.equal(rejected[0]!.fix, 'use <string>, <integer>, <real>, <true/>/<false/>, <array> or <dict>');
    assert.equal(rejected[1]!.fix, 'use a smaller <integer>');

    // In the merge they are that setting's rejections, and the next source or the default applies.
    const merged = mergePolicy([
      { source: 'mdm', where: WHERE, document, rejected },
      { source: 'machine-file', where: 'policy file (test)', document: { auth: { enrollerRoles: ['enroller', 'it'] } } },
    ]);
    const setting = (key: string) => merged.settings.find((s) => s.key === key)!;
    assert.deepEqual(setting('auth.enrollerRoles').value, ['enroller', 'it']);
    assert.deepEqual(setting('auth.enrollerRoles').rejected.map((r) => r.source), ['mdm']);
    assert.equal(setting('session.lockAfterSeconds').value, 300);
    assert.deepEqual(setting('session.lockAfterSeconds').rejected.map((r) => r.reason), ['a <date> value, which no policy setting takes']);
  });

  it('leaves type mismatches the plist can express (a string for a number, an integer for a boolean) to the schema, per setting', async () => {
    const { document, rejected } = documentFromPlist(await parsePropertyList(await xml({ session: { lockAfterSeconds: '120', osLockOnLock: 1, tapOut: 'off' } })), WHERE);
    assert.deepEqual(rejected, []);
    const merged = mergePolicy([{ source: 'mdm', where: WHERE, document }]);
    assert.deepEqual(
      merged.rejections.map((r) => [r.key, r.fix]),
      [
        ['session.lockAfterSeconds', 'use a number of at least 1'],
        ['session.osLockOnLock', 'use true or false'],
      ],
    );
    assert.equal(merged.policy.session.tapOut, 'off');
  });

  it('refuses what is no property list, or holds no dictionary at the top', async () => {
    for (const bytes of [Buffer.from('garbage'), Buffer.from('bplist00 but then nothing of the sort'), Buffer.alloc(0)]) {
      await assert.rejects(parsePropertyList(bytes), (err: unknown) => err instanceof PlistError && /^not a valid property list \(/.test(err.message));
    }
    for (const root of [await parsePropertyList(await binary(['session'])), await parsePropertyList(await xml('session'))]) {
      assert.throws(() => documentFromPlist(root, WHERE), new PlistError('the property list does not hold a dictionary at the top'));
    }
  });
});

describe('payloadOfProfile (.mobileconfig)', () => {
  it('finds the payload whose PayloadType is our domain', async () => {
    const profile = {
      PayloadType: 'Configuration',
      PayloadContent: [
        { PayloadType: 'com.apple.wifi.managed', SSID_STR: 'ward-3' },
        { PayloadType: MAC_PREFERENCE_DOMAIN, PayloadUUID: 'B3C9D2E1-0000-4000-8000-000000000002', ...POLICY },
      ],
    };
    const payload = payloadOfProfile(await parsePropertyList(await xml(profile)));
    assert.deepEqual(documentFromPlist(payload, WHERE).document, POLICY);
  });

  it('finds it in the com.apple.ManagedClient.preferences form (domain → Forced → mcx_preference_settings)', async () => {
    const profile = {
      PayloadContent: [
        {
          PayloadType: 'com.apple.ManagedClient.preferences',
          PayloadContent: { [MAC_PREFERENCE_DOMAIN]: { Forced: [{ mcx_preference_settings: { session: { tapOut: 'logoff' } } }] } },
        },
      ],
    };
    assert.deepEqual(payloadOfProfile(await parsePropertyList(await binary(profile))), { session: { tapOut: 'logoff' } });
  });

  it('says what is wrong when the profile has no payload for our domain, or is no profile', () => {
    assert.throws(() => payloadOfProfile({ PayloadContent: [{ PayloadType: 'com.apple.wifi.managed' }, 'noise'] }), new PlistError(`the profile has no payload for ${MAC_PREFERENCE_DOMAIN}`));
    assert.throws(() => payloadOfProfile({ session: {} }), /not a configuration profile \(no PayloadContent array\)/);
    assert.throws(() => payloadOfProfile([]), /not a configuration profile/);
  });

  it('reads the shipped template, whose placeholders the merge rejects one by one', async () => {
    const bytes = readFileSync(resolve(__dirname, '../../../../build/policy/org.clinicalworkstation.agent.mobileconfig'));
    const { document, rejected } = documentFromPlist(payloadOfProfile(await parsePropertyList(bytes)), WHERE);
    assert.deepEqual(rejected, []);
    assert.equal((document as { session: { profile: string } }).session.profile, 'shared-clinical');
    const merged = mergePolicy([{ source: 'mdm', where: WHERE, document }]);
    const placeholders = merged.rejections.filter((r) => typeof r.value === 'string' && r.value.startsWith('REPLACE'));
    assert.ok(placeholders.length > 0);
    assert.ok(placeholders.some((r) => r.key === 'session.lockAfterSeconds'), placeholders.map((r) => r.key).join(', '));
    assert.equal(merged.policy.session.lockAfterSeconds, 300);
  });
});

describe('ManagedPreferencesSource', () => {
  it('is absent when no profile is installed (no file, or no folder)', async () => {
    const dir = tempDir();
    assert.deepEqual(await new ManagedPreferencesSource(join(dir, 'missing.plist')).read(), { state: 'absent' });
    writeFileSync(join(dir, 'a-file'), '');
    assert.deepEqual(await new ManagedPreferencesSource(join(dir, 'a-file', 'x.plist')).read(), { state: 'absent' });
  });

  it('reads a binary managed-preferences file with its hash and the rejections found while reading', async () => {
    const dir = tempDir();
    const bytes = await binary({ PayloadUUID: 'B3C9D2E1-0000-4000-8000-000000000003', session: { tapOut: 'off', lockAfterSeconds: new Date(0) } });
    const path = deploy(dir, bytes);
    const source = new ManagedPreferencesSource(path);
    assert.deepEqual([source.name, source.location], ['mdm', path]);
    const reading = await source.read();
    assert.equal(reading.state, 'ok');
    if (reading.state !== 'ok') return;
    assert.deepEqual(reading.document, { session: { tapOut: 'off' } });
    assert.equal(reading.origin, path);
    assert.equal(reading.hash, createHash('sha256').update(bytes).digest('hex'));
    assert.deepEqual(reading.rejected?.map((r) => [r.key, r.where]), [['session.lockAfterSeconds', `MDM profile ${path}`]]);
  });

  it('is unreadable, with a fix, when the file is garbage or holds no dictionary', async () => {
    const dir = tempDir();
    for (const bytes of [Buffer.from('not a plist at all'), Buffer.from('bplist00\u0000\u0001'), await xml(['a', 'list'])]) {
      const path = deploy(dir, bytes);
      const reading = await new ManagedPreferencesSource(path).read();
      assert.equal(reading.state, 'unreadable', bytes.toString('latin1'));
      if (reading.state !== 'unreadable') continue;
      assert.ok(reading.why.startsWith(`${path}: `), reading.why);
      assert.match(reading.why, /not a valid property list|does not hold a dictionary/);
      assert.match(reading.fix ?? '', /reinstall the configuration profile \(agentctl policy check PROFILE\.mobileconfig/);
    }
  });

  it('is unreadable when the path cannot be read as a file', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'a-folder.plist'));
    const reading = await new ManagedPreferencesSource(join(dir, 'a-folder.plist')).read();
    assert.equal(reading.state, 'unreadable');
    assert.match(reading.state === 'unreadable' ? reading.why : '', /cannot be read \(EISDIR\)/);
  });

  it('refuses a file other accounts could have changed (macOS writes it as root, owner-only)', { skip: process.platform === 'win32' && 'no managed preferences on Windows' }, async () => {
    const dir = tempDir();
    const path = deploy(dir, await xml({ session: { lockAfterSeconds: 900 } }));
    chmodSync(path, 0o666);
    const reading = await new ManagedPreferencesSource(path).read();
    assert.deepEqual(reading.state === 'unreadable' && [reading.why, reading.fix], ['the file can be changed by other accounts (mode 666)', 'reinstall the configuration profile; macOS writes this file as root']);
  });
});
