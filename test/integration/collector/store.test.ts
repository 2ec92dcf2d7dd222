// The collector's storage, the same suite on SQLite and on a real PostgreSQL server:
// devices, chained event intake with its head check, the directory and its version,
// conflicts and replays, organisation-wide lockout, FIDO2 counters, the admin audit.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { CollectorStore } from '../../../collector/store/collector-store';
import { SCHEMA_VERSION } from '../../../collector/store/schema';
import { GENESIS_HASH } from '../../../main/audit/event';
import { DirectoryConflictError } from '../../../main/auth/directory';
import type { DirectoryChange } from '../../../main/auth/directory-wire';
import { BACKENDS } from '../../support/collector-backends';

const pem = () => generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
const token = (c: string) => c.repeat(64);
const PROOF = { seq: 1, body: '{}', hash: '0'.repeat(64), sig: `${'A'.repeat(86)}==` };
const enrol = (userId: string, extra: Partial<Extract<DirectoryChange, { kind: 'enrol' }>> = {}): DirectoryChange => ({
  kind: 'enrol',
  id: randomUUID(),
  enroller: 'dana.reyes',
  proof: PROOF,
  userId,
  profile: { displayName: userId, roles: ['clinician'] },
  badgeToken: token('a'),
  pinVerifier: 'scrypt1$1024$8$1$AAAAAAAAAAAAAAAAAAAAAA$' + 'A'.repeat(43),
  ...extra,
});

for (const make of BACKENDS) {
  const backend = make();
  describe(`collector store on ${backend.name}`, { skip: backend.missing ?? false }, () => {
    let store: CollectorStore;
    before(async () => {
      await backend.setUp();
      store = await CollectorStore.open(backend.fresh().connect());
    });
    after(async () => {
      await store?.close();
      await backend.tearDown();
    });

    it('migrates once: opening again finds the schema in place (on PostgreSQL, several collectors at the same time)', async () => {
      const db = backend.fresh();
      // SQLite is the embedded default for one collector; PostgreSQL is shared by several.
      const opened =
        backend.name === 'postgres'
          ? await Promise.all([1, 2, 3].map(() => CollectorStore.open(db.connect())))
          : [await CollectorStore.open(db.connect()), await CollectorStore.open(db.connect())];
      assert.equal(await opened[0]!.version(), 0);
      for (const s of opened) await s.close();
    });

    it('upgrades a database of the previous schema in place, keeping what it holds', async () => {
      // A collector of schema 1 (before request_nonces) left this database; the next one adds the table.
      const db = backend.fresh();
      const old = await CollectorStore.open(db.connect());
      await old.registerDevice({ deviceId: 'ws-old', publicKeyPem: pem(), label: 'before the upgrade' });
      await old.db.exec('DROP TABLE request_nonces; UPDATE schema_version SET version = 1 WHERE one = 1');
      await old.close();
      const upgraded = await CollectorStore.open(db.connect());
      try {
        assert.equal((await upgraded.db.get<{ version: number }>('SELECT version FROM schema_version WHERE one = 1'))?.version, SCHEMA_VERSION);
        assert.equal((await upgraded.device('ws-old'))?.label, 'before the upgrade');
        assert.equal(await upgraded.claimRequestNonce('ws-old', 'nonce-dddddddddddddddd', Date.now(), 60_000), true);
      } finally {
        await upgraded.close();
      }
    });

    it('registers a device idempotently; another key under the same id and a non-Ed25519 key are refused', async () => {
      const key = pem();
      const first = await store.registerDevice({ deviceId: 'ws-0001', publicKeyPem: key, label: 'ward 4 bay 1' });
      assert.equal(first.created, true);
      assert.equal((await store.registerDevice({ deviceId: 'ws-0001', publicKeyPem: key, label: 'ward 4 bay 1' })).created, false);
      await assert.rejects(store.registerDevice({ deviceId: 'ws-0001', publicKeyPem: pem(), label: 'x' }), /registered with another key/);
      const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
      await assert.rejects(store.registerDevice({ deviceId: 'ws-0002', publicKeyPem: rsa, label: 'x' }), /not an Ed25519 public key/);
      assert.deepEqual(await store.head('ws-0001'), { seq: 0, hash: GENESIS_HASH });
      assert.equal(await store.revokeDevice('ws-0001'), true);
      assert.equal((await store.device('ws-0001'))?.state, 'revoked');
    });

    it('stores events only from the head they continue; a moved head stores nothing', async () => {
      await store.registerDevice({ deviceId: 'ws-0003', publicKeyPem: pem(), label: 'x' });
      const rows = Array.from({ length: 250 }, (_, i) => ({ seq: i + 1, hash: (i + 1).toString(16).padStart(64, '0'), sig: 'c2ln', body: `{"seq":${i + 1}}` }));
      assert.equal(await store.appendEvents('ws-0003', { seq: 0, hash: GENESIS_HASH }, rows), true);
      assert.deepEqual(await store.head('ws-0003'), { seq: 250, hash: rows[249]!.hash });
      assert.equal(await store.appendEvents('ws-0003', { seq: 0, hash: GENESIS_HASH }, rows), false, 'stale head');
      assert.equal(await store.countEvents('ws-0003'), 250);
      assert.equal(await store.hashAt('ws-0003', 7), rows[6]!.hash);
      assert.deepEqual((await store.eventsOf('ws-0003', 248)).map((r) => r.seq), [249, 250]);
    });

    it('appends made together share one commit: each continues the head the one before it left, for one device and for several', async () => {
      const ids = ['ws-0101', 'ws-0102', 'ws-0103'];
      for (const id of ids) await store.registerDevice({ deviceId: id, publicKeyPem: pem(), label: 'x' });
      const rows = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ seq: from + i, hash: (from + i).toString(16).padStart(64, 'a'), sig: 'c2ln', body: `{"seq":${from + i}}` }));
      const first = rows(1, 3);
      const second = rows(4, 2);
      // Not awaited one by one: all pending in the same flush.
      const results = await Promise.all([
        store.appendEvents('ws-0101', { seq: 0, hash: GENESIS_HASH }, first),
        store.appendEvents('ws-0101', { seq: 3, hash: first[2]!.hash }, second),
        store.appendEvents('ws-0101', { seq: 0, hash: GENESIS_HASH }, rows(1, 1)),
        store.appendEvents('ws-0102', { seq: 0, hash: GENESIS_HASH }, rows(1, 2)),
        store.appendEvents('ws-0103', { seq: 5, hash: GENESIS_HASH }, rows(6, 1)),
      ]);
      assert.deepEqual(results, [true, true, false, true, false]);
      assert.deepEqual(await store.head('ws-0101'), { seq: 5, hash: second[1]!.hash });
      assert.deepEqual((await store.eventsOf('ws-0101')).map((r) => [r.seq, r.body]), [...first, ...second].map((r) => [r.seq, r.body]));
      assert.deepEqual(await store.head('ws-0102'), { seq: 2, hash: rows(1, 2)[1]!.hash });
      assert.equal(await store.countEvents('ws-0103'), 0);
    });

    it('keeps a monotonic directory version; changes since a version carry whole users', async () => {
      const v0 = await store.version();
      const v1 = await store.applyChange(enrol('kim.nguyen'), 'ws-0003');
      assert.equal(v1, v0 + 1);
      const page = await store.changesSince(v0);
      assert.equal(page.version, v1);
      assert.deepEqual(page.users.map((u) => [u.id, u.badges.length, u.state]), [['kim.nguyen', 1, 'active']]);
      assert.deepEqual((await store.changesSince(v1)).users, []);
    });

    it('refuses a taken badge, a replayed change and changes for revoked users, with the reason, changing nothing', async () => {
      const before = await store.version();
      await assert.rejects(store.applyChange(enrol('sam.okafor'), 'ws-0003'), (e: unknown) => e instanceof DirectoryConflictError && e.kind === 'badge-bound');
      const change = enrol('sam.okafor', { badgeToken: token('b') });
      await store.applyChange(change, 'ws-0003');
      await assert.rejects(store.applyChange(change, 'ws-0003'), (e: unknown) => e instanceof DirectoryConflictError && e.kind === 'replayed');
      await store.revoke({ kind: 'user', userId: 'sam.okafor' });
      await assert.rejects(store.applyChange(enrol('sam.okafor', { badgeToken: token('c'), profile: undefined }), 'ws-0003'), /was revoked/);
      assert.equal(await store.version(), before + 2, 'one enrolment and one revocation');
      const sam = await store.user('sam.okafor');
      assert.deepEqual([sam?.state, sam?.badges.map((b) => b.state)], ['revoked', ['revoked']]);
    });

    it('one new badge enrolled for two people at the same moment (two collectors on PostgreSQL): one is refused, the badge keeps one owner', async () => {
      const db = backend.fresh();
      const stores = backend.name === 'postgres' ? await Promise.all([1, 2].map(() => CollectorStore.open(db.connect()))) : [await CollectorStore.open(db.connect())];
      try {
        const [a, b] = [stores[0]!, stores[stores.length - 1]!];
        const v0 = await a.version();
        const people = ['ann.lee', 'ben.ito'];
        const results = await Promise.allSettled([a.applyChange(enrol(people[0]!, { badgeToken: token('f') }), 'ws-1'), b.applyChange(enrol(people[1]!, { badgeToken: token('f') }), 'ws-2')]);
        const won = results.findIndex((r) => r.status === 'fulfilled');
        const lost = results.findIndex((r) => r.status === 'rejected');
        assert.ok(won >= 0 && lost >= 0, `one enrolment wins, one is refused: ${results.map((r) => r.status).join(', ')}`);
        const reason = (results[lost] as PromiseRejectedResult).reason as unknown;
        assert.ok(reason instanceof DirectoryConflictError && reason.kind === 'badge-bound', String(reason));
        assert.equal(await a.version(), v0 + 1, 'the refused one left no version behind');
        assert.deepEqual((await a.user(people[won]!))?.badges.map((x) => [x.token, x.state]), [[token('f'), 'active']]);
        assert.equal(await a.user(people[lost]!), null);
      } finally {
        for (const s of stores) await s.close();
      }
    });

    it('claims a signed request nonce once across collectors on one database; expired nonces are deleted', async () => {
      // Two collectors on one database (PostgreSQL, or two connections to one SQLite file):
      // a nonce the first took is refused by the second, as a replay sent to another instance.
      const db = backend.fresh();
      const [a, b] = [await CollectorStore.open(db.connect()), await CollectorStore.open(db.connect())];
      try {
        const keep = 5 * 60_000;
        const t0 = Date.parse('2026-03-01T10:00:00Z');
        assert.equal(await a.claimRequestNonce('ws-1', 'nonce-aaaaaaaaaaaaaaaa', t0, keep), true);
        assert.equal(await b.claimRequestNonce('ws-1', 'nonce-aaaaaaaaaaaaaaaa', t0 + 1, keep), false, 'the other collector refuses it');
        assert.equal(await a.claimRequestNonce('ws-1', 'nonce-aaaaaaaaaaaaaaaa', t0 + 2, keep), false, 'and so does the one that took it');
        assert.equal(await b.claimRequestNonce('ws-2', 'nonce-aaaaaaaaaaaaaaaa', t0 + 3, keep), true, "another device's nonce is its own");
        assert.equal(await b.claimRequestNonce('ws-1', 'nonce-bbbbbbbbbbbbbbbb', t0 + keep, keep), true);
        // Later than keep + the purge interval: the first nonce is gone, the one seen at t0 + keep is not.
        const later = t0 + keep + 61_000;
        assert.equal(await b.claimRequestNonce('ws-1', 'nonce-cccccccccccccccc', later, keep), true);
        assert.equal(await b.claimRequestNonce('ws-1', 'nonce-aaaaaaaaaaaaaaaa', later, keep), true, 'deleted once expired (its request time is refused by then)');
        assert.equal(await b.claimRequestNonce('ws-1', 'nonce-bbbbbbbbbbbbbbbb', later, keep), false, 'kept while it may still be replayed');
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('locks a user out organisation-wide after N failures (a directory change), and the lockout ends', async () => {
      await store.applyChange(enrol('ray.patel', { badgeToken: token('d') }), 'ws-0003');
      const rule = { maxFailures: 3, lockoutMs: 60_000 };
      const v = await store.version();
      assert.deepEqual(await store.recordFailure('ray.patel', rule), { failures: 1, triesLeft: 2, lockedUntil: null, lockedNow: false });
      await store.recordFailure('ray.patel', rule);
      assert.equal(await store.version(), v, 'counting is not a directory change');
      const locked = await store.recordFailure('ray.patel', rule);
      assert.equal(locked.lockedNow, true);
      assert.ok(locked.lockedUntil);
      assert.equal(await store.version(), v + 1, 'the lockout is');
      assert.equal((await store.changesSince(v)).users[0]?.lockedUntil, locked.lockedUntil);
      assert.equal((await store.recordFailure('ray.patel', rule)).lockedNow, false, 'no extension while locked');
      assert.equal(await store.clearLockout('ray.patel'), true);
      assert.equal((await store.user('ray.patel'))?.lockedUntil, null);
      await store.recordFailure('ray.patel', rule);
      await store.recordSuccess('ray.patel');
      assert.equal((await store.recordFailure('ray.patel', rule)).failures, 1, 'a success clears the count');
    });

    it('keeps the highest FIDO2 counter seen anywhere; a lower or equal one is a clone', async () => {
      const credential = { id: 'Y3JlZC0x', publicKey: 'cHVi', counter: 0, transports: ['usb'], label: 'Blue key' };
      await store.applyChange(enrol('lee.wong', { badgeToken: token('e'), credential }), 'ws-0003');
      assert.deepEqual(await store.checkCounter('Y3JlZC0x', 5), { ok: true, highest: 5 });
      assert.deepEqual(await store.checkCounter('Y3JlZC0x', 5), { ok: false, highest: 5 });
      assert.deepEqual(await store.checkCounter('Y3JlZC0x', 2), { ok: false, highest: 5 });
      assert.deepEqual(await store.checkCounter('Y3JlZC0x', 9), { ok: true, highest: 9 });
    });

    it('keeps its own audit of administration, newest first', async () => {
      await store.audit({ actor: 'it-admin', action: 'device.register', subject: 'ws-0001', details: { label: 'x' } });
      await store.audit({ actor: 'it-admin', action: 'user.revoke', subject: 'sam.okafor', details: {} });
      const log = await store.auditLog(2);
      assert.deepEqual(log.map((e) => e.action), ['user.revoke', 'device.register']);
      assert.match(log[0]!.at, /^\d{4}-\d\d-\d\dT/);
    });
  });
}
