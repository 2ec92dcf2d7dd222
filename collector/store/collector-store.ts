// Everything the collector keeps, over SQLite or PostgreSQL through one set of statements:
// registered devices and their verified event chains, the shared directory (users, badge
// tokens, PIN verifiers, FIDO2 credentials) with its monotonic version, the changes
// already applied (a replayed one is refused), the organisation-wide failure counts and
// the highest FIDO2 counters, and the collector's own audit of administration.
import { createPublicKey } from 'node:crypto';
import { DirectoryConflictError, type RevokeTarget } from '../../main/auth/directory';
import { checkEnrolment } from '../../main/auth/enrolment-rules';
import type { DirectoryChange, DirectoryPage, DirectoryUserRecord, LockoutReply } from '../../main/auth/directory-wire';
import { GENESIS_HASH } from '../../main/audit/event';
import { keyIdOf } from '../../main/platform/device-identity';
import { migrateCollector } from './schema';
import { forUpdate, StorageError, type SqlDb, type SqlValue } from './sql';

export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
}

export interface DeviceRecord {
  readonly deviceId: string;
  readonly publicKeyPem: string;
  readonly keyId: string;
  readonly label: string;
  readonly state: 'active' | 'revoked';
  readonly registeredAt: string;
}

export interface StoredEventRow {
  readonly seq: number;
  readonly hash: string;
  readonly sig: string;
  readonly body: string;
}

export interface LockoutRule {
  readonly maxFailures: number;
  readonly lockoutMs: number;
}

export interface AdminAuditEntry {
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly subject: string;
  readonly details: Record<string, unknown>;
}

const APPEND_LINGER_MS = 2;
const NONCE_PURGE_INTERVAL_MS = 60_000;

interface PendingAppend {
  readonly deviceId: string;
  readonly from: ChainHead;
  readonly rows: readonly StoredEventRow[];
  readonly resolve: (stored: boolean) => void;
  readonly reject: (err: Error) => void;
}

type UserRow = { id: string; display_name: string; roles: string; state: 'active' | 'revoked'; pin_verifier: string | null; failures: number; locked_until: number | null; version: number };
type BadgeRow = { token: string; user_id: string; state: 'active' | 'revoked'; created_at: string };
type CredRow = { id: string; user_id: string; public_key: string; counter: number; transports: string; label: string; state: 'active' | 'revoked'; created_at: string };

export class CollectorStore {
  /** When this collector last deleted expired request nonces (see claimRequestNonce). */
  private noncesPurgedAt = -Infinity;

  private constructor(
    readonly db: SqlDb,
    private readonly now: () => number,
  ) {}

  static async open(db: SqlDb, now: () => number = Date.now): Promise<CollectorStore> {
    await migrateCollector(db);
    return new CollectorStore(db, now);
  }

  get description(): string {
    return this.db.description;
  }

  close(): Promise<void> {
    return this.db.close();
  }

  private iso(ms = this.now()): string {
    return new Date(ms).toISOString();
  }

  // ------------------------------------------------------------------ devices

  /** Registers a device (idempotent for the same key); another key under a registered id is refused. */
  async registerDevice(d: { deviceId: string; publicKeyPem: string; label: string }): Promise<{ created: boolean; device: DeviceRecord }> {
    let keyId: string;
    try {
      const key = createPublicKey(d.publicKeyPem);
      if (key.asymmetricKeyType !== 'ed25519') throw new Error(`an ${key.asymmetricKeyType ?? 'unknown'} key`);
      keyId = keyIdOf(key);
    } catch (err) {
      throw new DirectoryConflictError('incomplete', `the public key is not an Ed25519 public key in PEM (${(err as Error).message}); use the output of \`agentctl device\`.`);
    }
    const publicKeyPem = createPublicKey(d.publicKeyPem).export({ type: 'spki', format: 'pem' }).toString();
    return this.db.tx(async (t) => {
      const existing = await t.get<{ key_id: string }>(`SELECT key_id FROM devices WHERE device_id = $1${forUpdate(t)}`, [d.deviceId]);
      if (existing) {
        if (existing.key_id !== keyId) {
          throw new DirectoryConflictError('credential-bound', `device ${d.deviceId} is registered with another key (${existing.key_id}); a re-imaged workstation needs its old registration archived first.`);
        }
        await t.run("UPDATE devices SET state = 'active', label = $2 WHERE device_id = $1", [d.deviceId, d.label]);
        return { created: false, device: (await this.deviceIn(t, d.deviceId))! };
      }
      await t.run("INSERT INTO devices (device_id, public_key, key_id, label, state, registered_at) VALUES ($1, $2, $3, $4, 'active', $5)", [d.deviceId, publicKeyPem, keyId, d.label, this.iso()]);
      await t.run('INSERT INTO device_heads (device_id, seq, hash) VALUES ($1, 0, $2)', [d.deviceId, GENESIS_HASH]);
      return { created: true, device: (await this.deviceIn(t, d.deviceId))! };
    });
  }

  async revokeDevice(deviceId: string): Promise<boolean> {
    return (await this.db.run("UPDATE devices SET state = 'revoked' WHERE device_id = $1 AND state = 'active'", [deviceId])).changes > 0;
  }

  device(deviceId: string): Promise<DeviceRecord | null> {
    return this.deviceIn(this.db, deviceId);
  }

  async devices(): Promise<DeviceRecord[]> {
    const rows = await this.db.all<DeviceRow>('SELECT * FROM devices ORDER BY device_id');
    return rows.map(toDevice);
  }

  private async deviceIn(db: SqlDb, deviceId: string): Promise<DeviceRecord | null> {
    const row = await db.get<DeviceRow>('SELECT * FROM devices WHERE device_id = $1', [deviceId]);
    return row ? toDevice(row) : null;
  }

  /**
   * Records the nonce of a device's signed request, received at `atMs`: false when it is
   * already recorded, by this collector or by another one on the same database (a replay
   * sent to another instance behind the load balancer). Nonces seen more than `keepMs`
   * before are deleted now and then (at most once a minute per collector): the caller
   * keeps them for longer than the signature's time check accepts their requests.
   */
  async claimRequestNonce(deviceId: string, nonce: string, atMs: number, keepMs: number): Promise<boolean> {
    if (atMs - this.noncesPurgedAt >= NONCE_PURGE_INTERVAL_MS) {
      this.noncesPurgedAt = atMs;
      await this.db.run('DELETE FROM request_nonces WHERE seen_at < $1', [atMs - keepMs]);
    }
    const { changes } = await this.db.run('INSERT INTO request_nonces (device_id, nonce, seen_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [deviceId, nonce, atMs]);
    return changes === 1;
  }

  // ------------------------------------------------------------------ events

  async head(deviceId: string): Promise<ChainHead> {
    const row = await this.db.get<ChainHead>('SELECT seq, hash FROM device_heads WHERE device_id = $1', [deviceId]);
    if (!row) throw new StorageError(`device ${deviceId} has no chain head (not registered)`);
    return row;
  }

  async hashAt(deviceId: string, seq: number): Promise<string | null> {
    return (await this.db.get<{ hash: string }>('SELECT hash FROM events WHERE device_id = $1 AND seq = $2', [deviceId, seq]))?.hash ?? null;
  }

  /**
   * Stores verified events that continue the chain from `from`. Returns false (nothing
   * stored) when the head moved meanwhile (another request for the same device, perhaps at
   * another collector instance): the caller checks again. Appends that arrive together share
   * one transaction and one commit (a reconnect storm is thousands of them at once).
   */
  appendEvents(deviceId: string, from: ChainHead, rows: readonly StoredEventRow[]): Promise<boolean> {
    if (rows.length === 0) return Promise.resolve(true);
    return new Promise((resolve, reject) => {
      this.pendingAppends.push({ deviceId, from, rows, resolve, reject });
      this.scheduleAppends();
    });
  }

  private readonly pendingAppends: PendingAppend[] = [];
  private appending = false;

  private scheduleAppends(): void {
    if (this.appending || this.pendingAppends.length === 0) return;
    this.appending = true;
    // A moment's wait lets the batches verified meanwhile share the commit (one fsync for many).
    setTimeout(() => void this.flushAppends(), APPEND_LINGER_MS);
  }

  private async flushAppends(): Promise<void> {
    // Rows locked in one order by every instance: two collectors never wait on each other in a circle.
    const batch = this.pendingAppends.splice(0, 256).sort((x, y) => (x.deviceId < y.deviceId ? -1 : x.deviceId > y.deviceId ? 1 : 0));
    try {
      const results = await this.db.tx(async (t) => {
        if (t.dialect === 'postgres') return appendAllPostgres(t, batch, this.now());
        const out: boolean[] = [];
        const at = this.now();
        for (const a of batch) {
          const head = await t.get<ChainHead>(`SELECT seq, hash FROM device_heads WHERE device_id = $1${forUpdate(t)}`, [a.deviceId]);
          if (!head || Number(head.seq) !== a.from.seq || head.hash !== a.from.hash) {
            out.push(false);
            continue;
          }
          // One multi-row INSERT per slice keeps a 500-event batch to a few statements.
          for (let i = 0; i < a.rows.length; i += 100) {
            const slice = a.rows.slice(i, i + 100);
            const values = slice.map((_, j) => `($1, $${j * 4 + 3}, $${j * 4 + 4}, $${j * 4 + 5}, $${j * 4 + 6}, $2)`).join(', ');
            await t.run(`INSERT INTO events (device_id, seq, hash, sig, body, received_at) VALUES ${values}`, [a.deviceId, at, ...slice.flatMap((r) => [r.seq, r.hash, r.sig, r.body])]);
          }
          const last = a.rows[a.rows.length - 1]!;
          await t.run('UPDATE device_heads SET seq = $2, hash = $3 WHERE device_id = $1', [a.deviceId, last.seq, last.hash]);
          out.push(true);
        }
        return out;
      });
      batch.forEach((a, i) => a.resolve(results[i]!));
    } catch (err) {
      for (const a of batch) a.reject(err as Error);
    } finally {
      this.appending = false;
      this.scheduleAppends();
    }
  }

  /** Stored hashes for seq in [from, to], for deduplicating a resent batch in one query. */
  async hashesBetween(deviceId: string, from: number, to: number): Promise<Map<number, string>> {
    const rows = await this.db.all<{ seq: number; hash: string }>('SELECT seq, hash FROM events WHERE device_id = $1 AND seq >= $2 AND seq <= $3', [deviceId, from, to]);
    return new Map(rows.map((r) => [Number(r.seq), r.hash]));
  }

  async countEvents(deviceId?: string): Promise<number> {
    const row = deviceId === undefined ? await this.db.get<{ n: number }>('SELECT count(*) AS n FROM events') : await this.db.get<{ n: number }>('SELECT count(*) AS n FROM events WHERE device_id = $1', [deviceId]);
    return Number(row?.n ?? 0);
  }

  eventsOf(deviceId: string, afterSeq = 0, limit = 100_000): Promise<StoredEventRow[]> {
    return this.db.all<StoredEventRow>('SELECT seq, hash, sig, body FROM events WHERE device_id = $1 AND seq > $2 ORDER BY seq LIMIT $3', [deviceId, afterSeq, limit]);
  }

  // ------------------------------------------------------------------ directory

  async version(): Promise<number> {
    return Number((await this.db.get<{ version: number }>('SELECT version FROM dir_version WHERE one = 1'))?.version ?? 0);
  }

  /** Every user changed after `since`, whole (badges and keys included), and the version now. */
  async changesSince(since: number): Promise<DirectoryPage> {
    return this.db.tx(async (t) => {
      const version = Number((await t.get<{ version: number }>('SELECT version FROM dir_version WHERE one = 1'))?.version ?? 0);
      const users = await t.all<UserRow>('SELECT id, display_name, roles, state, pin_verifier, failures, locked_until, version FROM dir_users WHERE version > $1 ORDER BY version, id', [since]);
      const records: DirectoryUserRecord[] = [];
      for (const u of users) records.push(await this.record(t, u));
      return { version, users: records };
    });
  }

  async user(userId: string): Promise<DirectoryUserRecord | null> {
    const row = await this.db.get<UserRow>('SELECT id, display_name, roles, state, pin_verifier, failures, locked_until, version FROM dir_users WHERE id = $1', [userId]);
    return row ? this.record(this.db, row) : null;
  }

  async users(): Promise<DirectoryUserRecord[]> {
    const rows = await this.db.all<UserRow>('SELECT id, display_name, roles, state, pin_verifier, failures, locked_until, version FROM dir_users ORDER BY id');
    const out: DirectoryUserRecord[] = [];
    for (const r of rows) out.push(await this.record(this.db, r));
    return out;
  }

  /**
   * Applies a change from a workstation (or the admin CLI) in one transaction: a change id
   * seen before is refused as a replay, conflicts are refused with the reason; returns the
   * directory version that holds it.
   */
  async applyChange(change: DirectoryChange, deviceId: string): Promise<number> {
    return this.db.tx(async (t) => {
      const seen = await t.get<{ id: string }>('SELECT id FROM applied_changes WHERE id = $1', [change.id]);
      if (seen) throw new DirectoryConflictError('replayed', 'this change was already applied (a replayed request); nothing was changed.');
      const version = change.kind === 'enrol' ? await this.enrolIn(t, change) : await this.revokeIn(t, change.target);
      await t.run('INSERT INTO applied_changes (id, device_id, kind, applied_at, version) VALUES ($1, $2, $3, $4, $5)', [change.id, deviceId, change.kind, this.now(), version]);
      return version;
    });
  }

  /** IT's own revocation (admin CLI). */
  revoke(target: RevokeTarget): Promise<number> {
    return this.db.tx((t) => this.revokeIn(t, target));
  }

  /** Adds or updates a user directly (admin CLI: the first enroller). */
  enrol(e: Omit<Extract<DirectoryChange, { kind: 'enrol' }>, 'kind' | 'id' | 'enroller' | 'proof'>): Promise<number> {
    return this.db.tx((t) => this.enrolIn(t, e));
  }

  private async enrolIn(t: SqlDb, e: Omit<Extract<DirectoryChange, { kind: 'enrol' }>, 'kind' | 'id' | 'enroller' | 'proof'>): Promise<number> {
    const user = await t.get<UserRow>(`SELECT id, state FROM dir_users WHERE id = $1${forUpdate(t)}`, [e.userId]);
    const badge = e.badgeToken ? await t.get<BadgeRow>('SELECT token, user_id, state FROM dir_badges WHERE token = $1', [e.badgeToken]) : undefined;
    const cred = e.credential ? await t.get<{ id: string }>('SELECT id FROM dir_credentials WHERE id = $1', [e.credential.id]) : undefined;
    checkEnrolment(e, {
      user: user ?? null,
      badgeOwner: badge ? { userId: badge.user_id, state: badge.state } : null,
      credentialExists: cred !== undefined,
    });
    const version = await this.bump(t);
    const now = this.iso();
    if (!user) {
      await t.run("INSERT INTO dir_users (id, display_name, roles, state, pin_verifier, failures, locked_until, created_at, version) VALUES ($1, $2, $3, 'active', $4, 0, NULL, $5, $6)", [
        e.userId,
        e.profile!.displayName,
        JSON.stringify(e.profile!.roles),
        e.pinVerifier ?? null,
        now,
        version,
      ]);
    } else {
      if (e.profile) await t.run('UPDATE dir_users SET display_name = $2, roles = $3 WHERE id = $1', [e.userId, e.profile.displayName, JSON.stringify(e.profile.roles)]);
      if (e.pinVerifier) await t.run('UPDATE dir_users SET pin_verifier = $2 WHERE id = $1', [e.userId, e.pinVerifier]);
      await t.run('UPDATE dir_users SET version = $2 WHERE id = $1', [e.userId, version]);
    }
    if (e.badgeToken) {
      if (e.replaceBadges) await t.run("UPDATE dir_badges SET state = 'revoked', version = $2 WHERE user_id = $1 AND state = 'active'", [e.userId, version]);
      // Conditional, not only checked above: on PostgreSQL two instances may enrol the same
      // badge for two people at once; the second waits here for the first to commit and must
      // then find the badge taken, not take it over.
      const bound = await t.run(
        "INSERT INTO dir_badges (token, user_id, state, created_at, version) VALUES ($1, $2, 'active', $3, $4) " +
          "ON CONFLICT (token) DO UPDATE SET user_id = excluded.user_id, state = 'active', created_at = excluded.created_at, version = excluded.version " +
          "WHERE dir_badges.user_id = excluded.user_id OR dir_badges.state <> 'active'",
        [e.badgeToken, e.userId, now, version],
      );
      if (bound.changes === 0) {
        throw new DirectoryConflictError('badge-bound', 'This badge already belongs to someone else. Use a different badge, or have the other enrolment revoked first.');
      }
    }
    if (e.credential) {
      const c = e.credential;
      await t.run("INSERT INTO dir_credentials (id, user_id, public_key, counter, transports, label, state, created_at, version) VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $8)", [
        c.id,
        e.userId,
        c.publicKey,
        c.counter,
        JSON.stringify(c.transports),
        c.label,
        now,
        version,
      ]);
    }
    return version;
  }

  private async revokeIn(t: SqlDb, target: RevokeTarget): Promise<number> {
    const user = await t.get<UserRow>(`SELECT id FROM dir_users WHERE id = $1${forUpdate(t)}`, [target.userId]);
    if (!user) throw new DirectoryConflictError('no-such-user', `${target.userId} is not enrolled.`);
    if (target.kind === 'badge') {
      const badges = await t.all<BadgeRow>('SELECT token FROM dir_badges WHERE user_id = $1', [target.userId]);
      const badge = target.ref.length >= 6 ? badges.find((b) => b.token.startsWith(target.ref)) : undefined;
      if (!badge) throw new DirectoryConflictError('no-such-entry', `${target.userId} has no badge ${target.ref}.`);
      const version = await this.bump(t);
      await t.run("UPDATE dir_badges SET state = 'revoked', version = $2 WHERE token = $1", [badge.token, version]);
      await t.run('UPDATE dir_users SET version = $2 WHERE id = $1', [target.userId, version]);
      return version;
    }
    if (target.kind === 'credential') {
      const cred = await t.get<{ user_id: string }>('SELECT user_id FROM dir_credentials WHERE id = $1', [target.credentialId]);
      if (!cred || cred.user_id !== target.userId) throw new DirectoryConflictError('no-such-entry', `${target.userId} has no security key ${target.credentialId.slice(0, 12)}….`);
      const version = await this.bump(t);
      await t.run("UPDATE dir_credentials SET state = 'revoked', version = $2 WHERE id = $1", [target.credentialId, version]);
      await t.run('UPDATE dir_users SET version = $2 WHERE id = $1', [target.userId, version]);
      return version;
    }
    const version = await this.bump(t);
    await t.run("UPDATE dir_users SET state = 'revoked', version = $2 WHERE id = $1", [target.userId, version]);
    await t.run("UPDATE dir_badges SET state = 'revoked', version = $2 WHERE user_id = $1 AND state = 'active'", [target.userId, version]);
    await t.run("UPDATE dir_credentials SET state = 'revoked', version = $2 WHERE user_id = $1 AND state = 'active'", [target.userId, version]);
    return version;
  }

  /**
   * Counts a failure reported by any workstation. The Nth within the count starts an
   * organisation-wide lockout (a directory change, so every workstation learns it at once).
   */
  async recordFailure(userId: string, rule: LockoutRule): Promise<LockoutReply & { lockedNow: boolean }> {
    return this.db.tx(async (t) => {
      const u = await t.get<UserRow>(`SELECT id, failures, locked_until FROM dir_users WHERE id = $1${forUpdate(t)}`, [userId]);
      if (!u) throw new DirectoryConflictError('no-such-user', `${userId} is not enrolled.`);
      const now = this.now();
      if (u.locked_until !== null && Number(u.locked_until) > now) {
        return { failures: u.failures, triesLeft: 0, lockedUntil: this.iso(Number(u.locked_until)), lockedNow: false };
      }
      const expired = u.locked_until !== null;
      const failures = (expired ? 0 : u.failures) + 1;
      if (failures >= rule.maxFailures) {
        const until = now + rule.lockoutMs;
        const version = await this.bump(t);
        await t.run('UPDATE dir_users SET failures = $2, locked_until = $3, version = $4 WHERE id = $1', [userId, failures, until, version]);
        return { failures, triesLeft: 0, lockedUntil: this.iso(until), lockedNow: true };
      }
      if (expired) {
        // The lockout ran out: say so to every workstation too.
        const version = await this.bump(t);
        await t.run('UPDATE dir_users SET failures = $2, locked_until = NULL, version = $3 WHERE id = $1', [userId, failures, version]);
      } else {
        await t.run('UPDATE dir_users SET failures = $2 WHERE id = $1', [userId, failures]);
      }
      return { failures, triesLeft: rule.maxFailures - failures, lockedUntil: null, lockedNow: false };
    });
  }

  /** A sign-in anywhere clears the count (not a lockout in force). */
  async recordSuccess(userId: string): Promise<void> {
    await this.db.run('UPDATE dir_users SET failures = 0 WHERE id = $1 AND locked_until IS NULL AND failures > 0', [userId]);
  }

  /** IT clears a lockout (admin CLI); returns whether one was in force. */
  async clearLockout(userId: string): Promise<boolean> {
    return this.db.tx(async (t) => {
      const u = await t.get<UserRow>(`SELECT id, locked_until FROM dir_users WHERE id = $1${forUpdate(t)}`, [userId]);
      if (!u) throw new DirectoryConflictError('no-such-user', `${userId} is not enrolled.`);
      const was = u.locked_until !== null && Number(u.locked_until) > this.now();
      const version = await this.bump(t);
      await t.run('UPDATE dir_users SET failures = 0, locked_until = NULL, version = $2 WHERE id = $1', [userId, version]);
      return was;
    });
  }

  /**
   * The highest signature counter seen for a credential, at any workstation: a counter that
   * does not move past it (when either is not 0) is a cloned key. Counters are not a
   * directory change (no version bump): every use would otherwise reach every workstation.
   */
  async checkCounter(credentialId: string, counter: number): Promise<{ ok: boolean; highest: number }> {
    return this.db.tx(async (t) => {
      const row = await t.get<{ counter: number }>(`SELECT counter FROM dir_credentials WHERE id = $1${forUpdate(t)}`, [credentialId]);
      if (!row) throw new DirectoryConflictError('no-such-entry', 'this security key is not registered.');
      const highest = Number(row.counter);
      if ((counter > 0 || highest > 0) && counter <= highest) return { ok: false, highest };
      await t.run('UPDATE dir_credentials SET counter = $2 WHERE id = $1', [credentialId, counter]);
      return { ok: true, highest: counter };
    });
  }

  // ------------------------------------------------------------------ the collector's own audit

  async audit(entry: Omit<AdminAuditEntry, 'at'>): Promise<void> {
    await this.db.run('INSERT INTO admin_audit (at, actor, action, subject, details) VALUES ($1, $2, $3, $4, $5)', [this.iso(), entry.actor, entry.action, entry.subject, JSON.stringify(entry.details)]);
  }

  async auditLog(limit = 100): Promise<AdminAuditEntry[]> {
    const rows = await this.db.all<{ at: string; actor: string; action: string; subject: string; details: string }>('SELECT at, actor, action, subject, details FROM admin_audit ORDER BY id DESC LIMIT $1', [limit]);
    return rows.map((r) => ({ ...r, details: JSON.parse(r.details) as Record<string, unknown> }));
  }

  // ------------------------------------------------------------------ helpers

  private async bump(t: SqlDb): Promise<number> {
    const row = await t.get<{ version: number }>('UPDATE dir_version SET version = version + 1 WHERE one = 1 RETURNING version');
    return Number(row!.version);
  }

  private async record(db: SqlDb, u: UserRow): Promise<DirectoryUserRecord> {
    const badges = await db.all<BadgeRow>('SELECT token, user_id, state, created_at FROM dir_badges WHERE user_id = $1 ORDER BY created_at, token', [u.id]);
    const creds = await db.all<CredRow>('SELECT * FROM dir_credentials WHERE user_id = $1 ORDER BY created_at, id', [u.id]);
    const lockedUntil = u.locked_until !== null && Number(u.locked_until) > this.now() ? this.iso(Number(u.locked_until)) : null;
    return {
      id: u.id,
      displayName: u.display_name,
      roles: JSON.parse(u.roles) as string[],
      state: u.state,
      pinVerifier: u.pin_verifier,
      lockedUntil,
      badges: badges.map((b) => ({ token: b.token, state: b.state, createdAt: b.created_at })),
      credentials: creds.map((c) => ({
        id: c.id,
        publicKey: c.public_key,
        counter: Number(c.counter),
        transports: JSON.parse(c.transports) as string[],
        label: c.label,
        state: c.state,
        createdAt: c.created_at,
      })),
      version: Number(u.version),
    };
  }
}

type DeviceRow = { device_id: string; public_key: string; key_id: string; label: string; state: 'active' | 'revoked'; registered_at: string };

function toDevice(r: DeviceRow): DeviceRecord {
  return { deviceId: r.device_id, publicKeyPem: r.public_key, keyId: r.key_id, label: r.label, state: r.state, registeredAt: r.registered_at };
}

/**
 * PostgreSQL: the appends of one flush in three statements whatever their number (lock the
 * heads, insert the rows, move the heads) instead of three round trips per device. An
 * append whose head moved is refused, as one by one.
 */
const PG_ROWS_PER_INSERT = 2000;

async function appendAllPostgres(t: SqlDb, batch: readonly PendingAppend[], at: number): Promise<boolean[]> {
  const ids = [...new Set(batch.map((a) => a.deviceId))].sort();
  const locked = await t.all<{ device_id: string; seq: number | string; hash: string }>(
    'SELECT device_id, seq, hash FROM device_heads WHERE device_id = ANY($1::text[]) ORDER BY device_id FOR UPDATE',
    [ids],
  );
  const heads = new Map(locked.map((h) => [h.device_id, { seq: Number(h.seq), hash: h.hash }]));
  const out: boolean[] = [];
  const rows = { device: [] as string[], seq: [] as number[], hash: [] as string[], sig: [] as string[], body: [] as string[] };
  const moved = new Map<string, ChainHead>();
  for (const a of batch) {
    const head = heads.get(a.deviceId);
    if (!head || head.seq !== a.from.seq || head.hash !== a.from.hash) {
      out.push(false);
      continue;
    }
    for (const r of a.rows) {
      rows.device.push(a.deviceId);
      rows.seq.push(r.seq);
      rows.hash.push(r.hash);
      rows.sig.push(r.sig);
      rows.body.push(r.body);
    }
    const last = a.rows[a.rows.length - 1]!;
    const next = { seq: last.seq, hash: last.hash };
    heads.set(a.deviceId, next);
    moved.set(a.deviceId, next);
    out.push(true);
  }
  if (rows.device.length > 0) {
    // Multi-row VALUES, each value its own parameter (bodies are never re-escaped into an
    // array literal), in statements of at most PG_ROWS_PER_INSERT rows (PostgreSQL takes 65,535 parameters).
    for (let i = 0; i < rows.device.length; i += PG_ROWS_PER_INSERT) {
      const n = Math.min(PG_ROWS_PER_INSERT, rows.device.length - i);
      const values = Array.from({ length: n }, (_, j) => `($${j * 5 + 2}, $${j * 5 + 3}, $${j * 5 + 4}, $${j * 5 + 5}, $${j * 5 + 6}, $1)`).join(', ');
      const params: SqlValue[] = [at];
      for (let j = i; j < i + n; j++) params.push(rows.device[j]!, rows.seq[j]!, rows.hash[j]!, rows.sig[j]!, rows.body[j]!);
      await t.run(`INSERT INTO events (device_id, seq, hash, sig, body, received_at) VALUES ${values}`, params);
    }
    const ends = [...moved.entries()];
    await t.run('UPDATE device_heads AS h SET seq = u.s, hash = u.x FROM unnest($1::text[], $2::bigint[], $3::text[]) AS u(d, s, x) WHERE h.device_id = u.d', [
      ends.map(([d]) => d),
      ends.map(([, e]) => e.seq),
      ends.map(([, e]) => e.hash),
    ]);
  }
  return out;
}
