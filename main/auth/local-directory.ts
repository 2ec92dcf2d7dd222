// The directory kept in the workstation's encrypted database (migration 002), so tap-in
// works offline. Every change runs in one transaction that bumps the directory version
// and stamps the rows it touched with it.
import type { Database as Db, Statement } from 'better-sqlite3-multiple-ciphers';
import type { Clock } from '../platform/clock';
import type { DirectoryUserRecord } from './directory-wire';
import { systemClock } from '../platform/clock';
import { checkEnrolment } from './enrolment-rules';
import {
  DirectoryConflictError,
  type BadgeEntry,
  type BadgeMatch,
  type ChangeAuthor,
  type CredentialEntry,
  type Directory,
  type DirectoryUser,
  type Enrolment,
  type EntryState,
  type RevokeTarget,
} from './directory';

type UserRow = { id: string; display_name: string; roles: string; state: EntryState; pin_verifier: string | null; locked_until: string | null; version: number };
type BadgeRow = { token: string; user_id: string; state: EntryState; created_at: string };
type CredentialRow = {
  id: string;
  user_id: string;
  public_key: Buffer;
  counter: number;
  transports: string;
  label: string;
  state: EntryState;
  created_at: string;
  last_used_at: string | null;
};

export const BADGE_REF_LENGTH = 12;

export class LocalDirectory implements Directory {
  private readonly s: {
    version: Statement<[], { version: number }>;
    synced: Statement<[], { synced: number | null }>;
    forgetSynced: Statement<[]>;
    bump: Statement<[]>;
    count: Statement<[], { n: number }>;
    user: Statement<[string], UserRow>;
    users: Statement<[], UserRow>;
    badgesOf: Statement<[string], BadgeRow>;
    badge: Statement<[string], BadgeRow>;
    credsOf: Statement<[string], CredentialRow>;
    cred: Statement<[string], CredentialRow>;
    insertUser: Statement<[string, string, string, string, number]>;
    updateProfile: Statement<[string, string, number, string]>;
    setPin: Statement<[string, number, string]>;
    upsertBadge: Statement<[string, string, string, number]>;
    insertCred: Statement<[string, string, Buffer, number, string, string, string, number]>;
    revokeUser: Statement<[number, string]>;
    revokeBadgesOf: Statement<[number, string]>;
    revokeCredsOf: Statement<[number, string]>;
    revokeBadge: Statement<[number, string]>;
    revokeCred: Statement<[number, string]>;
    touchUser: Statement<[number, string]>;
    recordUse: Statement<[number, string, string, number]>;
  };

  constructor(
    private readonly db: Db,
    private readonly clock: Clock = systemClock,
  ) {
    this.s = {
      version: db.prepare('SELECT version FROM directory_version WHERE one = 1'),
      synced: db.prepare('SELECT synced FROM directory_version WHERE one = 1'),
      forgetSynced: db.prepare('UPDATE directory_version SET synced = NULL WHERE one = 1'),
      // A change made here is not in the collector's numbering: the next sync pulls everything.
      bump: db.prepare('UPDATE directory_version SET version = version + 1, synced = NULL WHERE one = 1'),
      count: db.prepare("SELECT count(*) AS n FROM directory_users WHERE state = 'active'"),
      user: db.prepare('SELECT id, display_name, roles, state, pin_verifier, locked_until, version FROM directory_users WHERE id = ?'),
      users: db.prepare('SELECT id, display_name, roles, state, pin_verifier, locked_until, version FROM directory_users ORDER BY id'),
      badgesOf: db.prepare('SELECT token, user_id, state, created_at FROM directory_badges WHERE user_id = ? ORDER BY created_at, token'),
      badge: db.prepare('SELECT token, user_id, state, created_at FROM directory_badges WHERE token = ?'),
      credsOf: db.prepare('SELECT * FROM directory_credentials WHERE user_id = ? ORDER BY created_at, id'),
      cred: db.prepare('SELECT * FROM directory_credentials WHERE id = ?'),
      insertUser: db.prepare("INSERT INTO directory_users (id, display_name, roles, state, pin_verifier, created_at, version) VALUES (?, ?, ?, 'active', NULL, ?, ?)"),
      updateProfile: db.prepare('UPDATE directory_users SET display_name = ?, roles = ?, version = ? WHERE id = ?'),
      setPin: db.prepare('UPDATE directory_users SET pin_verifier = ?, version = ? WHERE id = ?'),
      upsertBadge: db.prepare(
        "INSERT INTO directory_badges (token, user_id, state, created_at, version) VALUES (?, ?, 'active', ?, ?) " +
          "ON CONFLICT(token) DO UPDATE SET user_id = excluded.user_id, state = 'active', created_at = excluded.created_at, version = excluded.version",
      ),
      insertCred: db.prepare(
        "INSERT INTO directory_credentials (id, user_id, public_key, counter, transports, label, state, created_at, last_used_at, version) VALUES (?, ?, ?, ?, ?, ?, 'active', ?, NULL, ?)",
      ),
      revokeUser: db.prepare("UPDATE directory_users SET state = 'revoked', version = ? WHERE id = ?"),
      revokeBadgesOf: db.prepare("UPDATE directory_badges SET state = 'revoked', version = ? WHERE user_id = ? AND state = 'active'"),
      revokeCredsOf: db.prepare("UPDATE directory_credentials SET state = 'revoked', version = ? WHERE user_id = ? AND state = 'active'"),
      revokeBadge: db.prepare("UPDATE directory_badges SET state = 'revoked', version = ? WHERE token = ?"),
      revokeCred: db.prepare("UPDATE directory_credentials SET state = 'revoked', version = ? WHERE id = ?"),
      touchUser: db.prepare('UPDATE directory_users SET version = ? WHERE id = ?'),
      recordUse: db.prepare('UPDATE directory_credentials SET counter = max(counter, ?), last_used_at = ? WHERE id = ? AND counter <= ?'),
    };
  }

  async version(): Promise<number> {
    return this.s.version.get()?.version ?? 0;
  }

  /**
   * The collector version this copy last matched, or null when that is unknown (never
   * synced, changed on this workstation since, or the collector was found behind it):
   * what a sync pulls from (null: from 0, the whole directory).
   */
  syncedVersion(): number | null {
    return this.s.synced.get()?.synced ?? null;
  }

  /** Forgets where the copy stands in the collector's numbering: the next sync pulls everything. */
  forgetSynced(): void {
    this.s.forgetSynced.run();
  }

  async isEmpty(): Promise<boolean> {
    return (this.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM directory_users').get()?.n ?? 0) === 0;
  }

  async count(): Promise<number> {
    return this.s.count.get()?.n ?? 0;
  }

  async get(userId: string): Promise<DirectoryUser | null> {
    const row = this.s.user.get(userId);
    return row ? this.toUser(row) : null;
  }

  async findByBadge(token: string): Promise<BadgeMatch | null> {
    const badge = this.s.badge.get(token);
    if (!badge) return null;
    const user = this.s.user.get(badge.user_id);
    if (!user) return null;
    return { user: this.toUser(user), badge: toBadge(badge) };
  }

  async pinVerifier(userId: string): Promise<string | null> {
    return this.s.user.get(userId)?.pin_verifier ?? null;
  }

  async list(): Promise<readonly DirectoryUser[]> {
    return this.s.users.all().map((r) => this.toUser(r));
  }

  async enroll(e: Enrolment, _by?: ChangeAuthor): Promise<number> {
    return this.db.transaction(() => {
      const existing = this.s.user.get(e.userId);
      const bound = e.badgeToken ? this.s.badge.get(e.badgeToken) : undefined;
      checkEnrolment(e, {
        user: existing ?? null,
        badgeOwner: bound ? { userId: bound.user_id, state: bound.state } : null,
        credentialExists: e.credential ? this.s.cred.get(e.credential.id) !== undefined : false,
      });
      const version = this.bump();
      const now = new Date(this.clock.wallMs()).toISOString();
      if (!existing) this.s.insertUser.run(e.userId, e.profile!.displayName, JSON.stringify(e.profile!.roles), now, version);
      else if (e.profile) this.s.updateProfile.run(e.profile.displayName, JSON.stringify(e.profile.roles), version, e.userId);
      else this.s.touchUser.run(version, e.userId);
      if (e.pinVerifier) this.s.setPin.run(e.pinVerifier, version, e.userId);
      if (e.badgeToken) {
        if (e.replaceBadges) this.s.revokeBadgesOf.run(version, e.userId);
        this.s.upsertBadge.run(e.badgeToken, e.userId, now, version);
      }
      if (e.credential) {
        const c = e.credential;
        this.s.insertCred.run(c.id, e.userId, Buffer.from(c.publicKey), c.counter, JSON.stringify(c.transports), c.label, now, version);
      }
      return version;
    }).immediate();
  }

  async revoke(target: RevokeTarget, _by?: ChangeAuthor): Promise<number> {
    return this.db.transaction(() => {
      const user = this.s.user.get(target.userId);
      if (!user) throw new DirectoryConflictError('no-such-user', `${target.userId} is not enrolled.`);
      switch (target.kind) {
        case 'user': {
          const version = this.bump();
          this.s.revokeUser.run(version, target.userId);
          this.s.revokeBadgesOf.run(version, target.userId);
          this.s.revokeCredsOf.run(version, target.userId);
          return version;
        }
        case 'badge': {
          const badge = this.s.badgesOf.all(target.userId).find((b) => b.token.startsWith(target.ref) && target.ref.length >= 6);
          if (!badge) throw new DirectoryConflictError('no-such-entry', `${target.userId} has no badge ${target.ref}.`);
          const version = this.bump();
          this.s.revokeBadge.run(version, badge.token);
          this.s.touchUser.run(version, target.userId);
          return version;
        }
        case 'credential': {
          const cred = this.s.cred.get(target.credentialId);
          if (!cred || cred.user_id !== target.userId) throw new DirectoryConflictError('no-such-entry', `${target.userId} has no security key ${target.credentialId.slice(0, 12)}….`);
          const version = this.bump();
          this.s.revokeCred.run(version, cred.id);
          this.s.touchUser.run(version, target.userId);
          return version;
        }
      }
    }).immediate();
  }

  /**
   * Mirrors the collector: each record replaces that user whole (profile, PIN verifier,
   * lockout, badges, keys), and the local version becomes the collector's (never lower than
   * it was); the copy now stands at `version` in the collector's numbering. One transaction.
   * A counter never goes down here: the higher of ours and the collector's is kept.
   */
  applyRecords(users: readonly DirectoryUserRecord[], version: number): void {
    this.db.transaction(() => {
      for (const u of users) {
        this.db.prepare(
          'INSERT INTO directory_users (id, display_name, roles, state, pin_verifier, locked_until, created_at, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ' +
            'ON CONFLICT(id) DO UPDATE SET display_name = excluded.display_name, roles = excluded.roles, state = excluded.state, pin_verifier = excluded.pin_verifier, locked_until = excluded.locked_until, version = excluded.version',
        ).run(u.id, u.displayName, JSON.stringify(u.roles), u.state, u.pinVerifier, u.lockedUntil, new Date(this.clock.wallMs()).toISOString(), u.version);
        const counters = new Map(this.s.credsOf.all(u.id).map((c) => [c.id, c.counter]));
        this.db.prepare('DELETE FROM directory_badges WHERE user_id = ?').run(u.id);
        this.db.prepare('DELETE FROM directory_credentials WHERE user_id = ?').run(u.id);
        for (const b of u.badges) {
          this.db.prepare('INSERT OR REPLACE INTO directory_badges (token, user_id, state, created_at, version) VALUES (?, ?, ?, ?, ?)').run(b.token, u.id, b.state, b.createdAt, u.version);
        }
        for (const c of u.credentials) {
          this.db
            .prepare('INSERT OR REPLACE INTO directory_credentials (id, user_id, public_key, counter, transports, label, state, created_at, last_used_at, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)')
            .run(c.id, u.id, Buffer.from(c.publicKey, 'base64url'), Math.max(c.counter, counters.get(c.id) ?? 0), JSON.stringify(c.transports), c.label, c.state, c.createdAt, u.version);
        }
      }
      this.db.prepare('UPDATE directory_version SET version = max(version, ?), synced = ? WHERE one = 1').run(version, version);
    }).immediate();
  }

  /** Forgets every user (the organisation key changed: the old tokens and verifiers mean nothing). */
  clear(): void {
    this.db.transaction(() => {
      this.db.exec('DELETE FROM directory_badges; DELETE FROM directory_credentials; DELETE FROM directory_users; DELETE FROM auth_failures; UPDATE directory_version SET version = 0, synced = NULL;');
    }).immediate();
  }

  async recordUse(credentialId: string, counter: number, atIso: string): Promise<void> {
    this.s.recordUse.run(counter, atIso, credentialId, counter);
  }

  private bump(): number {
    this.s.bump.run();
    return this.s.version.get()!.version;
  }

  private toUser(row: UserRow): DirectoryUser {
    return {
      id: row.id,
      displayName: row.display_name,
      roles: JSON.parse(row.roles) as string[],
      state: row.state,
      hasPin: row.pin_verifier !== null,
      badges: this.s.badgesOf.all(row.id).map(toBadge),
      credentials: this.s.credsOf.all(row.id).map(toCredential),
      lockedUntil: row.locked_until !== null && Date.parse(row.locked_until) > this.clock.wallMs() ? row.locked_until : null,
      version: row.version,
    };
  }
}

function toBadge(r: BadgeRow): BadgeEntry {
  return { ref: r.token.slice(0, BADGE_REF_LENGTH), state: r.state, createdAt: r.created_at };
}

function toCredential(r: CredentialRow): CredentialEntry {
  return {
    id: r.id,
    publicKey: new Uint8Array(r.public_key),
    counter: r.counter,
    transports: JSON.parse(r.transports) as string[],
    label: r.label,
    state: r.state,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
  };
}
