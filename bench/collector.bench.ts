// The collector as a service (a process of its own, started with `collector/main.js`):
// directory.revocation_latency — ms from a revocation written to the collector's storage
//   (as collector-admin does) to each of 50 connected simulated agents holding it (their
//   push stream announced the version, they pulled, the user is revoked in their copy);
//   p50/p99 over 20 revocations × 50 agents. Target p99 <= 2,000 ms.
// collector.reconnect_storm[.postgres] — 1,000 simulated workstations, 100 signed events
//   each, reconnecting at once (a TLS handshake each, one batch each): events/s stored and
//   verified; ceiling = the collector's own verification (verifyBatch, signatures on every
//   core) of the same 100,000 events in this run. Target ratio >= 0.6, 0 lost, 0 stored twice.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import https from 'node:https';
import { createSecureContext, type SecureContext } from 'node:tls';
import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { TestPki, type Ca, type CertFiles } from '../collector/demo-pki';
import { CollectorStore } from '../collector/store/collector-store';
import { PostgresDb } from '../collector/store/postgres';
import { SqliteDb } from '../collector/store/sqlite';
import { DirectoryClient } from '../main/auth/directory-client';
import { verifyBatch } from '../main/audit/verifier';
import { EVENTS_PATH } from '../main/forward/wire-contract';
import { sampleInput, SyntheticChain } from '../test/support/atna-events';
import { postgresMissing, PostgresServer } from '../test/support/postgres';
import { withRatio, type Emit } from './result';

const MAIN = resolve(__dirname, '../collector/main.js');
const AGENTS = 50;
const REVOCATIONS = 20;
const WORKSTATIONS = 1000;
const EVENTS_EACH = 100;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}
const round1 = (n: number) => Math.round(n * 10) / 10;

interface Pki {
  pki: TestPki;
  ca: Ca;
  server: CertFiles;
  client: CertFiles;
}

export function makePki(): Pki {
  const pki = new TestPki();
  const ca = pki.createCa('bench-ca');
  return { pki, ca, server: pki.issue(ca, 'collector', { kind: 'server', dns: ['localhost'], ips: ['127.0.0.1'] }), client: pki.issue(ca, 'workstation', { kind: 'client' }) };
}

/** Starts `collector/main.js` in a child process and resolves with its URL. */
async function startCollectorProcess(storage: string[], p: Pki, orgKey: string): Promise<{ url: string; child: ChildProcess }> {
  // CWA_COLLECTOR_NODE_ARGS (e.g. --cpu-prof) profiles the collector process.
  const nodeArgs = process.env.CWA_COLLECTOR_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, MAIN, ...storage, '--org-key', orgKey, '--ca', p.ca.certPath, '--cert', p.server.certPath, '--key', p.server.keyPath, '--port', '0', '--host', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error('the collector did not start within 30 s')), 30_000);
    child.once('exit', (code) => reject(new Error(`the collector exited (${code})`)));
    lines.on('line', (line) => {
      const j = JSON.parse(line) as { listening?: string };
      if (j.listening) {
        clearTimeout(timer);
        resolveUrl(j.listening.replace('127.0.0.1', 'localhost'));
      }
    });
  });
  return { url, child };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await done;
}

function deviceKey(): { key: KeyObject; pem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { key: privateKey, pem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

async function revocationLatency(emit: Emit, dir: string, p: Pki): Promise<void> {
  const dbPath = join(dir, 'revocation.db');
  const orgKey = join(dir, 'revocation.org-key');
  writeFileSync(orgKey, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  const store = await CollectorStore.open(new SqliteDb(dbPath));
  const agents = Array.from({ length: AGENTS }, (_, i) => ({ id: `bench-agent-${i}`, ...deviceKey() }));
  for (const a of agents) await store.registerDevice({ deviceId: a.id, publicKeyPem: a.pem, label: 'bench' });
  const users = Array.from({ length: REVOCATIONS }, (_, i) => `bench.user.${i}`);
  for (const [i, u] of users.entries()) await store.enrol({ userId: u, profile: { displayName: u, roles: [] }, badgeToken: i.toString(16).padStart(64, '0'), pinVerifier: 'scrypt1$1024$8$1$AAAAAAAAAAAAAAAAAAAAAA$' + 'A'.repeat(43) });
  const { url, child } = await startCollectorProcess(['--db', dbPath], p, orgKey);
  const samples: number[] = [];
  const waiting = new Map<string, { since: number; pending: Set<number> }>();
  const follows: { dispose(): void }[] = [];
  const clients: DirectoryClient[] = [];
  try {
    let connected = 0;
    await new Promise<void>((ready) => {
      agents.forEach((a, index) => {
        const client = new DirectoryClient({ url, ca: p.ca.cert, cert: p.client.cert, key: p.client.key, signer: { deviceId: a.id, sign: (d) => sign(null, d, a.key) } });
        clients.push(client);
        let version = 0;
        let pulling = false;
        const pull = async (): Promise<void> => {
          if (pulling) return;
          pulling = true;
          try {
            const page = await client.pull(version);
            version = page.version;
            const at = performance.now();
            for (const u of page.users) {
              const w = waiting.get(u.id);
              if (u.state === 'revoked' && w?.pending.delete(index)) samples.push(at - w.since);
            }
          } finally {
            pulling = false;
          }
        };
        let first = true;
        follows.push(
          client.follow(
            (v) => {
              if (v > version) void pull();
            },
            (up) => {
              if (up && first) {
                first = false;
                if (++connected === AGENTS) ready();
              }
            },
          ),
        );
      });
    });
    const admin = await CollectorStore.open(new SqliteDb(dbPath));
    for (const u of users) {
      const w = { since: performance.now(), pending: new Set(agents.map((_, i) => i)) };
      waiting.set(u, w);
      await admin.revoke({ kind: 'user', userId: u });
      const deadline = Date.now() + 10_000;
      while (w.pending.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      if (w.pending.size > 0) throw new Error(`${w.pending.size} agents never saw the revocation of ${u}`);
    }
    await admin.close();
  } finally {
    for (const f of follows) f.dispose();
    for (const c of clients) c.close();
    await stop(child);
    await store.close();
  }
  const sorted = [...samples].sort((a, b) => a - b);
  emit({
    name: 'directory.revocation_latency',
    value: round1(percentile(sorted, 99)),
    unit: 'ms',
    p50: round1(percentile(sorted, 50)),
    p99: round1(percentile(sorted, 99)),
    max: round1(sorted.at(-1) ?? Number.NaN),
    n: samples.length,
    agents: AGENTS,
    revocations: REVOCATIONS,
    target: 'p99 <= 2000 ms',
  });
}

interface Workstation {
  readonly id: string;
  readonly pem: string;
  readonly publicKey: KeyObject;
  readonly keyId: string;
  readonly body: Buffer;
  readonly events: ReturnType<SyntheticChain['next']>['sealed'][];
}

/** 1,000 devices with 100 chained, signed events each, and the batch each will send. */
export function workstations(): Workstation[] {
  return Array.from({ length: WORKSTATIONS }, (_, i) => {
    const id = `ws-storm-${String(i).padStart(4, '0')}`;
    const chain = new SyntheticChain(id);
    const events = Array.from({ length: EVENTS_EACH }, (_, j) => chain.next(sampleInput('session.lock', j)).sealed);
    const pem = chain.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    return { id, pem, publicKey: chain.publicKey, keyId: chain.keyId, events, body: Buffer.from(JSON.stringify({ device: id, keyId: chain.keyId, events })) };
  });
}

/** The collector's own verification of the same events: verifyBatch per device, all at once (every core). */
async function verifyCeiling(ws: readonly Workstation[]): Promise<number> {
  const t0 = performance.now();
  await Promise.all(
    ws.map(async (w) => {
      const r = await verifyBatch(w.events, { publicKey: w.publicKey, keyId: w.keyId, device: w.id, start: { seq: 0, hash: '0'.repeat(64) } });
      if (r.problem) throw new Error(`bench data does not verify: ${r.problem.message}`);
    }),
  );
  return (WORKSTATIONS * EVENTS_EACH) / ((performance.now() - t0) / 1000);
}

/** One workstation's connection settings: its own https.Agent (which keeps its TLS session, as the agent's transport does). */
function workstationAgent(secureContext: SecureContext): https.Agent {
  return new https.Agent({ keepAlive: false, maxCachedSessions: 1, ...({ secureContext } as object) });
}

/** Before the outage: each workstation talks to the collector once, so it holds a TLS session. */
function handshake(url: string, agent: https.Agent, secureContext: SecureContext): Promise<void> {
  return new Promise((done, reject) => {
    const options: https.RequestOptions & { secureContext: SecureContext } = { method: 'GET', agent, secureContext };
    const req = https.request(`${url}/v1/health`, options);
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => done());
    });
    req.on('error', reject);
    req.end();
  });
}

function post(url: string, secureContext: SecureContext, body: Buffer, agent: https.Agent | false): Promise<number> {
  return new Promise((resolvePost, reject) => {
    // A fresh TCP connection per workstation: with `agent` its TLS session is resumed, with
    // false a full handshake; the client credentials parsed once, as each workstation does.
    const options: https.RequestOptions & { secureContext: SecureContext } = {
      method: 'POST',
      secureContext,
      agent,
      headers: { 'content-type': 'application/json', 'content-length': body.length },
    };
    const req = https.request(`${url}${EVENTS_PATH}`, options);
    req.on('response', (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString('utf8')));
      res.on('end', () => (res.statusCode === 200 ? resolvePost((JSON.parse(text) as { acceptedThrough: number }).acceptedThrough) : reject(new Error(`HTTP ${res.statusCode}: ${text}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * The storm, timed: every workstation posts its 100 events at once over a new connection.
 * `resume`: they resume the TLS session they had before the outage (what the agent's
 * transport does after a network outage); otherwise a full handshake each (a collector
 * restart, whose session tickets are gone).
 */
async function storm(url: string, ws: readonly Workstation[], p: Pki, resume: boolean): Promise<number> {
  const secureContext = createSecureContext({ ca: p.ca.cert, cert: p.client.cert, key: p.client.key, minVersion: 'TLSv1.2' });
  const agents = resume ? ws.map(() => workstationAgent(secureContext)) : ws.map(() => false as const);
  if (resume) {
    for (let i = 0; i < ws.length; i += 100) await Promise.all(agents.slice(i, i + 100).map((a) => handshake(url, a as https.Agent, secureContext)));
  }
  const t0 = performance.now();
  const acks = await Promise.all(ws.map((w, i) => post(url, secureContext, w.body, agents[i]!)));
  const ms = performance.now() - t0;
  const short = acks.filter((a) => a !== EVENTS_EACH).length;
  if (short > 0) throw new Error(`${short} workstations were not acknowledged through seq ${EVENTS_EACH}`);
  for (const a of agents) if (a) a.destroy();
  return ms;
}

interface StormStorage {
  readonly args: string[];
  open(): Promise<CollectorStore>;
}

/** One timed storm into a fresh database; returns the time and what the database then holds. */
async function stormInto(storage: StormStorage, ws: readonly Workstation[], p: Pki, orgKey: string, resume: boolean): Promise<{ ms: number; lost: number; storedTwice: number }> {
  const setup = await storage.open();
  for (const w of ws) await setup.registerDevice({ deviceId: w.id, publicKeyPem: w.pem, label: 'storm' });
  await setup.close();
  const { url, child } = await startCollectorProcess(storage.args, p, orgKey);
  let ms: number;
  try {
    ms = await storm(url, ws, p, resume);
  } finally {
    await stop(child);
  }
  const check = await storage.open();
  const stored = await check.countEvents();
  const distinct = Number((await check.db.get<{ n: number }>('SELECT count(*) AS n FROM (SELECT DISTINCT device_id, seq FROM events) d'))?.n ?? 0);
  await check.close();
  return { ms, lost: WORKSTATIONS * EVENTS_EACH - distinct, storedTwice: stored - distinct };
}

export async function reconnectStorm(emit: Emit, name: string, ws: readonly Workstation[], p: Pki, dir: string, fresh: () => StormStorage): Promise<void> {
  const orgKey = join(dir, `${name}.org-key`);
  writeFileSync(orgKey, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  const ceiling = await verifyCeiling(ws);
  const resumed = await stormInto(fresh(), ws, p, orgKey, true);
  const full = await stormInto(fresh(), ws, p, orgKey, false);
  const expected = WORKSTATIONS * EVENTS_EACH;
  const rate = (ms: number) => Math.round(expected / (ms / 1000));
  emit(
    withRatio({
      name,
      value: rate(resumed.ms),
      unit: 'events/s',
      ceiling: Math.round(ceiling),
      target: '>= 0.6 ratio, 0 lost, 0 stored twice',
      workstations: WORKSTATIONS,
      eventsEach: EVENTS_EACH,
      wallMs: Math.round(resumed.ms),
      tls: 'sessions resumed (after a network outage)',
      lost: resumed.lost,
      storedTwice: resumed.storedTwice,
      fullHandshake: { value: rate(full.ms), ratio: Number((rate(full.ms) / ceiling).toFixed(3)), lost: full.lost, storedTwice: full.storedTwice },
    }),
  );
}

export default async function collectorBench(emit: Emit): Promise<void> {
  const dir = mkdtempSync(join(process.env.CWA_BENCH_DIR ?? tmpdir(), 'cwa-bench-collector-'));
  const p = makePki();
  try {
    await revocationLatency(emit, dir, p);
    const ws = workstations();
    let n = 0;
    await reconnectStorm(emit, 'collector.reconnect_storm', ws, p, dir, () => {
      const path = join(dir, `storm-${++n}.db`);
      return { args: ['--db', path], open: () => CollectorStore.open(new SqliteDb(path)) };
    });
    const missing = postgresMissing();
    if (missing) {
      emit({ name: 'collector.reconnect_storm.postgres', value: Number.NaN, unit: 'events/s', skipped: missing });
      return;
    }
    const pg = await PostgresServer.start({ durable: true });
    try {
      await reconnectStorm(emit, 'collector.reconnect_storm.postgres', ws, p, dir, () => {
        const url = pg.createDatabase(`storm_${++n}`);
        return { args: ['--postgres', url], open: () => CollectorStore.open(new PostgresDb(url)) };
      });
    } finally {
      pg.stop();
    }
  } finally {
    p.pki.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}
