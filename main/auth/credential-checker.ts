// The checks behind every sign-in, shared by the lock screen and enrolment: a badge to a
// user (unknown, revoked, locked out), a PIN against its verifier with the failure ledger,
// and a FIDO2 assertion with its counter. It records what no session event records
// (refused badges, lockouts, suspected clones); factor successes and failures are
// recorded by the caller, which knows what they were for.
import type { AuthenticationResponseJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import type { AuditRecorder } from '../audit/recorder';
import type { Clock } from '../platform/clock';
import type { Directory, DirectoryUser } from './directory';
import type { DirectoryKeys } from './directory-key';
import type { FailureLedger, FailureOutcome, LockoutStatus } from './lockout';
import { verifyPin } from './pin-hash';
import type { AssertionResult, Fido2FailureKind, WebAuthnService } from './webauthn';

export type BadgeIdentity =
  | { readonly kind: 'user'; readonly user: DirectoryUser }
  | { readonly kind: 'unknown' }
  | { readonly kind: 'revoked-badge'; readonly user: DirectoryUser }
  | { readonly kind: 'revoked-user'; readonly user: DirectoryUser }
  | { readonly kind: 'locked-out'; readonly user: DirectoryUser; readonly untilMs: number };

export type PinCheck = { readonly ok: true } | ({ readonly ok: false; readonly reason: 'wrong-pin' | 'locked-out' | 'no-pin' } & LockoutStatus);

export type AssertionCheck = AssertionResult & { readonly lockout?: FailureOutcome };

/** FIDO2 failures that say something about the key or an attacker, and so count toward a lockout. */
const COUNTED_FIDO_FAILURES: ReadonlySet<Fido2FailureKind> = new Set([
  'bad-signature',
  'counter-regressed',
  'unknown-credential',
  'revoked-credential',
  'replayed',
  'user-verification-missing',
  'origin-mismatch',
  'rp-id-mismatch',
]);

export interface CredentialCheckerOptions {
  readonly directory: Directory;
  /** Throws DirectoryKeyError when the organisation key is missing. */
  readonly keys: () => DirectoryKeys;
  readonly ledger: FailureLedger;
  readonly webauthn: WebAuthnService;
  readonly recorder: AuditRecorder;
  readonly clock: Clock;
}

export class CredentialChecker {
  constructor(private readonly o: CredentialCheckerOptions) {}

  get webauthn(): WebAuthnService {
    return this.o.webauthn;
  }

  /** Resolves a card number; refusals are audited (never the number: not even its token). */
  async identifyBadge(cardNumber: string, purpose: string): Promise<BadgeIdentity> {
    const token = this.o.keys().badgeToken(cardNumber);
    const match = await this.o.directory.findByBadge(token);
    const refuse = async (kind: string, user: string | null, extra: Record<string, string | number> = {}) => {
      await this.o.recorder.record({ action: 'auth.badge.failure', user, method: 'badge', details: { kind, purpose, ...extra } });
    };
    if (!match) {
      await refuse('unknown-badge', null);
      return { kind: 'unknown' };
    }
    const { user, badge } = match;
    if (user.state !== 'active') {
      await refuse('revoked-user', user.id);
      return { kind: 'revoked-user', user };
    }
    if (badge.state !== 'active') {
      await refuse('revoked-badge', user.id, { badge: badge.ref });
      return { kind: 'revoked-badge', user };
    }
    const lock = this.o.ledger.status(user.id);
    if (lock.lockedUntilMs !== null) {
      await refuse('locked-out', user.id, { until: new Date(lock.lockedUntilMs).toISOString() });
      return { kind: 'locked-out', user, untilMs: lock.lockedUntilMs };
    }
    return { kind: 'user', user };
  }

  /** Re-reads a user (a revocation between the tap and the factor takes effect at once). */
  async current(userId: string): Promise<DirectoryUser | null> {
    const user = await this.o.directory.get(userId);
    return user && user.state === 'active' ? user : null;
  }

  lockout(userId: string): LockoutStatus {
    return this.o.ledger.status(userId);
  }

  async checkPin(user: DirectoryUser, pin: string): Promise<PinCheck> {
    const before = this.o.ledger.status(user.id);
    if (before.lockedUntilMs !== null) return { ok: false, reason: 'locked-out', ...before };
    const verifier = await this.o.directory.pinVerifier(user.id);
    if (verifier === null) return { ok: false, reason: 'no-pin', ...before };
    if (await verifyPin(pin, verifier, this.o.keys().pinPepper)) {
      this.o.ledger.succeed(user.id);
      return { ok: true };
    }
    const outcome = await this.countFailure(user.id, 'wrong-pin');
    return { ok: false, reason: outcome.lockedUntilMs !== null ? 'locked-out' : 'wrong-pin', ...outcome };
  }

  fido2Options(user: DirectoryUser): Promise<PublicKeyCredentialRequestOptionsJSON> {
    return this.o.webauthn.authenticationOptions(user);
  }

  /** Verifies an assertion; keeps the highest counter; a regressed counter is recorded as a suspected clone. */
  async checkAssertion(user: DirectoryUser, response: AuthenticationResponseJSON): Promise<AssertionCheck> {
    const result = await this.o.webauthn.verifyAssertion(user, response);
    if (result.ok) {
      await this.o.directory.recordUse(result.credentialId, result.newCounter, new Date(this.o.clock.wallMs()).toISOString());
      this.o.ledger.succeed(user.id);
      return result;
    }
    if (result.kind === 'counter-regressed') {
      await this.o.recorder.record({
        action: 'auth.fido.clone_suspected',
        user: user.id,
        method: 'badge+fido2',
        details: { credential: (result.credentialId ?? '').slice(0, 16), detail: result.detail },
      });
    }
    if (!COUNTED_FIDO_FAILURES.has(result.kind)) return result;
    return { ...result, lockout: await this.countFailure(user.id, result.kind) };
  }

  /** Counts a failure; the one that starts a lockout is recorded as an urgent alert. */
  private async countFailure(userId: string, kind: string): Promise<FailureOutcome> {
    const outcome = this.o.ledger.fail(userId);
    if (outcome.lockedNow && outcome.lockedUntilMs !== null) {
      await this.o.recorder.record({
        action: 'auth.lockout',
        user: userId,
        method: kind,
        details: { failures: outcome.failures, seconds: Math.round((outcome.lockedUntilMs - this.o.clock.wallMs()) / 1000), until: new Date(outcome.lockedUntilMs).toISOString() },
      });
    }
    return outcome;
  }
}
