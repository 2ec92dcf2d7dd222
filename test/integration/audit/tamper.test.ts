// Tampering done directly in the database or in an export: the verifier names the first
// bad seq and the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openTestStore, type TestStore } from '../../support/audit-fixture';
import { openRawDb } from '../../support/raw-db';
import { AuditStore } from '../../../main/audit/store';
import { verifyStore } from '../../../main/audit/verify-store';
import { verifyExport, writeExport } from '../../../main/audit/export';
import { loadDeviceIdentity } from '../../../main/platform/device-identity';
import { chainHash } from '../../../main/audit/seal';
import { canonicalJson } from '../../../main/audit/canonical-json';
import type { VerifyReason } from '../../../main/audit/verifier';

const N = 30;

async function filled(label: string): Promise<TestStore> {
  const t = await openTestStore(label);
  for (let i = 0; i < N; i++) await t.store.record({ action: 'session.unlock', user: `nurse-${String(i).padStart(4, '0')}`, method: 'badge', details: { i } });
  return t;
}

async function verifyAfter(t: TestStore, mutate: (db: Awaited<ReturnType<typeof openRawDb>>) => void): Promise<{ seq: number; reason: VerifyReason } | null> {
  await t.store.close();
  const db = await openRawDb(t.path, t.keyStore);
  mutate(db);
  db.close();
  const ro = await AuditStore.openReadOnly(t.path, t.keyStore);
  try {
    const r = verifyStore(ro);
    return r.problem ? { seq: r.problem.seq, reason: r.problem.reason } : null;
  } finally {
    await ro.close();
  }
}

const bodyOf = (db: Awaited<ReturnType<typeof openRawDb>>, seq: number) =>
  (db.prepare('SELECT body FROM events WHERE seq = ?').get(seq) as { body: string }).body;

test('database: an edited row is a hash mismatch at that seq', async () => {
  const t = await filled('db-edit');
  try {
    const p = await verifyAfter(t, (db) => {
      db.prepare('UPDATE events SET body = ? WHERE seq = 12').run(bodyOf(db, 12).replace('nurse-0011', 'nurse-9999'));
    });
    assert.deepEqual(p, { seq: 12, reason: 'hash-mismatch' });
  } finally {
    await t.cleanup();
  }
});

test('database: an edited row with its hash recomputed is a bad signature at that seq', async () => {
  const t = await filled('db-rehash');
  try {
    const p = await verifyAfter(t, (db) => {
      const body = bodyOf(db, 9).replace('"outcome":0', '"outcome":4');
      const prev = (JSON.parse(body) as { prevHash: string }).prevHash;
      db.prepare('UPDATE events SET body = ?, hash = ? WHERE seq = 9').run(body, chainHash(prev, body));
    });
    assert.deepEqual(p, { seq: 9, reason: 'bad-signature' });
  } finally {
    await t.cleanup();
  }
});

test('database: a deleted row is a gap named at the next seq', async () => {
  const t = await filled('db-delete');
  try {
    assert.deepEqual(await verifyAfter(t, (db) => db.prepare('DELETE FROM events WHERE seq = 17').run()), { seq: 18, reason: 'gap' });
  } finally {
    await t.cleanup();
  }
});

test('database: two rows swapped are named as reordered', async () => {
  const t = await filled('db-swap');
  try {
    const p = await verifyAfter(t, (db) => {
      const a = db.prepare('SELECT body, hash, sig FROM events WHERE seq = 5').get() as { body: string; hash: Buffer; sig: Buffer };
      const b = db.prepare('SELECT body, hash, sig FROM events WHERE seq = 6').get() as { body: string; hash: Buffer; sig: Buffer };
      const upd = db.prepare('UPDATE events SET body = ?, hash = ?, sig = ? WHERE seq = ?');
      upd.run(b.body, b.hash, b.sig, 5);
      upd.run(a.body, a.hash, a.sig, 6);
    });
    assert.deepEqual(p, { seq: 5, reason: 'reordered' });
  } finally {
    await t.cleanup();
  }
});

test('database: the newest rows deleted is a truncated tail against a known last seq/hash', async () => {
  const t = await filled('db-tail');
  try {
    const known = t.store.head();
    await t.store.close();
    const db = await openRawDb(t.path, t.keyStore);
    db.prepare('DELETE FROM events WHERE seq > 25').run();
    db.close();
    const ro = await AuditStore.openReadOnly(t.path, t.keyStore);
    try {
      const plain = verifyStore(ro);
      assert.equal(plain.ok, true, 'without outside knowledge a clean cut is a shorter valid chain');
      const r = verifyStore(ro, { expectLast: known });
      assert.equal(r.problem?.reason, 'truncated-tail');
      assert.equal(r.problem?.seq, 26);
    } finally {
      await ro.close();
    }
  } finally {
    await t.cleanup();
  }
});

test('database: a row re-signed with another key (body and hash rewritten) is named at that seq', async () => {
  const t = await filled('db-resign');
  try {
    const attacker = generateKeyPairSync('ed25519');
    const attackerKeyId = createHash('sha256').update(attacker.publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 32);
    const p = await verifyAfter(t, (db) => {
      const ev = JSON.parse(bodyOf(db, 20)) as Record<string, unknown>;
      ev.user = 'nurse-6666';
      ev.keyId = attackerKeyId;
      const body = canonicalJson(ev);
      const hash = chainHash(ev.prevHash as string, body);
      db.prepare('UPDATE events SET body = ?, hash = ?, sig = ? WHERE seq = 20').run(body, hash, sign(null, hash, attacker.privateKey));
    });
    assert.deepEqual(p, { seq: 20, reason: 'wrong-device-key' });
  } finally {
    await t.cleanup();
  }
});

// ---- exports ----

async function exported(label: string): Promise<{ t: TestStore; file: string; lines: string[]; auditor: ReturnType<typeof generateKeyPairSync> }> {
  const t = await filled(label);
  const auditor = generateKeyPairSync('x25519');
  const identity = await loadDeviceIdentity(t.keyStore, { create: false, machineId: t.machineId });
  const file = join(t.dir, 'export.jsonl');
  const s = writeExport(t.store, { out: file, recipient: auditor.publicKey, identity });
  assert.equal(s.count, N);
  return { t, file, lines: readFileSync(file, 'utf8').trimEnd().split('\n'), auditor };
}

async function problemOf(file: string, lines: string[], opts: Parameters<typeof verifyExport>[1] = {}) {
  writeFileSync(file, `${lines.join('\n')}\n`);
  const r = await verifyExport(file, opts);
  return r.problem ? { seq: r.problem.seq, reason: r.problem.reason } : null;
}

test('export: a clean export verifies without the key (signatures, chain, trailer) and fully with it', async () => {
  const { t, file, auditor } = await exported('exp-clean');
  try {
    const blind = await verifyExport(file);
    assert.equal(blind.ok, true, JSON.stringify(blind.problem));
    assert.equal(blind.verified, N);
    assert.equal(blind.contentChecked, 0);
    const bodies: string[] = [];
    const full = await verifyExport(file, { identity: auditor.privateKey, onEvent: (b) => bodies.push(b) });
    assert.equal(full.ok, true, JSON.stringify(full.problem));
    assert.equal(full.contentChecked, N);
    assert.ok(bodies[3]!.includes('nurse-0003'));
    const raw = readFileSync(file, 'utf8');
    assert.equal(raw.includes('nurse-0003'), false, 'the export holds no event plaintext');
    assert.equal(raw.includes('session.unlock'), false, 'the export holds no event plaintext');
  } finally {
    await t.cleanup();
  }
});

test('export: edited, deleted, duplicated, reordered and cut-off lines are each pinpointed', async () => {
  const { t, file, lines, auditor } = await exported('exp-tamper');
  try {
    const ev = (i: number) => JSON.parse(lines[i]!) as Record<string, unknown>; // line i holds seq i (line 0 = header)
    const set = (i: number, v: Record<string, unknown>) => lines.map((l, j) => (j === i ? JSON.stringify(v) : l));

    const ct = Buffer.from(ev(7).ct as string, 'base64');
    ct[3] = ct[3]! ^ 0x01;
    assert.deepEqual(await problemOf(file, set(7, { ...ev(7), ct: ct.toString('base64') }), { identity: auditor.privateKey }), { seq: 7, reason: 'hash-mismatch' });

    const h = ev(8).hash as string;
    assert.deepEqual(await problemOf(file, set(8, { ...ev(8), hash: (h[0] === 'a' ? 'b' : 'a') + h.slice(1) })), { seq: 8, reason: 'bad-signature' });

    assert.deepEqual(await problemOf(file, lines.filter((_, j) => j !== 10)), { seq: 11, reason: 'gap' });
    assert.deepEqual(await problemOf(file, [...lines.slice(0, 11), lines[10]!, ...lines.slice(11)]), { seq: 10, reason: 'duplicate' });
    assert.deepEqual(await problemOf(file, [...lines.slice(0, 12), lines[13]!, lines[12]!, ...lines.slice(14)]), { seq: 13, reason: 'reordered' });
    assert.deepEqual(await problemOf(file, lines.slice(0, 20)), { seq: 20, reason: 'truncated-tail' });
    assert.deepEqual(await problemOf(file, [...lines.slice(0, 20), lines[lines.length - 1]!]), { seq: 20, reason: 'truncated-tail' });
  } finally {
    await t.cleanup();
  }
});

test('export: events re-signed with another key, or an export not from the registered device, are named', async () => {
  const { t, file, lines } = await exported('exp-resign');
  try {
    const attacker = generateKeyPairSync('ed25519');
    const e = JSON.parse(lines[15]!) as { hash: string };
    const forged = { ...JSON.parse(lines[15]!), sig: sign(null, Buffer.from(e.hash, 'hex'), attacker.privateKey).toString('base64') };
    assert.deepEqual(await problemOf(file, lines.map((l, j) => (j === 15 ? JSON.stringify(forged) : l))), { seq: 15, reason: 'bad-signature' });

    const header = JSON.parse(lines[0]!) as Record<string, unknown>;
    const swapped = { ...header, publicKey: attacker.publicKey.export({ type: 'spki', format: 'pem' }).toString() };
    assert.deepEqual(await problemOf(file, [JSON.stringify(swapped), ...lines.slice(1)]), { seq: 0, reason: 'wrong-device-key' });

    const registered = (await loadDeviceIdentity(t.keyStore, { create: false, machineId: t.machineId })).publicKey;
    assert.equal(await problemOf(file, lines, { expectedDeviceKey: registered }), null);
    assert.deepEqual(await problemOf(file, lines, { expectedDeviceKey: attacker.publicKey }), { seq: 0, reason: 'wrong-device-key' });
  } finally {
    await t.cleanup();
  }
});

test('export: two lines swapped with their envelopes re-linked still fail, blind and with the key', async () => {
  const { t, file, lines, auditor } = await exported('exp-relink');
  try {
    const a = JSON.parse(lines[12]!) as Record<string, unknown>;
    const b = JSON.parse(lines[13]!) as Record<string, unknown>;
    // Put event 13 at position 12 and event 12 at 13, rewriting seq and prevHash so the links hold.
    const first = { ...b, seq: 12, prevHash: a.prevHash };
    const second = { ...a, seq: 13, prevHash: b.hash };
    const after = { ...(JSON.parse(lines[14]!) as Record<string, unknown>), prevHash: a.hash };
    const forged = lines.map((l, j) => (j === 12 ? JSON.stringify(first) : j === 13 ? JSON.stringify(second) : j === 14 ? JSON.stringify(after) : l));
    assert.deepEqual(await problemOf(file, forged), { seq: 1, reason: 'reordered' });
    const withKey = await problemOf(file, forged, { identity: auditor.privateKey });
    assert.equal(withKey?.seq, 12);
  } finally {
    await t.cleanup();
  }
});

test('export of several thousand events (signatures on worker threads): the first bad signature and the first structural problem are named as one by one', async () => {
  const t = await openTestStore('exp-large');
  try {
    const appends: Promise<unknown>[] = [];
    for (let i = 0; i < 3000; i++) appends.push(t.store.record({ action: 'session.lock', user: `nurse-${String(i % 100).padStart(4, '0')}`, method: 'idle', details: { i } }));
    await Promise.all(appends);
    const auditor = generateKeyPairSync('x25519');
    const identity = await loadDeviceIdentity(t.keyStore, { create: false, machineId: t.machineId });
    const file = join(t.dir, 'large.jsonl');
    writeExport(t.store, { out: file, recipient: auditor.publicKey, identity });
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    const bodies: string[] = [];
    const clean = await verifyExport(file, { identity: auditor.privateKey, onEvent: (b) => bodies.push(b) });
    assert.equal(clean.ok, true, JSON.stringify(clean.problem));
    assert.equal(clean.verified, 3000);
    assert.equal(bodies.length, 3000);
    assert.deepEqual(bodies.slice(0, 3).map((b) => (JSON.parse(b) as { seq: number }).seq), [1, 2, 3]);

    const badSig = (i: number) => {
      const ev = JSON.parse(lines[i]!) as { sig: string };
      const sig = Buffer.from(ev.sig, 'base64');
      sig[9] = sig[9]! ^ 0x01;
      return JSON.stringify({ ...ev, sig: sig.toString('base64') });
    };
    // A bad signature deep in the file, then a swap later on: the signature comes first.
    const tampered = lines.map((l, j) => (j === 2100 ? badSig(2100) : j === 2500 ? lines[2501]! : j === 2501 ? lines[2500]! : l));
    writeFileSync(file, `${tampered.join('\n')}\n`);
    const seen: string[] = [];
    const r = await verifyExport(file, { identity: auditor.privateKey, onEvent: (b) => seen.push(b) });
    assert.deepEqual(r.problem, { seq: 2100, reason: 'bad-signature', message: "the signature of seq 2100 is not the device key's" });
    assert.equal(r.verified, 2099);
    assert.deepEqual(r.last?.seq, 2099);
    assert.equal(seen.length, 2099, 'only events whose signatures verified are passed on');
    // The swap alone: reordered at the first out-of-place seq, with every signature before it checked.
    assert.deepEqual(await problemOf(file, lines.map((l, j) => (j === 2500 ? lines[2501]! : j === 2501 ? lines[2500]! : l))), { seq: 2501, reason: 'reordered' });
    // A bad signature in the very last record, after the last full chunk.
    assert.deepEqual(await problemOf(file, lines.map((l, j) => (j === 3000 ? badSig(3000) : l))), { seq: 3000, reason: 'bad-signature' });
  } finally {
    await t.cleanup();
  }
});
