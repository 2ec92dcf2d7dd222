// The Directory port: who may tap in. Enrolled users with their badge tokens, PIN
// verifier and FIDO2 credentials, each change stamped with a monotonic directory version
// (so a copy can follow changes with `since=version`). The local implementation lives in
// the encrypted database; the shared copy at the collector implements the same port.

export type EntryState = 'active' | 'revoked';

/** A user id: the organisation's own id for the person (never a name or a badge number). */
export const USER_ID_PATTERN = /^[A-Za-z0-9][\w.@:+-]{0,63}$/;

export interface BadgeEntry {
  /** The first 12 hex characters of the token: enough to name it for revocation, useless to an attacker. */
  readonly ref: string;
  readonly state: EntryState;
  readonly createdAt: string;
}

export interface CredentialEntry {
  /** WebAuthn credential id, base64url. */
  readonly id: string;
  readonly publicKey: Uint8Array;
  /** Highest signature counter seen; 0 for keys that keep none. */
  readonly counter: number;
  readonly transports: readonly string[];
  readonly label: string;
  readonly state: EntryState;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
}

export interface DirectoryUser {
  readonly id: string;
  readonly displayName: string;
  readonly roles: readonly string[];
  readonly state: EntryState;
  readonly hasPin: boolean;
  readonly badges: readonly BadgeEntry[];
  readonly credentials: readonly CredentialEntry[];
  /** An organisation-wide lockout in force (set at the collector), ISO time, or null. */
  readonly lockedUntil: string | null;
  /** Directory version of the user's last change. */
  readonly version: number;
}

/** Who made a change at a workstation, and the sequence number of their sign-in event (the proof). */
export interface ChangeAuthor {
  readonly enroller: string;
  readonly proofSeq: number;
}

export interface BadgeMatch {
  readonly user: DirectoryUser;
  readonly badge: BadgeEntry;
}

export interface NewCredential {
  readonly id: string;
  readonly publicKey: Uint8Array;
  readonly counter: number;
  readonly transports: readonly string[];
  readonly label: string;
}

/** One enrolment, applied all or nothing. A new user needs a display name, a badge and a PIN. */
export interface Enrolment {
  readonly userId: string;
  /** Present when the user is new (or to rename): display name and roles. */
  readonly profile?: { readonly displayName: string; readonly roles: readonly string[] };
  readonly badgeToken?: string;
  /** The new badge replaces the user's others (a lost or broken badge): they are revoked. */
  readonly replaceBadges?: boolean;
  readonly pinVerifier?: string;
  readonly credential?: NewCredential;
}

export type RevokeTarget =
  | { readonly kind: 'user'; readonly userId: string }
  | { readonly kind: 'badge'; readonly userId: string; readonly ref: string }
  | { readonly kind: 'credential'; readonly userId: string; readonly credentialId: string };

export class DirectoryConflictError extends Error {
  constructor(
    readonly kind: 'badge-bound' | 'credential-bound' | 'user-exists' | 'no-such-user' | 'no-such-entry' | 'incomplete' | 'revoked' | 'replayed' | 'offline',
    message: string,
  ) {
    super(message);
    this.name = 'DirectoryConflictError';
  }
}

export interface Directory {
  /** The directory version: increases with every change. */
  version(): Promise<number>;
  isEmpty(): Promise<boolean>;
  count(): Promise<number>;
  get(userId: string): Promise<DirectoryUser | null>;
  findByBadge(token: string): Promise<BadgeMatch | null>;
  pinVerifier(userId: string): Promise<string | null>;
  list(): Promise<readonly DirectoryUser[]>;
  /** Applies an enrolment in one transaction; throws DirectoryConflictError (nothing changed). Returns the new version. */
  enroll(e: Enrolment, by?: ChangeAuthor): Promise<number>;
  revoke(target: RevokeTarget, by?: ChangeAuthor): Promise<number>;
  /** Records a verified assertion's counter (never lowers it). */
  recordUse(credentialId: string, counter: number, atIso: string): Promise<void>;
}
