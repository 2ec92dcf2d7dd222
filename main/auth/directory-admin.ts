// What IT does to the directory from the command line (agentctl) — the first enroller on
// an empty directory, roles, revocations, clearing a lockout — each audited with how it
// was done. The workstation's own enrolment flow is main/auth/enrollment.ts.
import type { AuditRecorder } from '../audit/recorder';
import { DirectoryConflictError, USER_ID_PATTERN, type Directory, type DirectoryUser, type RevokeTarget } from './directory';
import type { DirectoryKeys } from './directory-key';
import type { FailureLedger } from './lockout';
import { hashPin, pinProblem } from './pin-hash';
import type { PinPolicy } from './policy';

export interface NewUser {
  readonly id: string;
  readonly displayName: string;
  readonly roles: readonly string[];
  /** The card number as the reader types it; only its token is kept. */
  readonly badge: string;
  readonly pin: string;
}

export class DirectoryAdmin {
  constructor(
    private readonly o: {
      readonly directory: Directory;
      readonly keys: () => DirectoryKeys;
      readonly recorder: AuditRecorder;
      readonly ledger: FailureLedger;
      readonly pinPolicy: () => PinPolicy;
      /** How the change was made, for the audit trail (e.g. "agentctl"). */
      readonly via: string;
      /** Who made it: the OS account that ran agentctl (IT's admin account). */
      readonly operator?: string;
    },
  ) {}

  private by(): Record<string, string> {
    return { via: this.o.via, ...(this.o.operator ? { operator: this.o.operator.slice(0, 64) } : {}) };
  }

  /** Adds a user with a badge and a PIN; refuses a taken badge or an existing id. */
  async addUser(u: NewUser): Promise<DirectoryUser> {
    if (!USER_ID_PATTERN.test(u.id)) throw new DirectoryConflictError('incomplete', `"${u.id}" is not a user id: use letters, digits and . _ @ : + - (up to 64).`);
    if (u.displayName.trim().length === 0 || u.displayName.length > 80) throw new DirectoryConflictError('incomplete', 'The display name must be 1 to 80 characters.');
    if (!/^[0-9A-Za-z]{4,64}$/.test(u.badge)) throw new DirectoryConflictError('incomplete', 'The badge number must be 4 to 64 letters or digits, as the reader types it.');
    const problem = pinProblem(u.pin, this.o.pinPolicy());
    if (problem) throw new DirectoryConflictError('incomplete', problem);
    if (await this.o.directory.get(u.id)) throw new DirectoryConflictError('user-exists', `${u.id} is already enrolled.`);
    const keys = this.o.keys();
    await this.o.directory.enroll({
      userId: u.id,
      profile: { displayName: u.displayName.trim(), roles: [...u.roles] },
      badgeToken: keys.badgeToken(u.badge),
      pinVerifier: await hashPin(u.pin, keys.pinPepper),
    });
    await this.o.recorder.record({ action: 'enrollment.user_added', user: null, method: this.o.via, details: { subject: u.id, roles: [...u.roles], ...this.by() } });
    for (const kind of ['badge', 'pin']) {
      await this.o.recorder.record({ action: 'enrollment.credential_added', user: null, method: this.o.via, details: { subject: u.id, kind, replaced: false, ...this.by() } });
    }
    return (await this.o.directory.get(u.id))!;
  }

  async revoke(target: RevokeTarget): Promise<void> {
    await this.o.directory.revoke(target);
    const subject = target.userId;
    if (target.kind === 'user') {
      await this.o.recorder.record({ action: 'enrollment.user_removed', user: null, method: this.o.via, details: { subject, ...this.by() } });
    } else {
      const ref = target.kind === 'badge' ? target.ref : target.credentialId.slice(0, 16);
      await this.o.recorder.record({ action: 'enrollment.credential_removed', user: null, method: this.o.via, details: { subject, kind: target.kind === 'badge' ? 'badge' : 'fido2', ref, ...this.by() } });
    }
  }

  /** Clears a user's failure count and lockout; returns whether a lockout was in force. */
  async clearLockout(userId: string): Promise<boolean> {
    if (!(await this.o.directory.get(userId))) throw new DirectoryConflictError('no-such-user', `${userId} is not enrolled.`);
    const was = this.o.ledger.clear(userId);
    await this.o.recorder.record({ action: 'auth.lockout_cleared', user: null, method: this.o.via, details: { subject: userId, wasLockedOut: was, ...this.by() } });
    return was;
  }

  list(): Promise<readonly DirectoryUser[]> {
    return this.o.directory.list();
  }
}
