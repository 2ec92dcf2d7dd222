// The reference receiver: the collector side of main/forward/wire-contract.openapi.yaml.
// Mutual TLS, verifies every event's hash, chain and signature per device against the
// device's registered public key (the agent's own ChainVerifier), dedupes by (device, seq),
// stores in SQLite and answers per the contract. Tests inject faults through `faults`.
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { EventEmitter } from 'node:events';
import Database from 'better-sqlite3-multiple-ciphers';
import { GENESIS_HASH } from '../../../main/audit/event';
import { ChainVerifier, type ChainPosition, type VerifyProblem, type VerifyResult } from '../../../main/audit/verifier';
import { keyIdOf } from '../../../main/platform/device-identity';
import { eventBatchSchema, EVENTS_PATH, type EventBatch } from '../../../main/forward/wire-contract';

/** What a test can make the receiver do to one request. */
export type Fault =
  /** Answer with this status at once, storing nothing. */
  | { readonly kind: 'status'; readonly status: number }
  /** Read part of the body, then drop the connection: the batch is lost in transit. */
  | { readonly kind: 'reset-mid-body' }
  /** Read the body one chunk at a time with a pause after each chunk. */
  | { readonly kind: 'slow-read'; readonly chunkDelayMs: number }
  /** Store the batch, then wait before answering (the agent may time out first). */
  | { readonly kind: 'delay-reply'; readonly ms: number }
  /** Store the batch, then drop the connection: the agent never sees the ack and resends. */
  | { readonly kind: 'reset-after-store' }
  /** Never answer; the agent's own timeout ends the request. */
  | { readonly kind: 'hang' };

export type FaultPlan = (request: { readonly index: number }) => Fault | undefined;

export interface RegisteredDevice {
  readonly publicKeyPem: string;
  /** The chain position before the first event this receiver accepts (default: seq 0, genesis). */
  readonly start?: ChainPosition;
}

export interface ReceiverOptions {
  /** CA that issued the agents' client certificates (PEM). */
  readonly ca: string;
  /** The receiver's server certificate and key (PEM). */
  readonly cert: string;
  readonly key: string;
  readonly dbPath: string;
  /** SQLCipher key for the receiver's own database; omitted = plain SQLite. */
  readonly dbKey?: string;
  readonly devices: ReadonlyMap<string, RegisteredDevice>;
  /** 0 (default) picks an ephemeral port; pass the old port to restart "the same" receiver. */
  readonly port?: number;
  readonly host?: '127.0.0.1' | 'localhost';
  readonly maxBodyBytes?: number;
  readonly faults?: FaultPlan;
}

export interface ReceiverCounts {
  /** HTTP requests that reached the handler (after TLS). */
  readonly requests: number;
  /** Distinct events stored: rows in the database. */
  readonly stored: number;
  /** Events received again with the hash already stored: resends, dropped. */
  readonly duplicates: number;
  /** Events received again with a different hash than stored (must stay 0). */
  readonly conflicts: number;
  /** Batches refused with 4xx (malformed, unknown device, bad signature...). */
  readonly rejected: number;
  /** 409 answers (gap or chain break). */
  readonly resyncs: number;
  /** Requests a fault was injected into. */
  readonly faults: number;
  /** Events whose signature and chain link were verified. */
  readonly verified: number;
}

export interface Receiver {
  readonly port: number;
  readonly url: string;
  counts(): ReceiverCounts;
  setFaults(plan: FaultPlan | undefined): void;
  /** Resolves once `predicate(counts)` holds (checked after every request). */
  waitFor(predicate: (c: ReceiverCounts) => boolean, timeoutMs?: number): Promise<ReceiverCounts>;
  last(device: string): ChainPosition;
  /** Re-verifies everything stored for `device` from its registered start, in seq order. */
  verifyStored(device: string): VerifyResult;
  close(): Promise<void>;
}

interface DeviceState {
  readonly deviceId: string;
  readonly publicKey: KeyObject;
  readonly keyId: string;
  readonly start: ChainPosition;
  last: ChainPosition;
}

class HttpReply extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(`HTTP ${status}`);
  }
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  device TEXT NOT NULL,
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL,
  sig TEXT NOT NULL,
  body TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  PRIMARY KEY (device, seq)
) WITHOUT ROWID;`;

export async function startReceiver(opts: ReceiverOptions): Promise<Receiver> {
  const db = new Database(opts.dbPath);
  if (opts.dbKey !== undefined) db.pragma(`key = '${opts.dbKey.replace(/'/g, "''")}'`);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(SCHEMA);
  const insert = db.prepare('INSERT INTO events (device, seq, hash, sig, body, received_at) VALUES (?, ?, ?, ?, ?, ?)');
  const hashAt = db.prepare<[string, number], { hash: string }>('SELECT hash FROM events WHERE device = ? AND seq = ?');
  const lastRow = db.prepare<[string], { seq: number; hash: string }>('SELECT seq, hash FROM events WHERE device = ? ORDER BY seq DESC LIMIT 1');
  const countRows = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM events');
  const allRows = db.prepare<[string], { seq: number; hash: string; sig: string; body: string }>('SELECT seq, hash, sig, body FROM events WHERE device = ? ORDER BY seq');
  const storeBatch = db.transaction((device: string, rows: readonly EventBatch['events'][number][]) => {
    const now = Date.now();
    for (const r of rows) insert.run(device, r.seq, r.hash, r.sig, r.body, now);
  });

  const devices = new Map<string, DeviceState>();
  for (const [deviceId, reg] of opts.devices) {
    const publicKey = createPublicKey(reg.publicKeyPem);
    const start = reg.start ?? { seq: 0, hash: GENESIS_HASH };
    devices.set(deviceId, { deviceId, publicKey, keyId: keyIdOf(publicKey), start, last: lastRow.get(deviceId) ?? start });
  }

  const counts = { requests: 0, stored: countRows.get()?.n ?? 0, duplicates: 0, conflicts: 0, rejected: 0, resyncs: 0, faults: 0, verified: 0 };
  const changed = new EventEmitter();
  changed.setMaxListeners(0);
  let faults = opts.faults;
  const maxBodyBytes = opts.maxBodyBytes ?? 32 * 1024 * 1024;
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  function processBatch(batch: EventBatch): { status: number; body: Record<string, unknown> } {
    const dev = devices.get(batch.device);
    if (!dev) throw new HttpReply(403, { reason: 'unknown-device', message: `device ${batch.device} is not registered with this collector` });
    if (batch.keyId !== dev.keyId) throw new HttpReply(422, { reason: 'wrong-device-key', message: `key ${batch.keyId} is not the registered key of device ${batch.device}` });

    let i = 0;
    let dupes = 0;
    for (; i < batch.events.length; i++) {
      const e = batch.events[i]!;
      if (e.seq > dev.last.seq) break;
      const known = e.seq === dev.last.seq ? dev.last.hash : e.seq <= dev.start.seq ? null : (hashAt.get(dev.deviceId, e.seq)?.hash ?? null);
      if (known !== null && known !== e.hash) {
        counts.conflicts++;
        counts.resyncs++;
        return { status: 409, body: { lastSeq: dev.last.seq, lastHash: dev.last.hash } };
      }
      dupes++;
    }
    counts.duplicates += dupes;

    const verifier = new ChainVerifier({ publicKey: dev.publicKey, keyId: dev.keyId, device: dev.deviceId, start: dev.last });
    const fresh: EventBatch['events'][number][] = [];
    let problem: VerifyProblem | null = null;
    for (; i < batch.events.length; i++) {
      const e = batch.events[i]!;
      problem = verifier.push(e);
      if (problem) break;
      fresh.push(e);
    }
    if (fresh.length > 0) {
      storeBatch(dev.deviceId, fresh);
      const tail = fresh[fresh.length - 1]!;
      dev.last = { seq: tail.seq, hash: tail.hash };
      counts.stored += fresh.length;
      counts.verified += fresh.length;
    }
    if (problem && fresh.length === 0) {
      if (problem.reason === 'gap' || problem.reason === 'chain-break' || problem.reason === 'reordered' || problem.reason === 'duplicate') {
        counts.resyncs++;
        return { status: 409, body: { lastSeq: dev.last.seq, lastHash: dev.last.hash } };
      }
      counts.rejected++;
      return { status: 422, body: { reason: problem.reason, message: problem.message, seq: problem.seq } };
    }
    // A problem after a verified prefix: acknowledge the prefix; the resend starting at the
    // bad event gets the 409/422 on its own.
    return { status: 200, body: { acceptedThrough: dev.last.seq } };
  }

  function reply(res: ServerResponse, status: number, body: Record<string, unknown>): void {
    if (res.destroyed || res.headersSent) return;
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  function readBody(req: IncomingMessage, fault: Fault | undefined): Promise<Buffer | null> {
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      req.on('data', (chunk: Buffer) => {
        if (done) return;
        if (fault?.kind === 'reset-mid-body') {
          done = true;
          req.socket.destroy();
          resolve(null);
          return;
        }
        size += chunk.length;
        if (size > maxBodyBytes) {
          done = true;
          resolve(null);
          req.socket.destroy();
          return;
        }
        chunks.push(chunk);
        if (fault?.kind === 'slow-read') {
          req.pause();
          later(fault.chunkDelayMs, () => req.resume());
        }
      });
      req.on('end', () => {
        if (!done) resolve(Buffer.concat(chunks));
      });
      req.on('error', () => resolve(null));
      req.on('aborted', () => resolve(null));
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const index = counts.requests++;
    if (req.url !== EVENTS_PATH) return reply(res, 404, { reason: 'not-found' });
    if (req.method !== 'POST') return reply(res, 405, { reason: 'method-not-allowed' });
    const fault = faults?.({ index });
    if (fault) counts.faults++;
    if (fault?.kind === 'status') {
      req.resume();
      return reply(res, fault.status, { reason: 'injected', message: `injected HTTP ${fault.status}` });
    }
    if (fault?.kind === 'hang') {
      req.resume();
      return;
    }
    const raw = await readBody(req, fault);
    if (raw === null) return;
    let outcome: { status: number; body: Record<string, unknown> };
    try {
      let json: unknown;
      try {
        json = JSON.parse(raw.toString('utf8'));
      } catch {
        throw new HttpReply(400, { reason: 'malformed', message: 'the body is not JSON' });
      }
      const parsed = eventBatchSchema.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new HttpReply(400, { reason: 'malformed', message: `${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid batch'}` });
      }
      outcome = processBatch(parsed.data);
    } catch (err) {
      if (!(err instanceof HttpReply)) throw err;
      counts.rejected++;
      outcome = { status: err.status, body: err.body };
    }
    if (fault?.kind === 'reset-after-store') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'delay-reply') {
      later(fault.ms, () => reply(res, outcome.status, outcome.body));
      return;
    }
    reply(res, outcome.status, outcome.body);
  }

  const server = https.createServer(
    {
      ca: opts.ca,
      cert: opts.cert,
      key: opts.key,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    },
    (req, res) => {
      handle(req, res)
        .catch((err: unknown) => reply(res, 500, { reason: 'internal', message: err instanceof Error ? err.message : String(err) }))
        .finally(() => changed.emit('change'));
    },
  );
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  // TLS failures (wrong client cert) are expected in tests; they must not crash the receiver.
  server.on('tlsClientError', () => undefined);

  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('receiver: no TCP address');
  const port = address.port;
  let closed = false;

  const snapshot = (): ReceiverCounts => ({ ...counts });

  return {
    port,
    url: `https://${host}:${port}`,
    counts: snapshot,
    setFaults(plan) {
      faults = plan;
    },
    waitFor(predicate, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const c = snapshot();
          if (!predicate(c)) return;
          cleanup();
          resolve(c);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`receiver.waitFor: condition not met within ${timeoutMs} ms; counts ${JSON.stringify(snapshot())}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          changed.off('change', check);
        };
        changed.on('change', check);
        check();
      });
    },
    last(device) {
      const dev = devices.get(device);
      if (!dev) throw new Error(`receiver: device ${device} is not registered`);
      return dev.last;
    },
    verifyStored(device) {
      const dev = devices.get(device);
      if (!dev) throw new Error(`receiver: device ${device} is not registered`);
      const verifier = new ChainVerifier({ publicKey: dev.publicKey, keyId: dev.keyId, device, start: dev.start });
      for (const row of allRows.iterate(device)) {
        if (verifier.push(row)) break;
      }
      return verifier.finish();
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await done;
      changed.removeAllListeners();
      db.close();
    },
  };
}
