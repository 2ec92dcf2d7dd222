// The audit store against a real SQLCipher database and a real gnome-keyring.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, truncateSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openTestStore } from '../../support/audit-fixture';
import { openRawDb } from '../../support/raw-db';
import { AuditStore, DB_KEY_ACCOUNT } from '../../../main/audit/store';
import { type AuditStoreError } from '../../../main/audit/errors';
import { openAuditBuffer } from '../../../main/audit/open-buffer';
import { verifyStore } from '../../../main/audit/verify-store';
import { parseEventBody } from '../../../main/audit/event';
import { loadDeviceIdentity, DEVICE_KEY_ACCOUNT } from '../../../main/platform/device-identity';
import type { Clock } from '../../../main/platform/clock';

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const dirState = (dir: string) => readdirSync(dir).sort().map((f) => `${f}:${sha(join(dir, f))}`);

test('appends are gap-free, hash-chained, signed, and concurrent ones share a commit', async () => {
  const t = await openTestStore('append');
  try {
    const groups: number[] = [];
    t.store.onAppend((events) => groups.push(events.length));
    const first = await t.store.record({ action: 'agent.start', details: { version: '0.1.0' } });
    assert.equal(first.seq, 1);
    const many = await Promise.all(
      Array.from({ length: 200 }, (_, i) => t.store.record({ action: 'session.lock', user: `nurse-${String(i).padStart(4, '0')}`, method: 'idle', details: { reason: 'idle' } })),
    );
    assert.deepEqual(many.map((e) => e.seq), Array.from({ length: 200 }, (_, i) => i + 2));
    assert.ok(groups.length < 10, `200 concurrent appends should share a few commits, got ${groups.length} commits`);
    const sealed = t.store.readAfter(0, 1000);
    assert.equal(sealed.length, 201);
    for (let i = 1; i < sealed.length; i++) {
      assert.equal(parseEventBody(sealed[i]!.body).prevHash, sealed[i - 1]!.hash);
    }
    const r = verifyStore(t.store);
    assert.equal(r.ok, true, JSON.stringify(r.problem));
    assert.equal(r.verified, 201);
    assert.deepEqual(t.store.durability(), { journalMode: 'wal', synchronous: 2, cipher: 'sqlcipher' });
  } finally {
    await t.cleanup();
  }
});

test('reads are bounded by count and by body bytes, across read chunks, always at least one row', async () => {
  const t = await openTestStore('bounded-reads');
  try {
    // Bodies of different sizes, 300 of them (more than one read chunk).
    await Promise.all(
      Array.from({ length: 300 }, (_, i) => t.store.record({ action: 'session.lock', user: `nurse-${String(i).padStart(4, '0')}`, method: 'idle', details: { reason: 'x'.repeat(i % 97) } })),
    );
    const all = t.store.readAfter(0, 1000);
    assert.deepEqual(all.map((e) => e.seq), Array.from({ length: 300 }, (_, i) => i + 1));
    assert.deepEqual(t.store.readChainedAfter(0, 1000).map((e) => [e.seq, e.body, e.hash]), all.map((e) => [e.seq, e.body, e.hash]));
    assert.deepEqual(t.store.readAfter(17, 200).map((e) => e.seq), Array.from({ length: 200 }, (_, i) => i + 18));
    assert.deepEqual(t.store.readAfter(290, 200).map((e) => e.seq), Array.from({ length: 10 }, (_, i) => i + 291));
    assert.deepEqual(t.store.readAfter(300, 10), []);

    // The byte bound: as many rows from seq 6 on as fit, here 200 (past the first read chunk).
    const from = all.slice(5);
    const bound = from.slice(0, 200).reduce((n, e) => n + e.body.length, 0) + Math.floor(from[200]!.body.length / 2);
    for (const read of [t.store.readAfter(5, 1000, bound), t.store.readChainedAfter(5, 1000, bound)]) {
      assert.deepEqual(read.map((e) => e.seq), from.slice(0, 200).map((e) => e.seq));
    }
    assert.deepEqual(t.store.readChainedAfter(5, 1000, 1).map((e) => e.seq), [6], 'a bound smaller than one body still reads that one');
  } finally {
    await t.cleanup();
  }
});

test('events carry UUIDv7 ids, RFC 3339 UTC ms times from the wall clock, catalog outcomes and the device', async () => {
  let wall = Date.UTC(2026, 10, 22, 3, 4, 5, 678);
  const clock: Clock = { monotonicMs: () => 0, wallMs: () => wall++ };
  const t = await openTestStore('fields', { clock });
  try {
    const e = await t.store.record({ action: 'auth.pin.failure', user: 'nurse-0042', method: 'badge+pin', details: { kind: 'wrong-pin' } });
    assert.equal(e.time, '2026-11-22T03:04:05.678Z');
    assert.match(e.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7/);
    assert.equal(e.outcome, 4);
    assert.equal(e.device, t.store.deviceMeta().device);
    assert.match(e.device, /^[0-9a-f]{32}$/);
    assert.ok(!e.device.includes(t.machineId));
  } finally {
    await t.cleanup();
  }
});

test('a malformed event is refused with the field named, and nothing is appended', async () => {
  const t = await openTestStore('invalid');
  try {
    await assert.rejects(
      t.store.record({ action: 'session.lock', user: 'has spaces and; semicolons' }),
      (err: AuditStoreError) => err.code === 'invalid-event' && /user/.test(err.message),
    );
    await assert.rejects(t.store.record({ action: 'no.such.action' as 'session.lock' }), /action/);
    assert.equal(t.store.head().seq, 0);
  } finally {
    await t.cleanup();
  }
});

test('reopening continues the same chain without a gap', async () => {
  const t = await openTestStore('reopen');
  try {
    await Promise.all([1, 2, 3].map(() => t.store.record({ action: 'session.unlock', user: 'nurse-0001', method: 'badge' })));
    await t.store.close();
    const again = await t.reopen();
    const e = await again.record({ action: 'session.lock', user: 'nurse-0001', method: 'manual' });
    assert.equal(e.seq, 4);
    assert.equal(verifyStore(again).ok, true);
  } finally {
    await t.cleanup();
  }
});

test('a missing database key refuses to open and leaves the files byte-identical', async () => {
  const t = await openTestStore('nokey');
  try {
    await t.store.record({ action: 'agent.start' });
    await t.store.close();
    const before = dirState(t.dir);
    await t.keyStore.delete(DB_KEY_ACCOUNT);
    await assert.rejects(t.reopen(), (err: AuditStoreError) => {
      assert.equal(err.code, 'key-missing');
      assert.match(err.message, new RegExp(`account "${DB_KEY_ACCOUNT}"`));
      assert.ok(err.message.includes(t.path));
      return true;
    });
    assert.deepEqual(dirState(t.dir), before);
  } finally {
    await t.cleanup();
  }
});

test('a missing device key refuses to create a new one over existing audit data', async () => {
  const t = await openTestStore('nodevkey');
  try {
    await t.store.record({ action: 'agent.start' });
    await t.store.close();
    const before = dirState(t.dir);
    await t.keyStore.delete(DEVICE_KEY_ACCOUNT);
    await assert.rejects(t.reopen(), /device signing key is missing/);
    assert.equal(await t.keyStore.get(DEVICE_KEY_ACCOUNT), null);
    assert.deepEqual(dirState(t.dir), before);
  } finally {
    await t.cleanup();
  }
});

test('a wrong database key is refused with a clear error and the file untouched', async () => {
  const t = await openTestStore('wrongkey');
  try {
    await t.store.record({ action: 'agent.start' });
    await t.store.close();
    const before = dirState(t.dir);
    await t.keyStore.set(DB_KEY_ACCOUNT, 'ab'.repeat(32));
    await assert.rejects(t.reopen(), (err: AuditStoreError) => err.code === 'cannot-decrypt' && err.message.includes(t.path));
    await t.keyStore.set(DB_KEY_ACCOUNT, 'not-hex');
    await assert.rejects(t.reopen(), (err: AuditStoreError) => err.code === 'key-invalid');
    assert.deepEqual(dirState(t.dir), before);
  } finally {
    await t.cleanup();
  }
});

test('a device key that did not sign the database is refused', async () => {
  const t = await openTestStore('otherdev');
  try {
    await t.store.record({ action: 'agent.start' });
    await t.store.close();
    const before = dirState(t.dir);
    await t.keyStore.delete(DEVICE_KEY_ACCOUNT);
    const other = await loadDeviceIdentity(t.keyStore, { create: true, machineId: t.machineId });
    await assert.rejects(AuditStore.open({ path: t.path, keyStore: t.keyStore, identity: other }), (err: AuditStoreError) => err.code === 'device-mismatch');
    assert.deepEqual(dirState(t.dir), before);
  } finally {
    await t.cleanup();
  }
});

test('a truncated or corrupted database file is refused with its name, and nothing is overwritten', async () => {
  const t = await openTestStore('corrupt');
  try {
    await Promise.all(Array.from({ length: 2000 }, (_, i) => t.store.record({ action: 'session.warning', user: 'nurse-0002', details: { n: i } })));
    await t.store.close();
    const size = statSync(t.path).size;
    assert.ok(size > 8 * 4096);

    truncateSync(t.path, size - 1000); // not a whole page
    const truncatedHash = sha(t.path);
    await assert.rejects(t.reopen(), (err: AuditStoreError) => err.code === 'corrupt' && err.message.includes(t.path));
    assert.equal(sha(t.path), truncatedHash);

    truncateSync(t.path, 4096 * 3); // whole pages, but the newest rows are gone
    const cutHash = sha(t.path);
    await assert.rejects(t.reopen(), (err: AuditStoreError) => ['corrupt', 'cannot-decrypt'].includes(err.code) && err.message.includes(t.path));
    assert.equal(sha(t.path), cutHash);

    writeFileSync(t.path, Buffer.alloc(4096 * 4, 0x5a)); // garbage
    await assert.rejects(t.reopen(), (err: AuditStoreError) => ['corrupt', 'cannot-decrypt'].includes(err.code) && err.message.includes(t.path));
    assert.equal(statSync(t.path).size, 4096 * 4);
    assert.ok(readFileSync(t.path).every((b) => b === 0x5a));
  } finally {
    await t.cleanup();
  }
});

test('a database written by a newer agent (user_version from the future) is refused', async () => {
  const t = await openTestStore('future');
  try {
    await t.store.close();
    const raw = await openRawDb(t.path, t.keyStore);
    raw.pragma('user_version = 99');
    raw.close();
    const before = sha(t.path);
    await assert.rejects(t.reopen(), (err: AuditStoreError) => err.code === 'from-the-future' && /version 99/.test(err.message));
    assert.equal(sha(t.path), before);
  } finally {
    await t.cleanup();
  }
});

test('the database and its WAL hold no plaintext of an event', async () => {
  const t = await openTestStore('plaintext');
  try {
    const marker = 'MARKER-7f3a9c-not-in-clear';
    await Promise.all(Array.from({ length: 50 }, () => t.store.record({ action: 'session.lock', user: 'nurse-0003', details: { note: marker } })));
    assert.ok(existsSync(`${t.path}-wal`), 'the WAL exists while the store is open');
    for (const f of readdirSync(t.dir)) {
      const raw = readFileSync(join(t.dir, f));
      assert.equal(raw.includes(marker), false, `${f} contains the marker in clear`);
      assert.equal(raw.includes('nurse-0003'), false, `${f} contains a user id in clear`);
      assert.equal(raw.includes('session.lock'), false, `${f} contains an action name in clear`);
    }
    assert.ok(t.store.readAfter(0, 1)[0]!.body.includes(marker), 'the store itself reads the marker back');
  } finally {
    await t.cleanup();
  }
});

test('retention deletes only acknowledged rows past the window; the chain still verifies from the anchor', async () => {
  let wall = Date.UTC(2026, 0, 1);
  const clock: Clock = { monotonicMs: () => 0, wallMs: () => wall };
  const t = await openTestStore('retention', { clock });
  try {
    for (let i = 0; i < 10; i++) await t.store.record({ action: 'session.unlock', user: 'nurse-0004', method: 'badge' });
    assert.equal(t.store.purge({ retentionMs: 0 }), 0, 'nothing acknowledged: nothing purged');
    t.store.acknowledge(6, 'https');
    assert.equal(t.store.purge({ retentionMs: 3_600_000 }), 0, 'acknowledged but inside the retention window');
    wall += 3_600_001;
    assert.equal(t.store.purge({ retentionMs: 3_600_000 }), 6);
    assert.deepEqual(t.store.stats().firstSeq, 7);
    assert.equal(t.store.stats().unacknowledged, 4);
    assert.throws(() => t.store.acknowledge(11, 'https'), (err: AuditStoreError) => err.code === 'ack-beyond-head');
    const r = verifyStore(t.store);
    assert.equal(r.ok, true, JSON.stringify(r.problem));
    assert.equal(r.firstSeq, 7);
    await t.store.close();
    const again = await t.reopen();
    assert.equal((await again.record({ action: 'session.lock', user: 'nurse-0004', method: 'idle' })).seq, 11);
    assert.equal(verifyStore(again).ok, true);
  } finally {
    await t.cleanup();
  }
});

test('a missing database with existing keys starts a new chain that says so', async () => {
  const t = await openTestStore('vanished');
  try {
    await t.store.record({ action: 'agent.start' });
    await t.store.close();
    for (const f of readdirSync(t.dir)) rmSync(join(t.dir, f));
    const store = await openAuditBuffer({ path: t.path, keyStore: t.keyStore, machineId: t.machineId });
    try {
      const first = store.readAfter(0, 1)[0]!;
      assert.equal(parseEventBody(first.body).action, 'audit.continuity_alarm');
    } finally {
      await store.close();
    }
  } finally {
    await t.cleanup();
  }
});

test('two writers on one database (e.g. two agent processes) keep one gap-free chain', async () => {
  const t = await openTestStore('twowriters');
  const second = await AuditStore.open({ path: t.path, keyStore: t.keyStore, identity: await loadDeviceIdentity(t.keyStore, { create: false, machineId: t.machineId }) });
  try {
    for (let i = 0; i < 10; i++) {
      await t.store.record({ action: 'session.unlock', user: 'nurse-0008', method: 'badge' });
      await second.record({ action: 'session.lock', user: 'nurse-0008', method: 'manual' });
      await Promise.all([t.store.record({ action: 'session.warning', user: 'nurse-0008' }), t.store.record({ action: 'session.warning', user: 'nurse-0008' })]);
    }
    const r = verifyStore(second);
    assert.equal(r.ok, true, JSON.stringify(r.problem));
    assert.equal(r.verified, 40);
  } finally {
    await second.close();
    await t.cleanup();
  }
});
