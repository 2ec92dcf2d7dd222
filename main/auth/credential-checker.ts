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
import type { LockoutReply } from './directory-wire';
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

/** The collector's part in a sign-in (null answers: it cannot be asked now; the local rules decide). */
export interface AuthUpstream {
  reportFailure(userId: string, kind: string): Promise<LockoutReply | null>;
  reportSuccess(userId: string): void;
  checkCounter(credentialId: string, counter: number): Promise<boolean | null>;
}

export interface CredentialCheckerOptions {
  readonly directory: Directory;
  /** Throws DirectoryKeyError when the organisation key is missing. */
  readonly keys: () => DirectoryKeys;
  readonly ledger: FailureLedger;
  readonly webauthn: WebAuthnService;
  readonly recorder: AuditRecorder;
  readonly clock: Clock;
  /** The shared directory's lockout and counters (absent on a standalone workstation). */
  readonly upstream?: AuthUpstream;
}

export class CredentialChecker {
  /** The PIN check under way per user (the next one waits for it). */
  private readonly pinChecks = new Map<string, Promise<void>>();

  constructor(private readonly o: CredentialCheckerOptions) {}

  get webauthn(): WebAuthnService {
    return this.o.webauthn;
  }

  /** Resolves a card number; refusals are audited (never the number: not even its token). */
  async identifyBadge(cardNumber: string, purpose: string): Promise<BadgeIdentity> {
    const token = this.o.keys().badgeToken(cardNumber);
    const match = await this.o.directory.findByBadge(token);
    const refuse = (kind: string, user: string | null, extra: Record<string, string | number> = {}) => this.refusedIdentity('badge', purpose, kind, user, extra);
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
    const until = this.lockedUntil(user);
    if (until !== null) {
      await refuse('locked-out', user.id, { until: new Date(until).toISOString() });
      return { kind: 'locked-out', user, untilMs: until };
    }
    return { kind: 'user', user };
  }

  /**
   * Resolves a user ID typed for emergency access (no badge at hand); refusals are audited as
   * a refused identification (method user-id), never with the text typed when no active
   * user has it, and without telling an unknown ID from a revoked one.
   */
  async identifyUserId(userId: string, purpose: string): Promise<{ kind: 'user'; user: DirectoryUser } | { kind: 'unknown' } | { kind: 'locked-out'; user: DirectoryUser; untilMs: number }> {
    const refuse = (kind: string, user: string | null, extra: Record<string, string> = {}) => this.refusedIdentity('user-id', purpose, kind, user, extra);
    const user = await this.current(userId);
    if (!user) {
      await refuse('unknown-user', null);
      return { kind: 'unknown' };
    }
    const until = this.lockedUntil(user);
    if (until !== null) {
      await refuse('locked-out', user.id, { until: new Date(until).toISOString() });
      return { kind: 'locked-out', user, untilMs: until };
    }
    return { kind: 'user', user };
  }

  /** Records a refused identification (a badge, or a typed user ID): auth.badge.failure. */
  private async refusedIdentity(method: 'badge' | 'user-id', purpose: string, kind: string, user: string | null, extra: Record<string, string | number>): Promise<void> {
    await this.o.recorder.record({ action: 'auth.badge.failure', user, method, details: { kind, purpose, ...extra } });
  }

  /** Re-reads a user (a revocation between the tap and the factor takes effect at once). */
  async current(userId: string): Promise<DirectoryUser | null> {
    const user = await this.o.directory.get(userId);
    return user && user.state === 'active' ? user : null;
  }

  /** This workstation's count, with an organisation-wide lockout from the directory on top. */
  lockout(userId: string, user?: DirectoryUser): LockoutStatus {
    const local = this.o.ledger.status(userId);
    const global = user?.lockedUntil ? Date.parse(user.lockedUntil) : null;
    if (global !== null && global > this.o.clock.wallMs() && (local.lockedUntilMs === null || global > local.lockedUntilMs)) {
      return { failures: local.failures, triesLeft: 0, lockedUntilMs: global };
    }
    return local;
  }

  private lockedUntil(user: DirectoryUser): number | null {
    return this.lockout(user.id, user).lockedUntilMs;
  }

  /**
   * One PIN check at a time per user: checks that overlapped (a keystroke injector submitting
   * faster than a PIN hashes) would each pass the lockout test before any of them counted,
   * and a right guess among them would erase the lockout the others had earned.
   */
  checkPin(user: DirectoryUser, pin: string): Promise<PinCheck> {
    // The chain holds settled promises only, so one failed check never blocks the next.
    const run = (this.pinChecks.get(user.id) ?? Promise.resolve()).then(() => this.checkPinNow(user, pin));
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.pinChecks.set(user.id, settled);
    void settled.then(() => {
      if (this.pinChecks.get(user.id) === settled) this.pinChecks.delete(user.id);
    });
    return run;
  }

  private async checkPinNow(user: DirectoryUser, pin: string): Promise<PinCheck> {
    const fresh = (await this.o.directory.get(user.id)) ?? user;
    const before = this.lockout(user.id, fresh);
    if (before.lockedUntilMs !== null) return { ok: false, reason: 'locked-out', ...before };
    const verifier = await this.o.directory.pinVerifier(user.id);
    if (verifier === null) return { ok: false, reason: 'no-pin', ...before };
    if (await verifyPin(pin, verifier, this.o.keys().pinPepper)) {
      // A lockout that began while this PIN was hashed (another workstation) still holds.
      const after = this.lockout(user.id, (await this.o.directory.get(user.id)) ?? fresh);
      if (after.lockedUntilMs !== null) return { ok: false, reason: 'locked-out', ...after };
      this.succeeded(user.id);
      return { ok: true };
    }
    const outcome = await this.countFailure(user.id, 'wrong-pin');
    return { ok: false, reason: outcome.lockedUntilMs !== null ? 'locked-out' : 'wrong-pin', ...outcome };
  }

  private succeeded(userId: string): void {
    this.o.ledger.succeed(userId);
    this.o.upstream?.reportSuccess(userId);
  }

  fido2Options(user: DirectoryUser): Promise<PublicKeyCredentialRequestOptionsJSON> {
    return this.o.webauthn.authenticationOptions(user);
  }

  /** Verifies an assertion; keeps the highest counter; a regressed counter is recorded as a suspected clone. */
  async checkAssertion(user: DirectoryUser, response: AuthenticationResponseJSON): Promise<AssertionCheck> {
    let result: AssertionResult = await this.o.webauthn.verifyAssertion(user, response);
    if (result.ok) {
      // The highest counter seen at any workstation: a second copy of the key used elsewhere shows here.
      const upstreamOk = await this.o.upstream?.checkCounter(result.credentialId, result.newCounter);
      if (upstreamOk === false) {
        result = { ok: false, kind: 'counter-regressed', detail: `the counter ${result.newCounter} is not above the highest seen at another workstation`, credentialId: result.credentialId };
      } else {
        await this.o.directory.recordUse(result.credentialId, result.newCounter, new Date(this.o.clock.wallMs()).toISOString());
        // Only a key that verified its user is a whole sign-in. A touch alone (the agent's PIN
        // comes next) must not clear the failure count: the PIN it leads to would get
        // unlimited guesses, a few at a time between touches.
        if (result.uv === 'authenticator' && result.userVerified) this.succeeded(user.id);
        return result;
      }
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

  /**
   * Counts a failure here and at the collector (a guess spread over workstations adds up);
   * the one that starts a lockout is recorded as an urgent alert.
   */
  private async countFailure(userId: string, kind: string): Promise<FailureOutcome> {
    const local = this.o.ledger.fail(userId);
    const global = await this.o.upstream?.reportFailure(userId, kind);
    let outcome: FailureOutcome = local;
    if (global) {
      const globalUntil = global.lockedUntil ? Date.parse(global.lockedUntil) : null;
      const lockedUntilMs = globalUntil !== null && (local.lockedUntilMs === null || globalUntil > local.lockedUntilMs) ? globalUntil : local.lockedUntilMs;
      outcome = {
        failures: Math.max(local.failures, global.failures),
        triesLeft: Math.min(local.triesLeft, global.triesLeft),
        lockedUntilMs,
        lockedNow: local.lockedNow || (lockedUntilMs !== null && local.lockedUntilMs === null),
      };
    }
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
