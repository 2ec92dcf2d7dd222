// The collector's HTTPS server (mutual TLS): the acknowledged event intake of the wire
// contract, and the directory every workstation shares — incremental pulls, a push stream
// (server-sent events) that says when the version moved, changes made at workstations,
// organisation-wide failure counts, FIDO2 counters and the organisation key. Everything but
// the event intake (whose events carry their own signatures) needs a request signed by a
// registered, active device; anyone else gets 403 and nothing.
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { EventEmitter } from 'node:events';
import type { z } from 'zod';
import { chainHash } from '../main/audit/seal';
import { parseEventBody } from '../main/audit/event';
import { SignaturePool } from '../main/audit/signature-pool';
import { ChainVerifier, type VerifyResult } from '../main/audit/verifier';
import { DirectoryConflictError } from '../main/auth/directory';
import { orgKeyFingerprint } from '../main/auth/directory-key';
import {
  AUTH_FAILURES_PATH,
  AUTH_SUCCESS_PATH,
  counterCheckSchema,
  DIRECTORY_CHANGES_PATH,
  DIRECTORY_PATH,
  DIRECTORY_STREAM_PATH,
  directoryChangeSchema,
  failureReportSchema,
  FIDO_COUNTER_PATH,
  ORG_KEY_PATH,
  successReportSchema,
  type DirectoryChange,
  type EnrollerProof,
} from '../main/auth/directory-wire';
import { checkRequestSignature, claimedDevice } from '../main/forward/request-signature';
import { eventBatchSchema, EVENTS_PATH } from '../main/forward/wire-contract';
import { DeviceKeys, intakeBatch, type IntakeCounts } from './intake';
import type { ChainHead, CollectorStore, LockoutRule } from './store/collector-store';

/** What a test can make the collector do to one event request (the fault tests). */
export type Fault =
  | { readonly kind: 'status'; readonly status: number }
  | { readonly kind: 'reset-mid-body' }
  | { readonly kind: 'slow-read'; readonly chunkDelayMs: number }
  | { readonly kind: 'delay-reply'; readonly ms: number }
  | { readonly kind: 'reset-after-store' }
  | { readonly kind: 'hang' };
export type FaultPlan = (request: { readonly index: number }) => Fault | undefined;

export interface CollectorCounts extends IntakeCounts {
  /** HTTP requests that reached the handler (after TLS). */
  requests: number;
  /** Requests a fault was injected into. */
  faults: number;
  /** Directory and auth requests refused (unsigned, unregistered, malformed, conflicts). */
  refused: number;
}

export interface CollectorOptions {
  readonly tls: { readonly ca: string; readonly cert: string; readonly key: string };
  readonly store: CollectorStore;
  /** The organisation's directory key (32 bytes) handed to registered agents. */
  readonly orgKey: Buffer;
  readonly lockout?: LockoutRule;
  /** Directory roles allowed to enrol and revoke at a workstation. */
  readonly enrollerRoles?: readonly string[];
  readonly port?: number;
  readonly host?: string;
  readonly maxEventBodyBytes?: number;
  /**
   * Bytes of event batches read and verified at once (by their declared length); past it a
   * batch is answered 503 and the workstation retries after its backoff, so many large
   * uploads at once cannot exhaust the collector's memory. 256 MiB. One batch always fits.
   */
  readonly intakeBudgetBytes?: number;
  /** How often this instance looks for directory changes made elsewhere (another instance, the admin CLI). */
  readonly pollMs?: number;
  /** How often open directory streams are checked against the device registry (a revoked device's stream is closed); 10 s. */
  readonly streamCheckMs?: number;
  readonly faults?: FaultPlan;
  readonly now?: () => number;
  /** Worker threads verifying signatures (default: one per core). */
  readonly verifyThreads?: number;
}

export interface CollectorServer {
  readonly port: number;
  readonly url: string;
  counts(): CollectorCounts;
  setFaults(plan: FaultPlan | undefined): void;
  waitFor(predicate: (c: CollectorCounts) => boolean, timeoutMs?: number): Promise<CollectorCounts>;
  /** The stored chain head of a device. */
  last(device: string): Promise<ChainHead>;
  /** Re-verifies everything stored for `device` from seq 1. */
  verifyStored(device: string): Promise<VerifyResult>;
  /** Streams currently open to workstations. */
  streams(): number;
  /** Looks for a new directory version now and tells the streams (also runs every pollMs). */
  announce(): Promise<void>;
  close(): Promise<void>;
}

class HttpReply extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(`HTTP ${status}`);
  }
}

const SMALL_BODY = 64 * 1024;
/**
 * How long a request nonce is kept: a request is accepted for 4 minutes (its time ±2 minutes
 * of the collector clock), and collectors on one database stamp and delete nonces by their
 * own clocks, so 10 minutes leave room for 6 minutes between two collectors' clocks.
 */
const NONCE_WINDOW_MS = 10 * 60_000;
/** The enroller's proof must be recent: minutes, not hours. */
const PROOF_MAX_AGE_MS = 15 * 60_000;
const KEEPALIVE_MS = 15_000;

export async function startCollector(opts: CollectorOptions): Promise<CollectorServer> {
  const { store } = opts;
  const now = opts.now ?? Date.now;
  const lockout = opts.lockout ?? { maxFailures: 5, lockoutMs: 15 * 60_000 };
  const enrollerRoles = opts.enrollerRoles ?? ['enroller'];
  const keys = new DeviceKeys();
  // Signatures on worker threads, one per core: the main thread parses, checks the chain and stores.
  const pool = new SignaturePool(opts.verifyThreads);
  const counts: CollectorCounts = { requests: 0, stored: await store.countEvents(), duplicates: 0, conflicts: 0, rejected: 0, resyncs: 0, faults: 0, verified: 0, refused: 0 };
  const changed = new EventEmitter();
  changed.setMaxListeners(0);
  let faults = opts.faults;
  const maxEventBody = opts.maxEventBodyBytes ?? 32 * 1024 * 1024;
  const intakeBudget = opts.intakeBudgetBytes ?? 256 * 1024 * 1024;
  let intakeBytes = 0;
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  /** Open directory streams and the device each belongs to. */
  const streams = new Map<ServerResponse, string>();
  let version = await store.version();

  const later = (ms: number, fn: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  function reply(res: ServerResponse, status: number, body: Record<string, unknown> | null): void {
    if (res.destroyed || res.headersSent) return;
    if (body === null) {
      res.writeHead(status, { 'content-length': 0 });
      res.end();
      return;
    }
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
    res.end(text);
  }

  function readBody(req: IncomingMessage, limit: number, fault?: Fault): Promise<Buffer | null> {
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > limit) {
        done = true;
        resolve(null);
        return;
      }
      req.on('data', (chunk: Buffer) => {
        if (done) return;
        if (fault?.kind === 'reset-mid-body') {
          done = true;
          req.socket.destroy();
          resolve(null);
          return;
        }
        size += chunk.length;
        if (size > limit) {
          done = true;
          resolve(null);
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

  function parseJson<T extends z.ZodType>(raw: Buffer, schema: T): z.output<T> {
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new HttpReply(400, { reason: 'malformed', message: 'the body is not JSON' });
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new HttpReply(400, { reason: 'malformed', message: `${issue?.path.join('.') || '(body)'}: ${issue?.message ?? 'invalid'}` });
    }
    return parsed.data;
  }

  /** The registered, active device that signed this request; anything else is a 403 that says why. */
  async function signedBy(req: IncomingMessage, path: string, body: Buffer): Promise<string> {
    const claimed = claimedDevice(req.headers);
    if (!claimed) throw new HttpReply(403, { reason: 'unsigned', message: 'directory requests must be signed by a registered device' });
    const device = await store.device(claimed);
    if (!device) throw new HttpReply(403, { reason: 'unknown-device', message: `device ${claimed} is not registered with this collector` });
    if (device.state !== 'active') throw new HttpReply(403, { reason: 'revoked-device', message: `device ${claimed} was revoked at this collector` });
    const check = checkRequestSignature(req.headers, req.method ?? 'GET', path, body, keys.keyOf(device), now());
    if (!check.ok) throw new HttpReply(403, { reason: 'bad-signature', message: check.reason });
    // In the database, not in this process: another collector on it may have taken it.
    if (!(await store.claimRequestNonce(claimed, check.nonce, now(), NONCE_WINDOW_MS))) {
      throw new HttpReply(403, { reason: 'replayed', message: 'this request was already received (a replay)' });
    }
    return claimed;
  }

  /**
   * The enroller proved their own factor at the workstation: the proof is that sign-in
   * event from the device's own signed chain, recent, for enrolment, by the enroller, who
   * holds an enroller role here.
   */
  async function checkProof(deviceId: string, change: DirectoryChange): Promise<void> {
    const proof: EnrollerProof = change.proof;
    const device = (await store.device(deviceId))!;
    let event;
    try {
      event = parseEventBody(proof.body);
    } catch {
      throw new HttpReply(422, { reason: 'bad-proof', message: "the enroller's proof is not an audit event" });
    }
    const verifier = new ChainVerifier({ publicKey: keys.keyOf(device), keyId: device.keyId, device: deviceId, start: null });
    const problem = verifier.push({ seq: proof.seq, hash: proof.hash, sig: proof.sig, body: proof.body });
    if (problem || !chainHash(event.prevHash, proof.body).equals(Buffer.from(proof.hash, 'hex'))) {
      throw new HttpReply(422, { reason: 'bad-proof', message: "the enroller's proof is not signed by this device" });
    }
    const okAction = event.action === 'auth.pin.success' || event.action === 'auth.fido.success';
    if (!okAction || event.user !== change.enroller || event.details.purpose !== 'enrolment') {
      throw new HttpReply(422, { reason: 'bad-proof', message: "the proof is not the enroller's sign-in for enrolment" });
    }
    if (Math.abs(now() - Date.parse(event.time)) > PROOF_MAX_AGE_MS) throw new HttpReply(422, { reason: 'stale-proof', message: "the enroller's sign-in is too old; sign in to enrolment again" });
    const enroller = await store.user(change.enroller);
    if (!enroller || enroller.state !== 'active' || !enroller.roles.some((r) => enrollerRoles.includes(r))) {
      throw new HttpReply(403, { reason: 'not-enroller', message: `${change.enroller} may not enrol or revoke` });
    }
  }

  async function handleEvents(req: IncomingMessage, res: ServerResponse, index: number): Promise<void> {
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
    const declared = Number(req.headers['content-length']);
    const reserve = Number.isSafeInteger(declared) && declared > 0 ? Math.min(declared, maxEventBody) : maxEventBody;
    if (intakeBytes > 0 && intakeBytes + reserve > intakeBudget) {
      counts.refused++;
      req.resume();
      return reply(res, 503, { reason: 'busy', message: 'the collector is taking in as much as it can hold; the batch is not stored, send it again shortly' });
    }
    intakeBytes += reserve;
    try {
      await takeIn(req, res, fault);
    } finally {
      intakeBytes -= reserve;
    }
  }

  async function takeIn(req: IncomingMessage, res: ServerResponse, fault: Fault | undefined): Promise<void> {
    const raw = await readBody(req, maxEventBody, fault);
    if (raw === null) {
      if (!req.socket.destroyed) reply(res, 413, { reason: 'too-large', message: `a batch may be at most ${maxEventBody} bytes` });
      return;
    }
    let outcome: { status: number; body: Record<string, unknown> };
    try {
      outcome = await intakeBatch(store, keys, parseJson(raw, eventBatchSchema), counts, pool);
      if (outcome.status === 403) counts.rejected++;
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

  async function handleSigned(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname;
    const body = (await readBody(req, SMALL_BODY)) ?? null;
    if (body === null) throw new HttpReply(413, { reason: 'too-large', message: `at most ${SMALL_BODY} bytes` });
    const device = await signedBy(req, `${path}${url.search}`, body);
    if (path === DIRECTORY_PATH && req.method === 'GET') {
      const since = Number(url.searchParams.get('since') ?? '0');
      if (!Number.isSafeInteger(since) || since < 0) throw new HttpReply(400, { reason: 'malformed', message: 'since must be a directory version (0 or more)' });
      return reply(res, 200, await store.changesSince(since));
    }
    if (path === DIRECTORY_STREAM_PATH && req.method === 'GET') return openStream(res, device);
    if (path === ORG_KEY_PATH && req.method === 'GET') return reply(res, 200, { key: opts.orgKey.toString('base64'), keyId: orgKeyFingerprint(opts.orgKey) });
    if (req.method !== 'POST') throw new HttpReply(405, { reason: 'method-not-allowed', message: `${req.method} is not allowed here` });
    if (path === DIRECTORY_CHANGES_PATH) {
      const change = parseJson(body, directoryChangeSchema);
      await checkProof(device, change);
      try {
        const v = await store.applyChange(change, device);
        await store.audit({ actor: `${change.enroller}@${device}`, action: change.kind === 'enrol' ? 'directory.enrol' : 'directory.revoke', subject: change.kind === 'enrol' ? change.userId : change.target.userId, details: { change: change.id } });
        reply(res, 200, { version: v });
        void announce();
      } catch (err) {
        if (err instanceof DirectoryConflictError) throw new HttpReply(409, { reason: err.kind, message: err.message });
        throw err;
      }
      return;
    }
    if (path === AUTH_FAILURES_PATH) {
      const report = parseJson(body, failureReportSchema);
      const r = await refuseUnknownUser(() => store.recordFailure(report.userId, lockout));
      if (r.lockedNow) {
        await store.audit({ actor: device, action: 'auth.lockout', subject: report.userId, details: { failures: r.failures, until: r.lockedUntil } });
        void announce();
      }
      return reply(res, 200, { failures: r.failures, triesLeft: r.triesLeft, lockedUntil: r.lockedUntil });
    }
    if (path === AUTH_SUCCESS_PATH) {
      const report = parseJson(body, successReportSchema);
      await store.recordSuccess(report.userId);
      return reply(res, 204, null);
    }
    if (path === FIDO_COUNTER_PATH) {
      const check = parseJson(body, counterCheckSchema);
      const r = await refuseUnknownUser(() => store.checkCounter(check.credentialId, check.counter));
      if (!r.ok) await store.audit({ actor: device, action: 'auth.fido.clone_suspected', subject: check.credentialId.slice(0, 16), details: { counter: check.counter, highest: r.highest } });
      return reply(res, 200, r);
    }
    throw new HttpReply(404, { reason: 'not-found', message: `no ${path} here` });
  }

  async function refuseUnknownUser<T>(f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (err) {
      if (err instanceof DirectoryConflictError) throw new HttpReply(404, { reason: err.kind, message: err.message });
      throw err;
    }
  }

  function openStream(res: ServerResponse, device: string): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(`retry: 2000\nevent: version\ndata: ${JSON.stringify({ version })}\n\n`);
    streams.set(res, device);
    const keepalive = setInterval(() => res.write(': keep-alive\n\n'), KEEPALIVE_MS);
    res.on('close', () => {
      clearInterval(keepalive);
      streams.delete(res);
    });
  }

  async function announce(): Promise<void> {
    let v: number;
    try {
      v = await store.version();
    } catch {
      return; // the database is unreachable for a moment: the next poll tries again
    }
    if (v <= version) return;
    version = v;
    const frame = `event: version\ndata: ${JSON.stringify({ version: v })}\n\n`;
    for (const s of streams.keys()) s.write(frame);
  }

  /** Closes the streams of devices revoked (or removed) since they opened: reconnecting, they get 403. */
  async function dropRevokedStreams(): Promise<void> {
    if (streams.size === 0) return;
    let active: Set<string>;
    try {
      active = new Set((await store.devices()).filter((d) => d.state === 'active').map((d) => d.deviceId));
    } catch {
      return; // the database is unreachable for a moment: the next check tries again
    }
    for (const [res, device] of streams) if (!active.has(device)) res.end();
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const index = counts.requests++;
    const url = new URL(req.url ?? '/', 'https://collector.invalid');
    if (url.pathname === EVENTS_PATH) return handleEvents(req, res, index);
    try {
      await handleSigned(req, res, url);
    } catch (err) {
      if (!(err instanceof HttpReply)) throw err;
      counts.refused++;
      req.resume();
      reply(res, err.status, err.body);
    }
  }

  // Session tickets valid for an hour: workstations reconnecting after a network outage resume
  // their TLS session instead of a full handshake (the device registry, not the handshake,
  // decides who may send, so a revoked device is refused either way).
  const server = https.createServer({ ca: opts.tls.ca, cert: opts.tls.cert, key: opts.tls.key, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2', sessionTimeout: 3600 }, (req, res) => {
    handle(req, res)
      .catch((err: unknown) => reply(res, 500, { reason: 'internal', message: err instanceof Error ? err.message : String(err) }))
      .finally(() => changed.emit('change'));
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 70_000;
  // A sender too slow to finish a request in two minutes holds its share of the intake budget no longer.
  server.requestTimeout = 120_000;
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  // Refused handshakes (wrong client certificate) are expected; they must not crash the collector.
  server.on('tlsClientError', () => undefined);

  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // A reconnect storm is thousands of workstations at once: a short accept queue would drop
    // their SYNs and make them wait a second or more to retry.
    server.listen({ port: opts.port ?? 0, host, backlog: 4096 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('collector: no TCP address');
  const poll = setInterval(() => void announce(), opts.pollMs ?? 500);
  const streamCheck = setInterval(() => void dropRevokedStreams(), opts.streamCheckMs ?? 10_000);
  let closed = false;
  const snapshot = (): CollectorCounts => ({ ...counts });

  return {
    port: address.port,
    url: `https://${host === '::' || host === '0.0.0.0' ? 'localhost' : host}:${address.port}`,
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
          reject(new Error(`collector.waitFor: condition not met within ${timeoutMs} ms; counts ${JSON.stringify(snapshot())}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          changed.off('change', check);
        };
        changed.on('change', check);
        check();
      });
    },
    last: (device) => store.head(device),
    async verifyStored(device) {
      const d = await store.device(device);
      if (!d) throw new Error(`collector: device ${device} is not registered`);
      const verifier = new ChainVerifier({ publicKey: keys.keyOf(d), keyId: d.keyId, device, start: { seq: 0, hash: '0'.repeat(64) } });
      for (let after = 0; ; ) {
        const rows = await store.eventsOf(device, after, 10_000);
        if (rows.length === 0) break;
        for (const row of rows) if (verifier.push(row)) return verifier.finish();
        after = rows[rows.length - 1]!.seq;
      }
      return verifier.finish();
    },
    streams: () => streams.size,
    announce,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(poll);
      clearInterval(streamCheck);
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const s of streams.keys()) s.end();
      pool.dispose();
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await done;
      changed.removeAllListeners();
    },
  };
}
