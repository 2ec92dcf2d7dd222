// Bad input at the collector, over real mutual TLS: malformed and oversize bodies, a
// directory request from an unregistered or revoked device or with no signature, a device
// key signing for another device, a request replayed (to this or another collector on the
// same database) and a replayed enrolment, a forged or stale enroller proof — each a clear
// 4xx, nothing stored, and the collector keeps serving.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import { createPublicKey, generateKeyPairSync, randomBytes, randomUUID, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestPki, type Ca, type CertFiles } from '../../../collector/demo-pki';
import { startCollector, type CollectorServer } from '../../../collector/server';
import { CollectorStore } from '../../../collector/store/collector-store';
import { SqliteDb } from '../../../collector/store/sqlite';
import { buildEvent, GENESIS_HASH } from '../../../main/audit/event';
import { canonicalJson } from '../../../main/audit/canonical-json';
import { chainHash } from '../../../main/audit/seal';
import { DIRECTORY_CHANGES_PATH, DIRECTORY_PATH, DIRECTORY_STREAM_PATH } from '../../../main/auth/directory-wire';
import { keyIdOf } from '../../../main/platform/device-identity';
import { signRequest } from '../../../main/forward/request-signature';
import { EVENTS_PATH } from '../../../main/forward/wire-contract';
import { until } from '../../support/until';

interface Device {
  readonly id: string;
  readonly key: KeyObject;
  readonly pem: string;
}

function device(id: string): Device {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { id, key: privateKey, pem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

describe('collector: bad input', () => {
  let pki: TestPki;
  let ca: Ca;
  let client: CertFiles;
  let serverCert: CertFiles;
  let dir: string;
  let store: CollectorStore;
  let collector: CollectorServer;
  const a = device('ws-a');
  const b = device('ws-b');
  const stranger = device('ws-unregistered');
  const gone = device('ws-revoked');

  before(async () => {
    pki = new TestPki();
    ca = pki.createCa('hospital-ca');
    serverCert = pki.issue(ca, 'collector', { kind: 'server', dns: ['localhost'], ips: ['127.0.0.1'] });
    client = pki.issue(ca, 'workstation', { kind: 'client' });
    dir = mkdtempSync(join(tmpdir(), 'cwa-bad-input-'));
    store = await CollectorStore.open(new SqliteDb(join(dir, 'collector.db')));
    for (const d of [a, b, gone]) await store.registerDevice({ deviceId: d.id, publicKeyPem: d.pem, label: '' });
    await store.revokeDevice(gone.id);
    await store.enrol({ userId: 'dana.reyes', profile: { displayName: 'Dana Reyes', roles: ['enroller'] }, badgeToken: '1'.repeat(64), pinVerifier: 'scrypt1$1024$8$1$AAAAAAAAAAAAAAAAAAAAAA$' + 'A'.repeat(43) });
    collector = await startCollector({ tls: { ca: ca.cert, cert: serverCert.cert, key: serverCert.key }, store, orgKey: randomBytes(32), maxEventBodyBytes: 256 * 1024, intakeBudgetBytes: 300 * 1024, streamCheckMs: 100 });
  });
  after(async () => {
    await collector?.close();
    await store?.close();
    pki?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  function send(
    method: string,
    path: string,
    body: Buffer | string | null,
    headers: Record<string, string> = {},
    to: CollectorServer = collector,
  ): Promise<{ status: number; json: Record<string, unknown> | null }> {
    const payload = body === null ? Buffer.alloc(0) : Buffer.isBuffer(body) ? body : Buffer.from(body);
    return new Promise((resolve, reject) => {
      const req = https.request(`${to.url}${path}`, {
        method,
        ca: ca.cert,
        cert: client.cert,
        key: client.key,
        servername: 'localhost',
        headers: { 'content-type': 'application/json', 'content-length': payload.length, ...headers },
      });
      req.on('response', (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? (JSON.parse(text) as Record<string, unknown>) : null }));
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  const signed = (d: Device, method: string, path: string, body: Buffer, claimed = d.id) => {
    const h = signRequest({ deviceId: d.id, sign: (data) => sign(null, data, d.key) }, method, path, body);
    return { ...h, 'x-cwa-device': claimed };
  };

  /** A sealed auth.pin.success for enrolment, signed by `d` (a valid proof when d is the sender). */
  function proof(d: Device, enroller = 'dana.reyes', minutesAgo = 0) {
    const event = buildEvent(
      { action: 'auth.pin.success', user: enroller, method: 'badge+pin', details: { purpose: 'enrolment' } },
      { seq: 7, id: randomUUID(), time: new Date(Date.now() - minutesAgo * 60_000).toISOString(), device: d.id, keyId: keyIdOf(createPublicKey(d.key)), prevHash: GENESIS_HASH },
    );
    const body = canonicalJson(event);
    const hash = chainHash(GENESIS_HASH, body);
    return { seq: 7, body, hash: hash.toString('hex'), sig: sign(null, hash, d.key).toString('base64') };
  }

  const enrolment = (p: ReturnType<typeof proof>, id = randomUUID()) => ({
    kind: 'enrol',
    id,
    enroller: 'dana.reyes',
    proof: p,
    userId: 'kim.nguyen',
    profile: { displayName: 'Kim Nguyen', roles: ['clinician'] },
    badgeToken: '2'.repeat(64),
    pinVerifier: 'scrypt1$1024$8$1$AAAAAAAAAAAAAAAAAAAAAA$' + 'A'.repeat(43),
  });

  async function unchanged<T>(f: () => Promise<T>): Promise<T> {
    const version = await store.version();
    const events = await store.countEvents();
    const r = await f();
    assert.equal(await store.version(), version, 'the directory did not change');
    assert.equal(await store.countEvents(), events, 'no event was stored');
    return r;
  }

  it('refuses malformed and oversize event batches with 400 and 413', async () => {
    await unchanged(async () => {
      assert.equal((await send('POST', EVENTS_PATH, '{not json')).status, 400);
      const r = await send('POST', EVENTS_PATH, JSON.stringify({ device: 'ws-a', keyId: 'x', events: [] }));
      assert.equal(r.status, 400);
      assert.match(String(r.json?.message), /keyId/);
      assert.equal((await send('POST', EVENTS_PATH, Buffer.alloc(300 * 1024, 0x20))).status, 413);
      const unknown = await send('POST', EVENTS_PATH, JSON.stringify({ device: 'ws-unregistered', keyId: '0'.repeat(32), events: [{ seq: 1, body: '{}', hash: '0'.repeat(64), sig: `${'A'.repeat(86)}==` }] }));
      assert.equal(unknown.status, 403);
      assert.equal(unknown.json?.reason, 'unknown-device');
    });
  });

  it('answers a directory request from an unregistered or revoked device, or an unsigned one, with 403 and nothing', async () => {
    await unchanged(async () => {
      for (const [headers, reason] of [
        [{}, 'unsigned'],
        [signed(stranger, 'GET', `${DIRECTORY_PATH}?since=0`, Buffer.alloc(0)), 'unknown-device'],
        [signed(gone, 'GET', `${DIRECTORY_PATH}?since=0`, Buffer.alloc(0)), 'revoked-device'],
      ] as const) {
        const r = await send('GET', `${DIRECTORY_PATH}?since=0`, null, headers);
        assert.equal(r.status, 403);
        assert.equal(r.json?.reason, reason);
        assert.equal(r.json?.users, undefined, 'no directory data');
      }
    });
  });

  it('answers 503 to a batch that would take the intake past its memory budget, and takes it once there is room', async () => {
    const big = 200 * 1024;
    // A slow sender holds 200 KiB of the 300 KiB budget while its body trickles in.
    const requestsBefore = collector.counts().requests;
    const slow = https.request(`${collector.url}${EVENTS_PATH}`, { method: 'POST', ca: ca.cert, cert: client.cert, key: client.key, servername: 'localhost', headers: { 'content-type': 'application/json', 'content-length': big } });
    const slowReply = new Promise<number>((resolve, reject) => slow.on('response', (r) => { r.resume(); resolve(r.statusCode ?? 0); }).on('error', reject));
    slow.write(Buffer.alloc(big / 2, 0x20));
    await until('the slow batch to be under way', () => collector.counts().requests > requestsBefore, 5_000);
    const busy = await send('POST', EVENTS_PATH, Buffer.alloc(big, 0x20));
    assert.equal(busy.status, 503);
    assert.equal(busy.json?.reason, 'busy');
    slow.end(Buffer.alloc(big / 2, 0x20));
    assert.equal(await slowReply, 400, 'the slow batch was read (and refused as not JSON)');
    const later = await send('POST', EVENTS_PATH, Buffer.alloc(big, 0x20));
    assert.equal(later.status, 400, 'with room again the batch is read');
  });

  it('closes the directory stream of a device revoked while it was open', async () => {
    const late = device('ws-revoked-later');
    await store.registerDevice({ deviceId: late.id, publicKeyPem: late.pem, label: '' });
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = https.request(`${collector.url}${DIRECTORY_STREAM_PATH}`, {
        method: 'GET',
        ca: ca.cert,
        cert: client.cert,
        key: client.key,
        servername: 'localhost',
        headers: signed(late, 'GET', DIRECTORY_STREAM_PATH, Buffer.alloc(0)),
      });
      req.on('response', resolve).on('error', reject);
      req.end();
    });
    assert.equal(res.statusCode, 200);
    res.resume();
    let ended = false;
    res.once('end', () => (ended = true)).once('close', () => (ended = true));
    assert.equal(collector.streams(), 1);
    await store.revokeDevice(late.id);
    await until('the collector to close the stream', () => ended && collector.streams() === 0, 5_000);
  });

  it("refuses a device key signing for another device, and a replayed request", async () => {
    await unchanged(async () => {
      const forged = await send('GET', `${DIRECTORY_PATH}?since=0`, null, signed(a, 'GET', `${DIRECTORY_PATH}?since=0`, Buffer.alloc(0), b.id));
      assert.equal(forged.status, 403);
      assert.equal(forged.json?.reason, 'bad-signature');
      const headers = signed(a, 'GET', `${DIRECTORY_PATH}?since=0`, Buffer.alloc(0));
      assert.equal((await send('GET', `${DIRECTORY_PATH}?since=0`, null, headers)).status, 200);
      const again = await send('GET', `${DIRECTORY_PATH}?since=0`, null, headers);
      assert.equal(again.status, 403);
      assert.equal(again.json?.reason, 'replayed');
    });
  });

  it('refuses a request replayed to another collector instance on the same database', async () => {
    // A second collector process on the same database, as behind a load balancer.
    const second = await CollectorStore.open(new SqliteDb(join(dir, 'collector.db')));
    const other = await startCollector({ tls: { ca: ca.cert, cert: serverCert.cert, key: serverCert.key }, store: second, orgKey: randomBytes(32) });
    try {
      await unchanged(async () => {
        const headers = signed(a, 'GET', `${DIRECTORY_PATH}?since=0`, Buffer.alloc(0));
        assert.equal((await send('GET', `${DIRECTORY_PATH}?since=0`, null, headers)).status, 200);
        const replayed = await send('GET', `${DIRECTORY_PATH}?since=0`, null, headers, other);
        assert.equal(replayed.status, 403);
        assert.equal(replayed.json?.reason, 'replayed');
        // and the other way round
        const first = signed(a, 'GET', `${DIRECTORY_PATH}?since=0`, Buffer.alloc(0));
        assert.equal((await send('GET', `${DIRECTORY_PATH}?since=0`, null, first, other)).status, 200);
        assert.equal((await send('GET', `${DIRECTORY_PATH}?since=0`, null, first)).json?.reason, 'replayed');
      });
    } finally {
      await other.close();
      await second.close();
    }
  });

  it('refuses malformed changes, forged or stale proofs, and a replayed enrolment; the one good enrolment lands once', async () => {
    const post = (d: Device, body: unknown) => {
      const raw = Buffer.from(JSON.stringify(body));
      return send('POST', DIRECTORY_CHANGES_PATH, raw, signed(d, 'POST', DIRECTORY_CHANGES_PATH, raw));
    };
    await unchanged(async () => {
      assert.equal((await post(a, { kind: 'enrol', id: 'not-a-uuid' })).status, 400);
      const otherDevice = await post(a, enrolment(proof(b)));
      assert.equal(otherDevice.status, 422, 'a proof signed by another device');
      assert.equal(otherDevice.json?.reason, 'bad-proof');
      assert.equal((await post(a, enrolment(proof(a, 'dana.reyes', 60)))).json?.reason, 'stale-proof');
      const notEnroller = await post(a, { ...enrolment(proof(a, 'kim.nguyen')), enroller: 'kim.nguyen' });
      assert.equal(notEnroller.status, 403);
      assert.equal(notEnroller.json?.reason, 'not-enroller');
    });
    const good = enrolment(proof(a));
    const first = await post(a, good);
    assert.equal(first.status, 200, JSON.stringify(first.json));
    const v = await store.version();
    const replay = await unchanged(() => post(a, good));
    assert.equal(replay.status, 409);
    assert.equal(replay.json?.reason, 'replayed');
    const bound = await unchanged(() => post(b, { ...enrolment(proof(b)), userId: 'sam.okafor', profile: { displayName: 'Sam Okafor', roles: [] } }));
    assert.equal(bound.status, 409);
    assert.equal(bound.json?.reason, 'badge-bound');
    assert.match(String(bound.json?.message), /already belongs to someone else/);
    assert.equal(await store.version(), v);
  });

  it('keeps serving after all of that', async () => {
    const r = await send('GET', `${DIRECTORY_PATH}?since=0`, null, signed(b, 'GET', `${DIRECTORY_PATH}?since=0`, Buffer.alloc(0)));
    assert.equal(r.status, 200);
    assert.deepEqual((r.json?.users as { id: string }[]).map((u) => u.id).sort(), ['dana.reyes', 'kim.nguyen']);
    assert.ok(collector.counts().refused >= 10);
  });
});
