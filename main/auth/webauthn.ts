// FIDO2 / WebAuthn for the lock page, verified in main with @simplewebauthn/server: options
// with allowCredentials from the badge's user (no discoverable credentials), single-use
// challenges that expire within 60 s, origin and RP ID from policy, user verification per
// OS, and the signature counter (a counter that does not increase is a possible clone).
import { randomBytes } from 'node:crypto';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { Clock } from '../platform/clock';
import type { DirectoryUser, NewCredential } from './directory';
import { resolveUserVerification, rpIdOf, type AuthPolicy, type ResolvedUserVerification } from './policy';

/** A challenge is good for the ceremony's timeout plus a little, never more than this. */
export const MAX_CHALLENGE_AGE_MS = 60_000;
const MAX_OUTSTANDING = 64;
const RP_NAME = 'Clinical Workstation Agent';
/** Ed25519, ES256, RS256: what security keys in hospitals offer. */
const ALGORITHMS = [-8, -7, -257];

export type Fido2FailureKind =
  | 'malformed'
  | 'challenge-unknown'
  | 'replayed'
  | 'challenge-expired'
  | 'wrong-user'
  | 'origin-mismatch'
  | 'rp-id-mismatch'
  | 'unknown-credential'
  | 'revoked-credential'
  | 'user-not-present'
  | 'user-verification-missing'
  | 'counter-regressed'
  | 'bad-signature'
  | 'already-registered'
  | 'error';

export type AssertionResult =
  | { readonly ok: true; readonly credentialId: string; readonly newCounter: number; readonly userVerified: boolean; readonly uv: ResolvedUserVerification }
  | { readonly ok: false; readonly kind: Fido2FailureKind; readonly detail: string; readonly credentialId?: string };

export type RegistrationResult = { readonly ok: true; readonly credential: NewCredential } | { readonly ok: false; readonly kind: Fido2FailureKind; readonly detail: string };

type Purpose = 'authenticate' | 'register';

interface IssuedChallenge {
  readonly purpose: Purpose;
  readonly userId: string;
  readonly expiresAt: number;
}

export interface WebAuthnServiceOptions {
  readonly policy: () => AuthPolicy;
  readonly clock: Clock;
  readonly platform?: NodeJS.Platform;
}

export class WebAuthnService {
  private readonly issued = new Map<string, IssuedChallenge>();
  /** Recently consumed challenges, so a replay is named as such in the audit trail. */
  private readonly consumed = new Map<string, number>();

  constructor(private readonly opts: WebAuthnServiceOptions) {}

  /** How UV is obtained on this OS under the current policy. */
  userVerification(): ResolvedUserVerification {
    return resolveUserVerification(this.opts.policy(), this.opts.platform ?? process.platform);
  }

  timeoutMs(): number {
    return this.opts.policy().fido2TimeoutSeconds * 1000;
  }

  async authenticationOptions(user: DirectoryUser): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const policy = this.opts.policy();
    const options = await generateAuthenticationOptions({
      rpID: rpIdOf(policy),
      allowCredentials: activeCredentials(user).map((c) => ({ id: c.id, transports: [...c.transports] })),
      timeout: this.timeoutMs(),
      userVerification: this.userVerification() === 'authenticator' ? 'required' : 'discouraged',
    });
    this.issue(options.challenge, 'authenticate', user.id);
    return options;
  }

  async verifyAssertion(user: DirectoryUser, response: AuthenticationResponseJSON): Promise<AssertionResult> {
    const policy = this.opts.policy();
    const checked = this.takeChallenge(response.response.clientDataJSON, 'authenticate', user.id, 'webauthn.get');
    if (!checked.ok) return checked;
    const credential = user.credentials.find((c) => c.id === response.id);
    if (!credential) return { ok: false, kind: 'unknown-credential', detail: 'the key used is not registered to this user' };
    if (credential.state !== 'active') return { ok: false, kind: 'revoked-credential', detail: 'this security key was revoked', credentialId: credential.id };
    const uv = this.userVerification();
    try {
      const result = await verifyAuthenticationResponse({
        response,
        expectedChallenge: checked.challenge,
        expectedOrigin: policy.origin,
        expectedRPID: rpIdOf(policy),
        credential: { id: credential.id, publicKey: credential.publicKey as Uint8Array<ArrayBuffer>, counter: credential.counter, transports: [...credential.transports] },
        requireUserVerification: uv === 'authenticator',
      });
      if (!result.verified) return { ok: false, kind: 'bad-signature', detail: 'the signature does not verify with the registered key', credentialId: credential.id };
      const info = result.authenticationInfo;
      return { ok: true, credentialId: credential.id, newCounter: info.newCounter, userVerified: info.userVerified, uv };
    } catch (err) {
      return { ...classify(err), credentialId: credential.id };
    }
  }

  async registrationOptions(user: { readonly id: string; readonly displayName: string }, existing: readonly { readonly id: string }[]): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const policy = this.opts.policy();
    const uv = this.userVerification() === 'authenticator' ? 'required' : 'discouraged';
    const options = await generateRegistrationOptions({
      rpName: RP_NAME,
      rpID: rpIdOf(policy),
      userName: user.id,
      userDisplayName: user.displayName,
      // An opaque handle: no name or id goes into the key.
      userID: new Uint8Array(randomBytes(16)),
      timeout: this.timeoutMs(),
      attestationType: 'none',
      excludeCredentials: existing.map((c) => ({ id: c.id })),
      authenticatorSelection: { residentKey: 'discouraged', requireResidentKey: false, userVerification: uv },
      supportedAlgorithmIDs: ALGORITHMS,
      preferredAuthenticatorType: 'securityKey',
    });
    this.issue(options.challenge, 'register', user.id);
    return options;
  }

  async verifyRegistration(userId: string, response: RegistrationResponseJSON, label: string): Promise<RegistrationResult> {
    const policy = this.opts.policy();
    const checked = this.takeChallenge(response.response.clientDataJSON, 'register', userId, 'webauthn.create');
    if (!checked.ok) return checked;
    try {
      const result = await verifyRegistrationResponse({
        response,
        expectedChallenge: checked.challenge,
        expectedOrigin: policy.origin,
        expectedRPID: rpIdOf(policy),
        requireUserVerification: this.userVerification() === 'authenticator',
        supportedAlgorithmIDs: ALGORITHMS,
      });
      if (!result.verified) return { ok: false, kind: 'bad-signature', detail: 'the registration could not be verified' };
      const c = result.registrationInfo.credential;
      return { ok: true, credential: { id: c.id, publicKey: c.publicKey, counter: c.counter, transports: c.transports ?? [], label } };
    } catch (err) {
      return classify(err);
    }
  }

  /** Forgets every outstanding challenge for a user (cancel, or the flow moved on). */
  cancel(userId: string): void {
    for (const [challenge, c] of this.issued) if (c.userId === userId) this.consume(challenge);
  }

  private issue(challenge: string, purpose: Purpose, userId: string): void {
    const ttl = Math.min(MAX_CHALLENGE_AGE_MS, this.timeoutMs() + 5_000);
    this.prune();
    // One ceremony per user at a time: a new one retires the previous challenge.
    for (const [c, entry] of this.issued) if (entry.userId === userId && entry.purpose === purpose) this.consume(c);
    this.issued.set(challenge, { purpose, userId, expiresAt: this.opts.clock.monotonicMs() + ttl });
    while (this.issued.size > MAX_OUTSTANDING) this.consume(this.issued.keys().next().value!);
  }

  private consume(challenge: string): void {
    this.issued.delete(challenge);
    this.consumed.set(challenge, this.opts.clock.monotonicMs());
    while (this.consumed.size > 4 * MAX_OUTSTANDING) this.consumed.delete(this.consumed.keys().next().value!);
  }

  private prune(): void {
    const now = this.opts.clock.monotonicMs();
    for (const [c, at] of this.consumed) if (now - at > 10 * MAX_CHALLENGE_AGE_MS) this.consumed.delete(c);
  }

  /** Reads the challenge the authenticator signed and takes it: single use, in time, for this user and purpose. */
  private takeChallenge(clientDataB64: string, purpose: Purpose, userId: string, type: string): { ok: true; challenge: string } | { ok: false; kind: Fido2FailureKind; detail: string } {
    let clientData: { type?: unknown; challenge?: unknown; origin?: unknown };
    try {
      clientData = JSON.parse(Buffer.from(clientDataB64, 'base64url').toString('utf8')) as typeof clientData;
    } catch {
      return { ok: false, kind: 'malformed', detail: 'clientDataJSON is not readable' };
    }
    if (clientData.type !== type || typeof clientData.challenge !== 'string') return { ok: false, kind: 'malformed', detail: `expected a ${type} response` };
    const challenge = clientData.challenge;
    const entry = this.issued.get(challenge);
    if (!entry) {
      return this.consumed.has(challenge)
        ? { ok: false, kind: 'replayed', detail: 'this response was already used (or its ceremony was cancelled)' }
        : { ok: false, kind: 'challenge-unknown', detail: 'the response answers a challenge this agent did not issue' };
    }
    this.consume(challenge);
    if (entry.purpose !== purpose || entry.userId !== userId) return { ok: false, kind: 'wrong-user', detail: 'the challenge was issued for another user or ceremony' };
    if (this.opts.clock.monotonicMs() > entry.expiresAt) return { ok: false, kind: 'challenge-expired', detail: 'the challenge expired before the key answered' };
    const expectedOrigin = this.opts.policy().origin;
    if (clientData.origin !== expectedOrigin) {
      return { ok: false, kind: 'origin-mismatch', detail: `the response was made on ${String(clientData.origin).slice(0, 100)}, not ${expectedOrigin}` };
    }
    return { ok: true, challenge };
  }
}

function activeCredentials(user: DirectoryUser) {
  return user.credentials.filter((c) => c.state === 'active');
}

function classify(err: unknown): { ok: false; kind: Fido2FailureKind; detail: string } {
  const message = err instanceof Error ? err.message : String(err);
  const detail = message.slice(0, 200);
  if (/counter value/i.test(message)) return { ok: false, kind: 'counter-regressed', detail };
  if (/user verification required/i.test(message)) return { ok: false, kind: 'user-verification-missing', detail };
  if (/not present/i.test(message)) return { ok: false, kind: 'user-not-present', detail };
  if (/RP ID/i.test(message)) return { ok: false, kind: 'rp-id-mismatch', detail };
  if (/origin/i.test(message)) return { ok: false, kind: 'origin-mismatch', detail };
  if (/signature/i.test(message)) return { ok: false, kind: 'bad-signature', detail };
  return { ok: false, kind: 'error', detail };
}
