// The directory the agent signs people in with: its own copy in the encrypted database
// (so tap-in works offline), kept in step with the collector's shared directory when one
// is configured — the organisation key from the collector, an incremental pull at start and
// after every version the push stream announces, enrolments and revocations sent upstream
// first (a conflict is refused on the page, nothing half-applied), failures reported for the
// organisation-wide lockout and FIDO2 counters checked against the highest seen anywhere.
import { randomUUID } from 'node:crypto';
import type { SealedEvent } from '../audit/event';
import type { AuditRecorder } from '../audit/recorder';
import type { Disposable } from '../disposable';
import type { Clock } from '../platform/clock';
import type { KeyStore } from '../platform/keystore';
import {
  DirectoryConflictError,
  type BadgeMatch,
  type ChangeAuthor,
  type Directory,
  type DirectoryUser,
  type Enrolment,
  type RevokeTarget,
} from './directory';
import type { DirectoryClient } from './directory-client';
import { DIRECTORY_KEY_ACCOUNT, directoryKeysFrom, type DirectoryKeys } from './directory-key';
import type { DirectoryChange, LockoutReply } from './directory-wire';
import type { LocalDirectory } from './local-directory';

export interface DirectorySyncStatus {
  /** local: this workstation's own directory; synced: a copy of the collector's. */
  readonly mode: 'local' | 'synced';
  /** The push stream is up (revocations arrive within seconds). */
  readonly connected: boolean;
  readonly version: number;
  /** When the copy last matched the collector (ISO), or null. */
  readonly lastSyncAt: string | null;
  readonly lastError: string | null;
}

export interface DirectorySyncOptions {
  readonly local: LocalDirectory;
  readonly keyStore: KeyStore;
  readonly recorder: AuditRecorder;
  readonly clock: Clock;
  /** The sealed audit event at `seq` (the enroller's sign-in, sent as proof with a change). */
  readonly sealedEvent: (seq: number) => SealedEvent | null;
  /** The organisation key changed (first contact with the collector, or IT rotated it). */
  readonly onKeys: (keys: DirectoryKeys) => void;
  /** The copy changed (the lock screen refreshes what it shows). */
  readonly onChanged: () => void;
  readonly onError: (message: string) => void;
  /** How long a sign-in waits for the collector's word on a failure or a counter. */
  readonly upstreamTimeoutMs?: number;
}

const OFFLINE = 'The shared directory (the collector) cannot be reached, so nothing was changed. Try again when the network is back; tap-in keeps working meanwhile.';

export class DirectorySync implements Directory, Disposable {
  private client: DirectoryClient | null = null;
  private follow: Disposable | null = null;
  private connected = false;
  private lastSyncAt: string | null = null;
  private lastError: string | null = null;
  private pulling: Promise<void> | null = null;
  /** The collector the pull under way is from. */
  private pullingFrom: DirectoryClient | null = null;
  private wanted = 0;

  constructor(private readonly o: DirectorySyncOptions) {}

  /** Follows `client`'s collector (null: this workstation's own directory only). */
  async connect(client: DirectoryClient | null, keyId: string | null): Promise<void> {
    this.disconnect();
    this.client = client;
    // What the last collector announced means nothing to this one (it may be another
    // collector, or the same one restored to an older version).
    this.wanted = 0;
    this.lastSyncAt = null;
    if (!client) return;
    try {
      await this.adoptOrgKey(client, keyId);
      await this.pullTo(0);
    } catch (err) {
      this.problem(`the shared directory is not reachable yet (${(err as Error).message}); the copy on this workstation serves meanwhile`);
    }
    this.follow = client.follow(
      (version) => {
        this.wanted = Math.max(this.wanted, version);
        void this.pullTo(version).catch((err: Error) => this.problem(err.message));
      },
      (connected, error) => {
        this.connected = connected;
        if (!connected && error) this.problem(`directory stream: ${error}`);
      },
    );
  }

  status(version: number): DirectorySyncStatus {
    return { mode: this.client ? 'synced' : 'local', connected: this.connected, version, lastSyncAt: this.lastSyncAt, lastError: this.lastError };
  }

  // ---------------------------------------------------------------- reads: the local copy

  version(): Promise<number> {
    return this.o.local.version();
  }
  isEmpty(): Promise<boolean> {
    return this.o.local.isEmpty();
  }
  count(): Promise<number> {
    return this.o.local.count();
  }
  get(userId: string): Promise<DirectoryUser | null> {
    return this.o.local.get(userId);
  }
  findByBadge(token: string): Promise<BadgeMatch | null> {
    return this.o.local.findByBadge(token);
  }
  pinVerifier(userId: string): Promise<string | null> {
    return this.o.local.pinVerifier(userId);
  }
  list(): Promise<readonly DirectoryUser[]> {
    return this.o.local.list();
  }
  recordUse(credentialId: string, counter: number, atIso: string): Promise<void> {
    return this.o.local.recordUse(credentialId, counter, atIso);
  }

  // ---------------------------------------------------------------- writes: upstream first

  async enroll(e: Enrolment, by?: ChangeAuthor): Promise<number> {
    if (!this.client) return this.o.local.enroll(e, by);
    const c = e.credential;
    return this.send({
      kind: 'enrol',
      id: randomUUID(),
      ...this.author(by),
      userId: e.userId,
      ...(e.profile ? { profile: { displayName: e.profile.displayName, roles: [...e.profile.roles] } } : {}),
      ...(e.badgeToken ? { badgeToken: e.badgeToken } : {}),
      ...(e.replaceBadges ? { replaceBadges: true } : {}),
      ...(e.pinVerifier ? { pinVerifier: e.pinVerifier } : {}),
      ...(c ? { credential: { id: c.id, publicKey: Buffer.from(c.publicKey).toString('base64url'), counter: c.counter, transports: [...c.transports], label: c.label } } : {}),
    });
  }

  async revoke(target: RevokeTarget, by?: ChangeAuthor): Promise<number> {
    if (!this.client) return this.o.local.revoke(target, by);
    return this.send({ kind: 'revoke', id: randomUUID(), ...this.author(by), target });
  }

  // ---------------------------------------------------------------- sign-in reports

  /** The collector's count after this failure, or null when it cannot be asked now (offline). */
  async reportFailure(userId: string, kind: string): Promise<LockoutReply | null> {
    if (!this.client || !this.connected) return null;
    try {
      return await this.client.reportFailure(userId, kind, this.o.upstreamTimeoutMs ?? 1500);
    } catch (err) {
      this.problem(`failure report: ${(err as Error).message}`);
      return null;
    }
  }

  reportSuccess(userId: string): void {
    if (!this.client || !this.connected) return;
    void this.client.reportSuccess(userId, this.o.upstreamTimeoutMs ?? 1500).catch((err: Error) => this.problem(`success report: ${err.message}`));
  }

  /** Whether the counter moves past the highest seen anywhere; null when the collector cannot be asked now. */
  async checkCounter(credentialId: string, counter: number): Promise<boolean | null> {
    if (!this.client || !this.connected) return null;
    try {
      return (await this.client.checkCounter(credentialId, counter, this.o.upstreamTimeoutMs ?? 1500)).ok;
    } catch (err) {
      this.problem(`counter check: ${(err as Error).message}`);
      return null;
    }
  }

  dispose(): void {
    this.disconnect();
  }

  // ---------------------------------------------------------------- internals

  private disconnect(): void {
    this.follow?.dispose();
    this.follow = null;
    this.client?.close();
    this.client = null;
    this.connected = false;
  }

  private author(by: ChangeAuthor | undefined): Pick<Extract<DirectoryChange, { kind: 'enrol' }>, 'enroller' | 'proof'> {
    const proof = by ? this.o.sealedEvent(by.proofSeq) : null;
    if (!by || !proof) throw new DirectoryConflictError('incomplete', "The enroller's sign-in could not be found to send as proof; sign in to enrolment again.");
    return { enroller: by.enroller, proof: { seq: proof.seq, body: proof.body, hash: proof.hash, sig: proof.sig } };
  }

  private async send(change: DirectoryChange): Promise<number> {
    const client = this.client!;
    let r;
    try {
      r = await client.change(change);
    } catch (err) {
      this.problem(`directory change: ${(err as Error).message}`);
      throw new DirectoryConflictError('offline', OFFLINE);
    }
    if (!r.ok) {
      const kinds = ['badge-bound', 'credential-bound', 'no-such-user', 'no-such-entry', 'incomplete', 'revoked', 'replayed'] as const;
      const kind = (kinds as readonly string[]).includes(r.reason) ? (r.reason as (typeof kinds)[number]) : 'incomplete';
      throw new DirectoryConflictError(kind, r.reason === 'not-enroller' || r.reason === 'bad-proof' || r.reason === 'stale-proof' ? `The directory refused the change: ${r.message}` : r.message);
    }
    await this.pullTo(r.version).catch((err: Error) => this.problem(err.message));
    return r.version;
  }

  /** Pulls until the local copy holds `version` (one pull at a time; later wishes are merged). */
  private pullTo(version: number): Promise<void> {
    this.wanted = Math.max(this.wanted, version);
    const client = this.client;
    if (!client) return Promise.resolve();
    if (this.pulling && this.pullingFrom === client) return this.pulling;
    // A pull from the collector followed before ends at its next step; this one follows it.
    const run = (this.pulling ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => this.pullFrom(client))
      .finally(() => {
        if (this.pulling === run) {
          this.pulling = null;
          this.pullingFrom = null;
        }
      });
    this.pulling = run;
    this.pullingFrom = client;
    return run;
  }

  /**
   * Pulls from where the copy stands in the collector's numbering (everything when that is
   * unknown), until it holds what was announced. Stops when the agent follows another
   * collector, and when a page brings nothing newer than the copy (a stale wish must not
   * turn into a request loop).
   */
  private async pullFrom(client: DirectoryClient): Promise<void> {
    for (;;) {
      if (this.client !== client) return;
      const synced = this.o.local.syncedVersion();
      const since = synced ?? 0;
      if (synced !== null && since >= this.wanted && this.lastSyncAt !== null) return;
      const page = await client.pull(since);
      if (this.client !== client) return;
      if (page.version < since) {
        // The collector is behind the version this copy matched (restored from a backup, or
        // another collector under the same organisation key): take its whole directory.
        this.o.local.forgetSynced();
        continue;
      }
      this.o.local.applyRecords(page.users, page.version);
      this.lastSyncAt = new Date(this.o.clock.wallMs()).toISOString();
      this.lastError = null;
      if (page.users.length > 0) this.o.onChanged();
      if (page.version >= this.wanted || (synced !== null && page.version <= since)) return;
    }
  }

  /** The collector's organisation key wins: installed in the keychain, the old copy forgotten. */
  private async adoptOrgKey(client: DirectoryClient, currentKeyId: string | null): Promise<void> {
    const { key, keyId } = await client.orgKey();
    if (keyId === currentKeyId) return;
    const raw = Buffer.from(key, 'base64');
    const keys = directoryKeysFrom(raw);
    if (keys.keyId !== keyId) throw new Error('the organisation key from the collector does not match its own fingerprint');
    await this.o.keyStore.set(DIRECTORY_KEY_ACCOUNT, raw.toString('base64'));
    this.o.local.clear();
    this.o.onKeys(keys);
    await this.o.recorder.record({ action: 'directory.key_installed', details: { keyId, previous: currentKeyId, source: 'collector' } });
  }

  private problem(message: string): void {
    this.lastError = message;
    this.o.onError(message);
  }
}
