// The redaction backstop of the log and the diagnostics bundle: what it masks (key
// material, card-number-like runs, PINs, secret-named and free-text fields) and what it
// keeps, because the help desk needs it (ids, hashes, counts, paths, times).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { isSensitiveKey, REDACTED, redactText, redactValue } from '../../../main/platform/redact';

/** A synthetic 32-byte key as base64 that has upper case, lower case and digits (as nearly every random one does). */
function keyLikeBase64(): string {
  for (;;) {
    const b64 = randomBytes(32).toString('base64');
    if (/[A-Z]/.test(b64) && /[a-z]/.test(b64) && /\d/.test(b64)) return b64;
  }
}

function assertMasked(text: string, secret: string): void {
  const out = redactText(text);
  assert.ok(!out.includes(secret), `"${secret}" survived in: ${out}`);
  assert.notEqual(out, text);
}

function assertKept(text: string): void {
  assert.equal(redactText(text), text);
}

describe('redactText masks', () => {
  it('a whole PEM private key, and a PEM block whose END was cut off', () => {
    const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const body = pem.split('\n')[1]!;
    const out = redactText(`loading client key failed: ${pem.trimEnd()} (check the file)`);
    assert.ok(!out.includes(body) && !out.includes('PRIVATE KEY-----\n'), out);
    assert.match(out, /^loading client key failed: \[PEM block redacted\] \(check the file\)$/);
    const cut = redactText(`bad key: ${pem.slice(0, 40)}`);
    assert.equal(cut, 'bad key: [PEM block redacted]');
    assert.equal(redactText('header only -----BEGIN RSA PRIVATE KEY'), 'header only [PEM block redacted]');
  });

  it('base64 key material (a 32-byte organisation key) wherever it stands in a sentence', () => {
    const key = keyLikeBase64();
    assertMasked(`org key ${key} rejected`, key);
    assertMasked(`key=${key}`, key);
    assert.equal(redactText(`(${key})`), `(${REDACTED})`);
  });

  it('card numbers read as digits (8 or more) and as upper-case hex', () => {
    assert.equal(redactText('badge 0012345678 not enrolled'), `badge ${REDACTED} not enrolled`);
    assert.equal(redactText('card 8675309421337'), `card ${REDACTED}`);
    assert.equal(redactText('tap 00A1B2C3D4 refused'), `tap ${REDACTED} refused`);
    assert.equal(redactText('UID DEADBEEF4242CAFE'), `UID ${REDACTED}`);
    // Hex longer than a SHA-256 hash is not a hash.
    const long = 'ab'.repeat(40);
    assert.equal(redactText(`blob ${long}`), `blob ${REDACTED}`);
  });

  it('PINs written as an assignment, whatever the case and separator', () => {
    assert.equal(redactText('pin=1234'), `pin=${REDACTED}`);
    assert.equal(redactText('PIN: 482619'), `PIN: ${REDACTED}`);
    assert.equal(redactText('{pin : 7391}'), `{pin : ${REDACTED}}`);
  });

  it('values assigned to secret-named words, including compound names and bearer tokens', () => {
    for (const [text, secret] of [
      ['password=hunter22 then', 'hunter22'],
      ['passphrase: "correct horse"', 'correct horse'],
      ['GET https://collector.example/ingest?token=zq81 failed', 'zq81'],
      ['GET https://collector.example/ingest?access_token=zq82&x=1 failed', 'zq82'],
      ['client_secret=zq83', 'zq83'],
      ['X-Api-Key: zq84', 'zq84'],
      ['private_key=zq85', 'zq85'],
      ['Authorization: Bearer zq86.abc', 'zq86.abc'],
    ] as const) {
      assertMasked(text, secret);
    }
  });
});

describe('redactText keeps what the help desk needs', () => {
  it('UUIDs, whatever their digits look like, and lower- or upper-case', () => {
    // All-digit groups are where a card-number pattern could bite.
    assertKept('event 01934567-89ab-7def-8123-456789012345 sent');
    assertKept('device GUID 5F3A9C21-7B44-4E0A-9D1E-0C2B8A7F6E51');
    for (let i = 0; i < 200; i++) assertKept(`id ${randomUUID()}`);
  });

  it('lower-case SHA-256 hashes and their prefixes, key ids and device ids', () => {
    assertKept(`policy sha256 ${'0123456789abcdef'.repeat(4)}`);
    assertKept('chain head 9f86d081884c7d65 (seq 42)');
    assertKept('key id 3b7d0f0e2a1c4d5e6f708192a3b4c5d6');
  });

  it('byte and millisecond counts, small numbers, ISO times', () => {
    assertKept('audit.db is 123456789 bytes');
    assertKept('request took 12345678 ms');
    assertKept('seq 1234 of 9999, 3 tries left');
    assertKept('since 2026-11-30T08:59:50.123Z (2026-11-30 09:59:50 UTC+01:00)');
  });

  it("paths of the agent's files on every OS", () => {
    assertKept('/var/lib/clinical-workstation-agent/logs/agent1.log');
    assertKept('/Library/Application Support/ClinicalWorkstationAgent/status.sock');
    assertKept('C:\\ProgramData\\ClinicalWorkstationAgent\\logs\\agent.log');
    assertKept('/etc/clinical-workstation-agent/policy.json');
    assertKept('/tmp/cwa-help-desk-Xr7kQ2/data/audit.db');
  });

  it('plain sentences, codes and user ids', () => {
    assertKept('dana.reyes unlocked with badge + PIN (a new session).');
    assertKept('session/presenter: overlay window failed to open');
  });
});

describe('redactValue', () => {
  it('masks scalars under secret-named and free-text keys, walks objects under them, keeps the rest', () => {
    const input = {
      pin: '4826',
      pins: ['1111'],
      badgeNumber: '0012345678',
      cardUid: 'A1B2',
      clientKey: { source: 'file', path: '/etc/cwa/client.key' },
      privateKey: 'abc',
      password: 'p',
      apiToken: 't',
      authorization: 'Basic x',
      displayName: 'Dana Reyes',
      reasonText: 'bed 12 crashing',
      notes: 'free words',
      keyId: '3b7d0f0e2a1c4d5e',
      key: 'auth.pin.maxLength',
      user: 'dana.reyes',
      bytes: 123456789,
      nested: { deep: { sessionToken: 'zz', ok: 'fine' } },
      list: [{ pin: 1234 }, 'card 0087654321'],
    };
    assert.deepEqual(redactValue(input), {
      pin: REDACTED,
      pins: [REDACTED],
      badgeNumber: REDACTED,
      cardUid: REDACTED,
      clientKey: { source: 'file', path: '/etc/cwa/client.key' },
      privateKey: REDACTED,
      password: REDACTED,
      apiToken: REDACTED,
      authorization: REDACTED,
      displayName: REDACTED,
      reasonText: REDACTED,
      notes: REDACTED,
      keyId: '3b7d0f0e2a1c4d5e',
      key: 'auth.pin.maxLength',
      user: 'dana.reyes',
      bytes: 123456789,
      nested: { deep: { sessionToken: REDACTED, ok: 'fine' } },
      list: [{ pin: REDACTED }, `card ${REDACTED}`],
    });
  });

  it("judges a policy view's values by the setting its entry names (a rejected unknown setting can hold anything)", () => {
    const view = {
      effective: [
        { key: 'forwarding.https.clientKey', value: { source: 'file', path: '/etc/cwa/client.key' }, overrode: [], rejected: [] },
        { key: 'auth.pin.maxLength', value: 12, overrode: [{ source: 'file', value: 8 }], rejected: [] },
      ],
      rejections: [
        { key: 'collectorPassword', source: 'file', value: 'pw-7731', reason: 'unknown setting (check the spelling)' },
        { key: 'notes', source: 'file', value: 'door code 4411', reason: 'unknown setting (check the spelling)' },
        { key: 'sync.apiToken', source: 'registry', value: ['t-1'], reason: 'unknown setting (check the spelling)' },
      ],
    };
    assert.deepEqual(redactValue(view), {
      effective: [
        { key: 'forwarding.https.clientKey', value: { source: 'file', path: '/etc/cwa/client.key' }, overrode: [], rejected: [] },
        { key: 'auth.pin.maxLength', value: 12, overrode: [{ source: 'file', value: 8 }], rejected: [] },
      ],
      rejections: [
        { key: 'collectorPassword', source: 'file', value: REDACTED, reason: 'unknown setting (check the spelling)' },
        { key: 'notes', source: 'file', value: REDACTED, reason: 'unknown setting (check the spelling)' },
        { key: 'sync.apiToken', source: 'registry', value: [REDACTED], reason: 'unknown setting (check the spelling)' },
      ],
    });
  });

  it('reduces an Error to its name and redacted message, and survives cycles and depth', () => {
    const err = new Error('connect ECONNREFUSED https://c.example/x?token=abc9');
    assert.deepEqual(redactValue({ err }), { err: { name: 'Error', message: `connect ECONNREFUSED https://c.example/x?token=${REDACTED}` } });
    const loop: Record<string, unknown> = { a: 1 };
    loop.self = loop;
    assert.deepEqual(redactValue(loop), { a: 1, self: '[omitted]' });
    let deep: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < 40; i++) deep = { down: deep };
    assert.ok(JSON.stringify(redactValue(deep)).includes('[omitted]'));
  });

  it('isSensitiveKey: compound names ending in key are secrets, keyId and a bare key are not', () => {
    for (const k of ['pin', 'badge_number', 'clientKey', 'signing-key', 'orgKeys', 'Cookie', 'displayName', 'full_name', 'PatientName']) assert.equal(isSensitiveKey(k), true, k);
    for (const k of ['key', 'keyId', 'user', 'path', 'message', 'level', 'seq', '']) assert.equal(isSensitiveKey(k), false, k);
  });
});
