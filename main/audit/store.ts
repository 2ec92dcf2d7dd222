// The encrypted, tamper-evident audit buffer: SQLCipher-encrypted SQLite (key in the OS
// keychain), WAL + synchronous=FULL, one hash-chained, Ed25519-signed row per event.
// Appends made together (in one turn of the event loop) are grouped into one durable commit.
import Database, { type Database as Db, type Statement, type Transaction } from 'better-sqlite3-multiple-ciphers';
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { canonicalJson } from './canonical-json';
import { AuditStoreError, isCorruption, writeError } from './errors';
import {
  auditInputProblems,
  buildEvent,
  GENESIS_HASH,
  type AuditEvent,
  type AuditEventInput,
  type ChainedEvent,
  type SealedEvent,
} from './event';
import { LATEST_VERSION, migrate } from './migrations';
import type { AuditRecorder } from './recorder';
import { chainHash } from './seal';
import { uuidV7 } from './uuid-v7';
import { toDisposable, type Disposable } from '../disposable';
import { systemClock, type Clock } from '../platform/clock';
import type { DeviceIdentity } from '../platform/device-identity';
import type { KeyStore } from '../platform/keystore';
import type { RequestSigner } from '../forward/request-signature';

export const DB_KEY_ACCOUNT = 'audit-db-key';
const PAGE_SIZE = 4096; // SQLCipher v4 default

export interface AuditStoreOptions {
  readonly path: string;
  readonly keyStore: KeyStore;
  readonly identity: DeviceIdentity;
  readonly clock?: Clock;
}

export interface ChainPoint {
  readonly seq: number;
  readonly hash: string;
}

export interface AuditStoreStats {
  readonly firstSeq: number | null;
  readonly lastSeq: number;
  readonly count: number;
  readonly acknowledgedThrough: number;
  readonly unacknowledged: number;
  readonly oldestUnackedTime: string | null;
  readonly databaseBytes: number;
}

interface PendingAppend {
  readonly input: AuditEventInput;
  readonly resolve: (e: AuditEvent) => void;
  readonly reject: (err: Error) => void;
}

/** Opens (or on first start creates) the key and the database; fails closed with a clear error. */
async function loadKey(path: string, keyStore: KeyStore): Promise<string> {
  const stored = await keyStore.get(DB_KEY_ACCOUNT);
  const exists = existsSync(path);
  if (stored === null) {
    if (exists) {
      throw new AuditStoreError(
        'key-missing',
        `The audit database key is missing from the ${keyStore.description} (account "${DB_KEY_ACCOUNT}"), so ${path} cannot be opened. ` +
          'The file was not touched. Restore the keychain entry (or the user profile that holds it); never delete the database to get past this.',
      );
    }
    const key = randomBytes(32).toString('hex');
    await keyStore.set(DB_KEY_ACCOUNT, key);
    return key;
  }
  if (!/^[0-9a-f]{64}$/.test(stored)) {
    throw new AuditStoreError(
      'key-invalid',
      `The audit database key in the ${keyStore.description} (account "${DB_KEY_ACCOUNT}") is not 32 bytes of hex; it may have been overwritten. ` +
        `${path} was not touched. Restore the keychain entry from backup.`,
    );
  }
  return stored;
}

function checkFileShape(path: string): void {
  if (!existsSync(path)) return;
  const size = statSync(path).size;
  if (size === 0 || size % PAGE_SIZE !== 0) {
    throw new AuditStoreError(
      'corrupt',
      `The audit database ${path} is truncated or damaged (${size} bytes is not a whole number of ${PAGE_SIZE}-byte pages). ` +
        'It was not modified. Keep the file for investigation, restore it from backup if one exists, and run `agentctl verify` on it.',
    );
  }
}

/** Opens an encrypted connection and proves the key decrypts it, before anything is written. */
export function openEncrypted(path: string, keyHex: string, opts: { readonly?: boolean } = {}): Db {
  checkFileShape(path);
  let db: Db;
  try {
    db = new Database(path, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
  } catch (err) {
    throw writeError(err, path);
  }
  try {
    db.pragma(`cipher = 'sqlcipher'`);
    db.pragma('legacy = 4');
    db.pragma(`key = "x'${keyHex}'"`);
    db.prepare('SELECT count(*) FROM sqlite_master').get();
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === 'SQLITE_NOTADB') {
      throw new AuditStoreError(
        'cannot-decrypt',
        `The audit database ${path} cannot be decrypted with the key in the OS keychain: the key belongs to another database, ` +
          'or the start of the file is damaged. The file was not modified. Restore the matching keychain entry; do not delete the database.',
        { cause: err },
      );
    }
    if (isCorruption(err)) {
      throw new AuditStoreError('corrupt', `The audit database ${path} is damaged (${(err as Error).message}). It was not modified.`, { cause: err });
    }
    throw writeError(err, path);
  }
  if (!opts.readonly) {
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    db.pragma('synchronous = FULL');
    const sync = db.pragma('synchronous', { simple: true });
    if (mode !== 'wal' || sync !== 2) {
      db.close();
      throw new AuditStoreError('io', `The audit database ${path} refused WAL + synchronous=FULL (got ${String(mode)}, ${String(sync)}).`);
    }
  }
  return db;
}

export class AuditStore implements AuditRecorder {
  private pending: PendingAppend[] = [];
  private flushScheduled = false;
  private closed = false;
  private headSeq: number;
  private headHash: string;
  private anchorPoint: ChainPoint;
  private ackedThrough: number;
  private readonly listeners = new Set<(events: readonly AuditEvent[]) => void>();
  private readonly clock: Clock;
  private readonly sealAndInsert: Transaction<(batch: readonly PendingAppend[], from: ChainPoint) => { events: AuditEvent[]; head: ChainPoint }>;
  private readonly stmts: {
    insert: Statement<[number, string, string, string, Buffer, Buffer]>;
    head: Statement<[], { seq: number; hash: Buffer }>;
    /** Raw rows (arrays, in EVENT_COLUMNS order): cheaper than an object per row. */
    readAfter: Statement<[number, number], unknown[]>;
    /** Raw rows in CHAINED_COLUMNS order. */
    readChainedAfter: Statement<[number, number], unknown[]>;
    timeOf: Statement<[number], { time: string }>;
    hashOf: Statement<[number], { hash: Buffer }>;
    insertAck: Statement<[number, number, string]>;
    cursor: Statement<[string], { through_seq: number }>;
    setCursor: Statement<[string, number, number]>;
  };
  /** Written once when the database was created; never changes. */
  private readonly meta: { readonly device: string; readonly keyId: string; readonly publicKeyPem: string };

  private constructor(
    private readonly db: Db,
    readonly path: string,
    /** Null for a read-only store (verify, export): it never seals. */
    private readonly identity: DeviceIdentity | null,
    clock: Clock,
  ) {
    this.clock = clock;
    this.stmts = {
      insert: db.prepare('INSERT INTO events (seq, time, action, body, hash, sig) VALUES (?, ?, ?, ?, ?, ?)'),
      head: db.prepare('SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1'),
      readAfter: db.prepare<[number, number], unknown[]>(`SELECT ${EVENT_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?`).raw(true),
      readChainedAfter: db.prepare<[number, number], unknown[]>(`SELECT ${CHAINED_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?`).raw(true),
      timeOf: db.prepare('SELECT time FROM events WHERE seq = ?'),
      hashOf: db.prepare('SELECT hash FROM events WHERE seq = ?'),
      insertAck: db.prepare('INSERT INTO acks (through_seq, acked_at_ms, source) VALUES (?, ?, ?)'),
      cursor: db.prepare('SELECT through_seq FROM cursors WHERE name = ?'),
      setCursor: db.prepare(
        'INSERT INTO cursors (name, through_seq, updated_at_ms) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET through_seq = excluded.through_seq, updated_at_ms = excluded.updated_at_ms',
      ),
    };
    const meta = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?');
    this.meta = { device: meta.get('device')?.value ?? '', keyId: meta.get('keyId')?.value ?? '', publicKeyPem: meta.get('publicKey')?.value ?? '' };
    this.sealAndInsert = db.transaction((batch: readonly PendingAppend[], from: ChainPoint) => this.sealBatch(batch, from));
    this.anchorPoint = this.readAnchor();
    const head = this.stmts.head.get();
    this.headSeq = head?.seq ?? this.anchorPoint.seq;
    this.headHash = head ? head.hash.toString('hex') : this.anchorPoint.hash;
    const acked = db.prepare<[], { t: number | null }>('SELECT max(through_seq) AS t FROM acks').get();
    this.ackedThrough = acked?.t ?? 0;
  }

  /** Opens the store; `identity` must be the key pair that signed the existing rows. */
  static async open(opts: AuditStoreOptions): Promise<AuditStore> {
    const key = await loadKey(opts.path, opts.keyStore);
    const db = openEncrypted(opts.path, key);
    try {
      migrate(db, opts.path);
      AuditStore.bindDevice(db, opts.path, opts.identity);
      const store = new AuditStore(db, opts.path, opts.identity, opts.clock ?? systemClock);
      store.checkTail();
      return store;
    } catch (err) {
      db.close();
      if (err instanceof AuditStoreError) throw err;
      if (isCorruption(err)) {
        throw new AuditStoreError('corrupt', `The audit database ${opts.path} is damaged (${(err as Error).message}). Keep it for investigation; run \`agentctl verify\`.`, { cause: err });
      }
      throw writeError(err, opts.path);
    }
  }

  private static bindDevice(db: Db, path: string, identity: DeviceIdentity): void {
    const get = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?');
    const storedKey = get.get('publicKey')?.value;
    if (storedKey === undefined) {
      const put = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
      db.transaction(() => {
        put.run('device', identity.deviceId);
        put.run('keyId', identity.keyId);
        put.run('publicKey', identity.publicKeyPem);
        put.run('anchorSeq', '0');
        put.run('anchorHash', GENESIS_HASH);
      }).immediate();
      return;
    }
    if (storedKey !== identity.publicKeyPem) {
      throw new AuditStoreError(
        'device-mismatch',
        `The audit database ${path} was signed by a different device key (key ${get.get('keyId')?.value ?? '?'}) than the one in the keychain ` +
          `(key ${identity.keyId}). The file was not modified. Restore the original keychain entries, or archive this database before re-provisioning.`,
      );
    }
  }

  /** Reads the newest row so a file cut short fails now, with its name, not at the first append. */
  private checkTail(): void {
    if (this.headSeq > this.anchorPoint.seq) this.stmts.hashOf.get(this.headSeq);
  }

  private readAnchor(): ChainPoint {
    const get = this.db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?');
    return { seq: Number(get.get('anchorSeq')?.value ?? 0), hash: get.get('anchorHash')?.value ?? GENESIS_HASH };
  }

  /**
   * Opens an existing database for reading only (agentctl verify/export while the agent
   * runs): the key must already be in the keychain; nothing is created or written.
   */
  static async openReadOnly(path: string, keyStore: KeyStore): Promise<AuditStore> {
    if (!existsSync(path)) throw new AuditStoreError('corrupt', `There is no audit database at ${path}. Check the path (agentctl prints the default with --help).`);
    const key = await keyStore.get(DB_KEY_ACCOUNT);
    if (key === null) {
      throw new AuditStoreError('key-missing', `The audit database key is missing from the ${keyStore.description} (account "${DB_KEY_ACCOUNT}"); ${path} cannot be read. Run this as the account the agent runs as.`);
    }
    const db = openEncrypted(path, key, { readonly: true });
    try {
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version !== LATEST_VERSION) {
        throw new AuditStoreError('from-the-future', `The audit database ${path} has schema version ${version}; this agentctl reads version ${LATEST_VERSION}. Use the agentctl of the agent version that wrote it.`);
      }
      return new AuditStore(db, path, null, systemClock);
    } catch (err) {
      db.close();
      if (err instanceof AuditStoreError) throw err;
      throw new AuditStoreError('corrupt', `The audit database ${path} is damaged (${(err as Error).message}).`, { cause: err });
    }
  }

  /** Appends one event; resolves once it is durable on disk (shared commit with concurrent appends). */
  record(input: AuditEventInput): Promise<AuditEvent> {
    if (this.closed || this.identity === null) {
      return Promise.reject(new AuditStoreError('closed', `The audit store ${this.path} is ${this.closed ? 'closed' : 'open read-only'}; the event was not recorded.`));
    }
    const why = auditInputProblems(input);
    if (why !== null) return Promise.reject(new AuditStoreError('invalid-event', `Audit event rejected: ${why}`));
    return new Promise<AuditEvent>((resolve, reject) => {
      this.pending.push({ input, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // A microtask, not the next event-loop turn: appends made in this job (and in the
        // continuations of appends just resolved) still share one commit, and a lone
        // append waits for nothing but its own commit.
        queueMicrotask(() => this.flush());
      }
    });
  }

  /** Seals and commits everything pending in one transaction. */
  private flush(): void {
    this.flushScheduled = false;
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    let sealed: { events: AuditEvent[]; head: ChainPoint };
    try {
      sealed = this.commitBatch(batch);
    } catch (err) {
      const e = err instanceof AuditStoreError ? err : writeError(err, this.path);
      for (const p of batch) p.reject(e);
      return;
    }
    this.headSeq = sealed.head.seq;
    this.headHash = sealed.head.hash;
    batch.forEach((p, i) => p.resolve(sealed.events[i]!));
    for (const l of this.listeners) {
      try {
        l(sealed.events);
      } catch {
        // A listener's failure must never affect recording.
      }
    }
  }

  /**
   * Continues the chain from the cached head. A lone event is one autocommit INSERT; a
   * group is one transaction. If another process appended meanwhile (agentctl never does,
   * but a second agent might), the INSERT hits the primary key and the batch is resealed
   * from the head the database holds, so the chain stays intact.
   */
  private commitBatch(batch: readonly PendingAppend[]): { events: AuditEvent[]; head: ChainPoint } {
    let from: ChainPoint = { seq: this.headSeq, hash: this.headHash };
    for (let attempt = 0; ; attempt++) {
      try {
        return batch.length === 1 ? this.sealBatch(batch, from) : this.sealAndInsert.immediate(batch, from);
      } catch (err) {
        if ((err as { code?: string }).code !== 'SQLITE_CONSTRAINT_PRIMARYKEY' || attempt >= 3) throw err;
        const dbHead = this.stmts.head.get();
        from = dbHead ? { seq: dbHead.seq, hash: dbHead.hash.toString('hex') } : this.anchorPoint;
      }
    }
  }

  private sealBatch(batch: readonly PendingAppend[], from: ChainPoint): { events: AuditEvent[]; head: ChainPoint } {
    let seq = from.seq;
    let prev = from.hash;
    const events: AuditEvent[] = [];
    const identity = this.identity!; // record() refuses when read-only
    const { deviceId, keyId } = identity;
    for (const { input } of batch) {
      seq++;
      const wall = this.clock.wallMs();
      const event = buildEvent(input, { seq, id: uuidV7(wall), time: new Date(wall).toISOString(), device: deviceId, keyId, prevHash: prev });
      const body = canonicalJson(event);
      const hash = chainHash(prev, body);
      this.stmts.insert.run(seq, event.time, event.action, body, hash, identity.sign(hash));
      events.push(event);
      prev = hash.toString('hex');
    }
    return { events, head: { seq, hash: prev } };
  }

  /** Called with each committed group of events (after their appends resolved). */
  onAppend(listener: (events: readonly AuditEvent[]) => void): Disposable {
    this.listeners.add(listener);
    return toDisposable(() => this.listeners.delete(listener));
  }

  /** The last appended event's position ({anchor} when the buffer is empty). */
  head(): ChainPoint {
    return { seq: this.headSeq, hash: this.headHash };
  }

  /** The last purged event's position: the chain of the remaining rows starts from it. */
  anchor(): ChainPoint {
    return this.anchorPoint;
  }

  /** Sealed events with seq > afterSeq, ascending; at most `limit` rows and about `maxBytes` of body (at least one row). */
  readAfter(afterSeq: number, limit: number, maxBytes = Infinity): SealedEvent[] {
    return readBounded(this.stmts.readAfter, afterSeq, limit, maxBytes, sealedFromRow);
  }

  /** As readAfter, without the signatures: for a lane whose messages do not carry them (syslog). */
  readChainedAfter(afterSeq: number, limit: number, maxBytes = Infinity): ChainedEvent[] {
    return readBounded(this.stmts.readChainedAfter, afterSeq, limit, maxBytes, chainedFromRow);
  }

  /** Streams every stored row in seq order (for verify and export) without loading them all. */
  *iterate(fromSeq = 0): Generator<SealedEvent> {
    const stmt = this.db.prepare<[number], unknown[]>(`SELECT ${EVENT_COLUMNS} FROM events WHERE seq >= ? ORDER BY seq`).raw(true);
    for (const r of stmt.iterate(fromSeq)) yield sealedFromRow(r);
  }

  /** Records an upstream's acknowledgement of everything through `throughSeq`. */
  acknowledge(throughSeq: number, source: string): void {
    if (!Number.isSafeInteger(throughSeq) || throughSeq < 0) throw new AuditStoreError('invalid-event', `invalid acknowledgement seq ${throughSeq}`);
    if (throughSeq > this.headSeq) {
      throw new AuditStoreError(
        'ack-beyond-head',
        `Upstream "${source}" acknowledged seq ${throughSeq}, but this device has only recorded through ${this.headSeq}; the acknowledgement was ignored.`,
      );
    }
    if (throughSeq <= this.ackedThrough) return;
    try {
      this.stmts.insertAck.run(throughSeq, this.clock.wallMs(), source);
    } catch (err) {
      throw writeError(err, this.path);
    }
    this.ackedThrough = throughSeq;
  }

  acknowledgedThrough(): number {
    return this.ackedThrough;
  }

  /** A lane's own position (syslog: written through; an acknowledging lane: acknowledged through); 0 when unset. */
  cursor(name: string): number {
    return this.savedCursor(name) ?? 0;
  }

  /** As cursor(), but null when the lane never recorded a position (an upstream new to this buffer). */
  savedCursor(name: string): number | null {
    return this.stmts.cursor.get(name)?.through_seq ?? null;
  }

  setCursor(name: string, throughSeq: number): void {
    try {
      this.stmts.setCursor.run(name, throughSeq, this.clock.wallMs());
    } catch (err) {
      throw writeError(err, this.path);
    }
  }

  /**
   * Deletes rows that an upstream acknowledged at least `retentionMs` ago. Never deletes an
   * unacknowledged row, whatever the disk says. Returns the number of rows deleted.
   */
  purge(opts: { retentionMs: number }): number {
    const cutoff = this.clock.wallMs() - opts.retentionMs;
    const row = this.db.prepare<[number], { t: number | null }>('SELECT max(through_seq) AS t FROM acks WHERE acked_at_ms <= ?').get(cutoff);
    const through = Math.min(row?.t ?? 0, this.ackedThrough);
    if (through <= this.anchorPoint.seq) return 0;
    const hash = this.stmts.hashOf.get(through)?.hash.toString('hex');
    if (hash === undefined) return 0;
    let deleted = 0;
    try {
      this.db.transaction(() => {
        deleted = this.db.prepare('DELETE FROM events WHERE seq <= ?').run(through).changes;
        const put = this.db.prepare('UPDATE meta SET value = ? WHERE key = ?');
        put.run(String(through), 'anchorSeq');
        put.run(hash, 'anchorHash');
        this.db.prepare('DELETE FROM acks WHERE through_seq < ?').run(through);
      }).immediate();
    } catch (err) {
      throw writeError(err, this.path);
    }
    this.anchorPoint = { seq: through, hash };
    return deleted;
  }

  stats(): AuditStoreStats {
    const count = this.headSeq - this.anchorPoint.seq;
    const firstUnacked = Math.max(this.ackedThrough, this.anchorPoint.seq) + 1;
    const oldest = firstUnacked <= this.headSeq ? (this.stmts.timeOf.get(firstUnacked)?.time ?? null) : null;
    let bytes = 0;
    for (const suffix of ['', '-wal', '-shm']) {
      try {
        bytes += statSync(this.path + suffix).size;
      } catch {
        // absent file: 0 bytes
      }
    }
    return {
      firstSeq: count > 0 ? this.anchorPoint.seq + 1 : null,
      lastSeq: this.headSeq,
      count,
      acknowledgedThrough: this.ackedThrough,
      unacknowledged: this.headSeq - Math.max(this.ackedThrough, this.anchorPoint.seq),
      oldestUnackedTime: oldest,
      databaseBytes: bytes,
    };
  }

  /** The durability settings as SQLite reports them on this connection (for status and tests). */
  durability(): { journalMode: string; synchronous: number; cipher: string } {
    return {
      journalMode: String(this.db.pragma('journal_mode', { simple: true })),
      synchronous: Number(this.db.pragma('synchronous', { simple: true })),
      cipher: String(this.db.pragma('cipher', { simple: true })),
    };
  }

  /**
   * The encrypted connection, for the other tables of this database (the directory and the
   * failure ledger, migration 002). better-sqlite3 is synchronous, so their statements never
   * interleave with a group commit; they must not hold a transaction across an await.
   */
  sharedConnection(): Db {
    if (this.closed) throw new AuditStoreError('closed', `The audit store ${this.path} is closed.`);
    return this.db;
  }

  /** Signs requests to the collector with the device key (its own text prefix: never an event signature). */
  requestSigner(): RequestSigner {
    const identity = this.identity;
    if (identity === null) throw new AuditStoreError('closed', `The audit store ${this.path} is open read-only; it cannot sign.`);
    return { deviceId: identity.deviceId, sign: (data) => identity.sign(data) };
  }

  /** The sealed event at `seq`, or null when it is not (or no longer) stored. */
  sealedAt(seq: number): SealedEvent | null {
    const row = this.readAfter(seq - 1, 1)[0];
    return row && row.seq === seq ? row : null;
  }

  /** Device metadata as stored when the database was created. */
  deviceMeta(): { readonly device: string; readonly keyId: string; readonly publicKeyPem: string } {
    return this.meta;
  }


  /** Commits what is pending, then closes. Appends after close() reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.identity !== null) this.flush();
    this.closed = true;
    this.listeners.clear();
    this.db.close();
  }
}

const CHAINED_COLUMNS = 'seq, body, lower(hex(hash)) AS hash';
const EVENT_COLUMNS = `${CHAINED_COLUMNS}, sig`;

/**
 * Rows after `afterSeq` in seq order: at most `limit`, and about `maxBytes` of bodies (at
 * least one row, whatever its size). Read as raw rows in chunks of READ_CHUNK: one call
 * per chunk instead of one per row, and never more than a chunk past the byte bound.
 */
function readBounded<T extends { readonly seq: number; readonly body: string }>(
  stmt: Statement<[number, number], unknown[]>,
  afterSeq: number,
  limit: number,
  maxBytes: number,
  convert: (row: unknown[]) => T,
): T[] {
  const out: T[] = [];
  let bytes = 0;
  let after = afterSeq;
  while (out.length < limit) {
    const want = Math.min(READ_CHUNK, limit - out.length);
    const rows = stmt.all(after, want);
    for (const row of rows) {
      const r = convert(row);
      bytes += r.body.length;
      if (out.length > 0 && bytes > maxBytes) return out;
      out.push(r);
    }
    if (rows.length < want) break;
    after = out[out.length - 1]!.seq;
  }
  return out;
}
const READ_CHUNK = 128;

/** A raw CHAINED_COLUMNS row. */
function chainedFromRow(r: unknown[]): ChainedEvent {
  return { seq: r[0] as number, body: r[1] as string, hash: r[2] as string };
}

/** A raw EVENT_COLUMNS row (CHAINED_COLUMNS, then the signature). */
function sealedFromRow(r: unknown[]): SealedEvent {
  return { seq: r[0] as number, body: r[1] as string, hash: r[2] as string, sig: (r[3] as Buffer).toString('base64') };
}
