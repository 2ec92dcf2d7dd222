// Audit buffer benchmarks: sequential and concurrent appends against ceilings measured in
// the same run, verify rate of a 100,000-event export, and RSS of a process reading the
// oldest 1,000 of 1,000,000 stored events.
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalJson } from '../main/audit/canonical-json';
import { verifyExport, writeExport } from '../main/audit/export';
import { openAuditBuffer } from '../main/audit/open-buffer';
import { openEncrypted, type AuditStore } from '../main/audit/store';
import { chainHash } from '../main/audit/seal';
import { loadDeviceIdentity } from '../main/platform/device-identity';
import { KeytarKeyStore } from '../main/platform/keystore';
import { withRatio, type Emit } from './result';
import type { AuditEventInput } from '../main/audit/event';

const benchDir = () => mkdtempSync(join(process.env.CWA_BENCH_DIR ?? tmpdir(), 'cwa-bench-'));
const now = () => performance.now();
const sampleInput = (i: number): AuditEventInput => ({ action: 'session.lock', user: `nurse-${String(i % 10_000).padStart(4, '0')}`, method: 'idle', details: { reason: 'idle', idleSeconds: 300 } });

/** Ceiling for sequential appends: 1-row transactions/s of the same encrypted SQLite, same disk, FULL sync. */
function sqliteFullTxnRate(dir: string, n: number): number {
  const db = openEncrypted(join(dir, 'ceiling.db'), randomBytes(32).toString('hex'));
  db.exec('CREATE TABLE t (seq INTEGER PRIMARY KEY, body TEXT, hash BLOB, sig BLOB)');
  const ins = db.prepare('INSERT INTO t (seq, body, hash, sig) VALUES (?, ?, ?, ?)');
  const body = 'x'.repeat(420);
  const hash = randomBytes(32);
  const sig = randomBytes(64);
  const t0 = now();
  for (let i = 1; i <= n; i++) ins.run(i, body, hash, sig); // autocommit: one FULL transaction per row
  const rate = n / ((now() - t0) / 1000);
  db.close();
  return rate;
}

async function openBenchStore(dir: string, label: string): Promise<{ store: AuditStore; keyStore: KeytarKeyStore; path: string; machineId: string }> {
  const keyStore = new KeytarKeyStore(`cwa-bench-${label}-${process.pid}`);
  const path = join(dir, `${label}.db`);
  const machineId = `bench-${label}`;
  const store = await openAuditBuffer({ path, keyStore, machineId });
  return { store, keyStore, path, machineId };
}

async function fill(store: AuditStore, total: number, concurrency: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      await store.record(sampleInput(i));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

export default async function auditBench(emit: Emit): Promise<void> {
  const dir = benchDir();
  try {
    // --- sequential ---------------------------------------------------------------
    const seqN = 2000;
    const ceilingSeq = sqliteFullTxnRate(dir, seqN);
    const a = await openBenchStore(dir, 'seq');
    let t0 = now();
    for (let i = 0; i < seqN; i++) await a.store.record(sampleInput(i));
    const seqRate = seqN / ((now() - t0) / 1000);
    emit(withRatio({ name: 'audit.append.sequential', value: Math.round(seqRate), unit: 'events/s', ceiling: Math.round(ceilingSeq), target: 'ratio >= 0.8', ceilingWhat: 'SQLite 1-row FULL transactions/s, same encrypted build, same disk' }));
    await a.store.close();

    // --- concurrent ---------------------------------------------------------------
    const conN = 30_000;
    const identity = await loadDeviceIdentity(a.keyStore, { create: false, machineId: a.machineId });
    const events = Array.from({ length: conN }, (_, i) => ({ v: 1, seq: i + 1, id: '0190a0b0-0000-7000-8000-000000000000', time: new Date().toISOString(), device: identity.deviceId, keyId: identity.keyId, action: 'session.lock', outcome: 0, user: `nurse-${String(i % 10_000).padStart(4, '0')}`, method: 'idle', details: { reason: 'idle', idleSeconds: 300 }, prevHash: '0'.repeat(64) }));
    t0 = now();
    let prev = '0'.repeat(64);
    for (const e of events) {
      const h = chainHash(prev, canonicalJson({ ...e, prevHash: prev }));
      identity.sign(h);
      prev = h.toString('hex');
    }
    const ceilingCon = conN / ((now() - t0) / 1000);
    const b = await openBenchStore(dir, 'con');
    t0 = now();
    await fill(b.store, conN, 64);
    const conRate = conN / ((now() - t0) / 1000);
    emit(withRatio({ name: 'audit.append.concurrent', value: Math.round(conRate), unit: 'events/s', ceiling: Math.round(ceilingCon), target: 'ratio >= 0.6 (about 10,000 events/s)', appenders: 64, ceilingWhat: 'canonical JSON + SHA-256 chain + Ed25519 sign in memory, one core' }));
    await b.store.close();

    // --- 1,000,000 events: build once, then RSS of a reader and verify of a 100k export ---
    const big = await openBenchStore(dir, 'big');
    const bigN = Number(process.env.CWA_BENCH_BIG ?? 1_000_000);
    t0 = now();
    await fill(big.store, bigN, 2048);
    const fillRate = bigN / ((now() - t0) / 1000);
    emit({ name: 'audit.fill_1m', value: Math.round(fillRate), unit: 'events/s', events: bigN, appenders: 2048 });
    const exportN = 100_000;
    const auditor = generateKeyPairSync('x25519');
    const out = join(dir, 'export.jsonl');
    const bigIdentity = await loadDeviceIdentity(big.keyStore, { create: false, machineId: big.machineId });
    writeExport(big.store, { out, sinceSeq: bigN - exportN + 1, recipient: auditor.publicKey, identity: bigIdentity });
    await big.store.close();

    t0 = now();
    const full = await verifyExport(out, { identity: auditor.privateKey });
    const verifyRate = full.verified / ((now() - t0) / 1000);
    if (!full.ok) throw new Error(`export did not verify: ${JSON.stringify(full.problem)}`);
    emit({ name: 'audit.verify', value: Math.round(verifyRate), unit: 'events/s', events: full.verified, target: '>= 5000 events/s', mode: 'decrypt + re-hash + chain + Ed25519 verify' });

    const child = spawnSync(process.execPath, ['-e', `
      const { AuditStore } = require(${JSON.stringify(join(__dirname, '../main/audit/store.js'))});
      const { KeytarKeyStore } = require(${JSON.stringify(join(__dirname, '../main/platform/keystore.js'))});
      (async () => {
        const store = await AuditStore.openReadOnly(${JSON.stringify(big.path)}, new KeytarKeyStore(${JSON.stringify(`cwa-bench-big-${process.pid}`)}));
        const rows = store.readAfter(0, 1000);
        const digest = require('crypto').createHash('sha256');
        for (const r of rows) digest.update(r.body);
        const rss = process.memoryUsage().rss;
        const maxRss = process.resourceUsage().maxRSS * 1024;
        console.log(JSON.stringify({ rows: rows.length, first: rows[0].seq, last: rows[rows.length - 1].seq, lastSeq: store.head().seq, rss, maxRss }));
        await store.close();
      })();`], { encoding: 'utf8' });
    if (child.status !== 0) throw new Error(`rss child failed: ${child.stderr}`);
    const r = JSON.parse(child.stdout) as { rows: number; first: number; lastSeq: number; rss: number; maxRss: number };
    emit({ name: 'audit.rss_1m', value: Number((r.maxRss / 1e6).toFixed(1)), unit: 'MB', target: '<= 100 MB', events: r.lastSeq, rowsRead: r.rows, firstSeq: r.first, measure: 'peak RSS of a fresh process' });
    for (const label of ['seq', 'con', 'big']) {
      const ks = new KeytarKeyStore(`cwa-bench-${label}-${process.pid}`);
      await ks.delete('audit-db-key');
      await ks.delete('device-signing-key');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
