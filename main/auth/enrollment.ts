// Enrolment at the workstation: an enroller (a directory role named in policy) proves
// their own strong factor, then the new user taps a badge, sets a PIN twice and may
// register a security key; or the enroller revokes a badge, a key or a person. Nothing is
// written until "Save", then all at once; every step is audited with enroller and subject.
// No PIN is kept in memory: the first entry is hashed at once and the second checked against it.
import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON, RegistrationResponseJSON, AuthenticationResponseJSON } from '@simplewebauthn/server';
import type {
  BadgeBurst,
  CeremonyFailure,
  CeremonyStart,
  EnrolSubjectSummary,
  EnrolView,
  KeyProblem,
  ReaderConfig,
  RevocableEntries,
  Sequenced,
} from '../../preload/contract';
import type { AuditRecorder } from '../audit/recorder';
import { toDisposable, type Disposable } from '../disposable';
import type { Clock } from '../platform/clock';
import type { AgentPolicy } from '../policy/schema';
import type { CredentialChecker } from './credential-checker';
import { DirectoryConflictError, type ChangeAuthor, type Directory, type DirectoryUser, type NewCredential } from './directory';
import type { DirectoryKeys } from './directory-key';
import { hashPin, pinProblem, verifyPin } from './pin-hash';

/** Roles a person enrolled at a workstation gets; IT grants others with agentctl. */
export const DEFAULT_ROLES: readonly string[] = ['clinician'];
const IDLE_TIMEOUT_MS = 3 * 60_000;

interface Draft {
  readonly userId: string;
  readonly displayName: string;
  readonly isNew: boolean;
  readonly badgeToken: string | null;
  /** The first PIN entry, hashed; becomes pinVerifier once the second entry matches. */
  readonly firstPin: string | null;
  readonly pinVerifier: string | null;
  readonly credential: NewCredential | null;
}

type State =
  | { readonly step: 'enroller-badge'; readonly error: string | null }
  | {
      readonly step: 'enroller-factor';
      readonly enroller: DirectoryUser;
      readonly stage: 'pin' | 'key' | 'key-pin';
      readonly wrong: boolean;
      readonly triesLeft: number;
      readonly problem: KeyProblem | null;
    }
  | { readonly step: 'menu'; readonly enroller: DirectoryUser; readonly message: string | null }
  | { readonly step: 'subject'; readonly enroller: DirectoryUser; readonly task: 'enrol' | 'revoke'; readonly error: string | null }
  | { readonly step: 'subject-badge' | 'subject-pin' | 'subject-key' | 'review' | 'done'; readonly enroller: DirectoryUser; readonly draft: Draft; readonly error: string | null }
  | { readonly step: 'revoke'; readonly enroller: DirectoryUser; readonly subject: DirectoryUser; readonly message: string | null }
  | { readonly step: 'closed'; readonly message: string | null };

export interface EnrollmentOptions {
  readonly checker: CredentialChecker;
  readonly directory: Directory;
  readonly keys: () => DirectoryKeys;
  readonly recorder: AuditRecorder;
  readonly policy: () => AgentPolicy;
  readonly clock: Clock;
  readonly onView: (view: Sequenced<EnrolView>) => void;
  /** The directory changed (the lock screen refreshes what it shows). */
  readonly onDirectoryChanged?: () => void;
  readonly onError?: (area: string, message: string) => void;
  readonly idleTimeoutMs?: number;
}

export class Enrollment implements Disposable {
  private state: State = { step: 'closed', message: null };
  /** The enroller's sign-in event: sent upstream as the proof that they proved themselves. */
  private proofSeq: number | null = null;
  private seq = 0;
  private timer: Disposable | null = null;

  constructor(private readonly o: EnrollmentOptions) {}

  readerConfig(policy: AgentPolicy): ReaderConfig {
    const b = policy.auth.badge;
    return { maxKeyGapMs: b.maxKeyGapMs, maxBurstMs: b.maxBurstMs, minLength: b.minLength, maxLength: b.maxLength, prefix: b.prefix, suffix: b.suffix, terminators: [...b.terminators] };
  }

  /** The enrol page opened: a fresh enrolment starts with the enroller's badge. */
  async hello(): Promise<Sequenced<EnrolView>> {
    this.proofSeq = null;
    return this.guard(async () => this.set({ step: 'enroller-badge', error: null }));
  }

  async badge(burst: BadgeBurst): Promise<Sequenced<EnrolView>> {
    return this.guard(async () => {
      const s = this.state;
      if (s.step === 'enroller-badge') {
        const id = await this.o.checker.identifyBadge(burst.value, 'enrolment');
        if (id.kind !== 'user') {
          const why = { unknown: 'That badge is not enrolled.', 'revoked-badge': 'That badge was revoked.', 'revoked-user': 'That account was revoked.', 'locked-out': 'That account is locked out after too many wrong attempts.' }[id.kind];
          return this.set({ step: 'enroller-badge', error: `${why} An enroller's badge is needed here.` });
        }
        const allowed = this.o.policy().auth.enrollerRoles;
        if (!id.user.roles.some((r) => allowed.includes(r))) {
          await this.o.recorder.record({ action: 'auth.badge.failure', user: id.user.id, method: 'badge', details: { kind: 'not-enroller', purpose: 'enrolment' } });
          return this.set({ step: 'enroller-badge', error: `${id.user.displayName} is not an enroller. Ask someone with the enroller role, or IT.` });
        }
        return this.startEnrollerFactor(id.user);
      }
      if (s.step === 'subject-badge') {
        const token = this.o.keys().badgeToken(burst.value);
        const bound = await this.o.directory.findByBadge(token);
        if (bound && bound.badge.state === 'active' && bound.user.id !== s.draft.userId) {
          return this.set({ ...s, error: 'This badge already belongs to someone else. Use a different badge, or revoke it from the other person first.' });
        }
        return this.set({ ...s, step: 'subject-pin', draft: { ...s.draft, badgeToken: token }, error: null });
      }
    });
  }

  async pin(pin: string): Promise<Sequenced<EnrolView>> {
    return this.guard(async () => {
      const s = this.state;
      if (s.step === 'enroller-factor' && (s.stage === 'pin' || s.stage === 'key-pin')) {
        const r = await this.o.checker.checkPin(s.enroller, pin);
        if (r.ok) return this.enrollerProven(s.enroller, s.stage === 'pin' ? { method: 'badge+pin', action: 'auth.pin.success' } : { method: 'badge+fido2', action: 'auth.fido.success', uv: 'agent-pin' });
        await this.o.recorder.record({ action: 'auth.pin.failure', user: s.enroller.id, method: 'badge+pin', details: { kind: r.reason, triesLeft: r.triesLeft, purpose: 'enrolment' } });
        if (r.lockedUntilMs !== null) return this.close(`${s.enroller.displayName} is locked out after too many wrong attempts.`);
        return this.set({ ...s, wrong: true, triesLeft: r.triesLeft });
      }
      if (s.step === 'subject-pin') {
        const keys = this.o.keys();
        if (s.draft.firstPin === null) {
          const problem = pinProblem(pin, this.o.policy().auth.pin);
          if (problem) return this.set({ ...s, error: problem });
          return this.set({ ...s, draft: { ...s.draft, firstPin: await hashPin(pin, keys.pinPepper) }, error: null });
        }
        if (!(await verifyPin(pin, s.draft.firstPin, keys.pinPepper))) {
          return this.set({ ...s, draft: { ...s.draft, firstPin: null }, error: 'The two PINs were different. Choose the PIN again.' });
        }
        return this.set({ ...s, step: 'subject-key', draft: { ...s.draft, pinVerifier: s.draft.firstPin, firstPin: null }, error: null });
      }
    });
  }

  async fido2Begin(): Promise<CeremonyStart<PublicKeyCredentialRequestOptionsJSON, EnrolView>> {
    let options: PublicKeyCredentialRequestOptionsJSON | null = null;
    const view = await this.guard(async () => {
      const s = this.state;
      if (s.step !== 'enroller-factor' || s.stage !== 'key') return;
      options = await this.o.checker.fido2Options(s.enroller);
      this.set({ ...s, problem: null });
    });
    return options ? { options, timeoutMs: this.o.checker.webauthn.timeoutMs() } : { view };
  }

  async fido2Finish(outcome: { readonly response: AuthenticationResponseJSON } | { readonly failed: CeremonyFailure }): Promise<Sequenced<EnrolView>> {
    return this.guard(async () => {
      const s = this.state;
      if (s.step !== 'enroller-factor' || s.stage !== 'key') return;
      if ('failed' in outcome) {
        this.o.checker.webauthn.cancel(s.enroller.id);
        await this.o.recorder.record({ action: 'auth.fido.failure', user: s.enroller.id, method: 'badge+fido2', details: { kind: outcome.failed, purpose: 'enrolment' } });
        return this.set({ ...s, problem: outcome.failed === 'timeout' ? 'no-key-detected' : outcome.failed === 'cancelled' ? 'cancelled' : 'not-allowed' });
      }
      const r = await this.o.checker.checkAssertion(s.enroller, outcome.response);
      if (r.ok) {
        if (r.uv === 'authenticator') return this.enrollerProven(s.enroller, { method: 'badge+fido2', action: 'auth.fido.success', uv: 'authenticator' });
        return this.set({ ...s, stage: 'key-pin', problem: null });
      }
      await this.o.recorder.record({
        action: 'auth.fido.failure',
        user: s.enroller.id,
        method: 'badge+fido2',
        details: { kind: r.kind, purpose: 'enrolment', ...(r.lockout ? { triesLeft: r.lockout.triesLeft } : {}) },
      });
      if (r.lockout?.lockedUntilMs) return this.close(`${s.enroller.displayName} is locked out after too many failed attempts.`);
      return this.set({ ...s, problem: r.kind === 'revoked-credential' ? 'key-revoked' : 'key-refused' });
    });
  }

  async choose(task: 'enrol' | 'revoke'): Promise<Sequenced<EnrolView>> {
    return this.guard(async () => {
      const s = this.state;
      if (s.step !== 'menu') return;
      this.set({ step: 'subject', enroller: s.enroller, task, error: null });
    });
  }

  async subject(userId: string, displayName: string): Promise<Sequenced<EnrolView>> {
    return this.guard(async () => {
      const s = this.state;
      if (s.step !== 'subject') return;
      const existing = await this.o.directory.get(userId);
      if (s.task === 'revoke') {
        if (!existing) return this.set({ ...s, error: `Nobody is enrolled as ${userId}.` });
        return this.set({ step: 'revoke', enroller: s.enroller, subject: existing, message: null });
      }
      if (existing?.state === 'revoked') return this.set({ ...s, error: `${userId} was revoked. IT must reinstate the account before it can be enrolled again.` });
      if (!existing && displayName.length === 0) return this.set({ ...s, error: 'Enter the name the lock screen should show for this person.' });
      if (!existing && !/^[\p{L}\p{M}\p{N} .'’-]{1,80}$/u.test(displayName)) return this.set({ ...s, error: 'Use letters, spaces, hyphens and apostrophes for the name.' });
      const draft: Draft = {
        userId,
        displayName: existing?.displayName ?? displayName,
        isNew: !existing,
        badgeToken: null,
        firstPin: null,
        pinVerifier: null,
        credential: null,
      };
      this.set({ step: 'subject-badge', enroller: s.enroller, draft, error: null });
    });
  }

  /** Skips an optional step (badge or PIN of an existing user; the security key). */
  async skip(): Promise<Sequenced<EnrolView>> {
    return this.guard(async () => {
      const s = this.state;
      if (s.step === 'subject-badge' && !s.draft.isNew) return this.set({ ...s, step: 'subject-pin', error: null });
      if (s.step === 'subject-pin' && !s.draft.isNew) return this.set({ ...s, step: 'subject-key', draft: { ...s.draft, firstPin: null }, error: null });
      if (s.step === 'subject-key') return this.set({ ...s, step: 'review', error: null });
    });
  }

  async registerBegin(): Promise<CeremonyStart<PublicKeyCredentialCreationOptionsJSON, EnrolView>> {
    let options: PublicKeyCredentialCreationOptionsJSON | null = null;
    const view = await this.guard(async () => {
      const s = this.state;
      if (s.step !== 'subject-key') return;
      const existing = await this.o.directory.get(s.draft.userId);
      options = await this.o.checker.webauthn.registrationOptions({ id: s.draft.userId, displayName: s.draft.displayName }, existing?.credentials ?? []);
      this.set({ ...s, error: null });
    });
    return options ? { options, timeoutMs: this.o.checker.webauthn.timeoutMs() } : { view };
  }

  async registerFinish(outcome: { readonly response: RegistrationResponseJSON; readonly label: string } | { readonly failed: CeremonyFailure }): Promise<Sequenced<EnrolView>> {
    return this.guard(async () => {
      const s = this.state;
      if (s.step !== 'subject-key') return;
      if ('failed' in outcome) {
        this.o.checker.webauthn.cancel(s.draft.userId);
        const why = outcome.failed === 'timeout' ? 'No security key was detected. Insert the key and try again, or skip this step.' : 'The security key was not registered. Try again, or skip this step.';
        return this.set({ ...s, error: why });
      }
      const r = await this.o.checker.webauthn.verifyRegistration(s.draft.userId, outcome.response, outcome.label);
      if (!r.ok) return this.set({ ...s, error: 'The security key could not be registered (it did not verify). Try again, or skip this step.' });
      this.set({ ...s, step: 'review', draft: { ...s.draft, credential: r.credential }, error: null });
    });
  }

  async save(): Promise<Sequenced<EnrolView>> {
    return this.guard(async () => {
      const s = this.state;
      if (s.step !== 'review') return;
      const d = s.draft;
      if (!d.badgeToken && !d.pinVerifier && !d.credential) return this.set({ ...s, error: 'Nothing to save: add a badge, a PIN or a security key.' });
      try {
        await this.o.directory.enroll({
          userId: d.userId,
          ...(d.isNew ? { profile: { displayName: d.displayName, roles: DEFAULT_ROLES } } : {}),
          ...(d.badgeToken ? { badgeToken: d.badgeToken, replaceBadges: !d.isNew } : {}),
          ...(d.pinVerifier ? { pinVerifier: d.pinVerifier } : {}),
          ...(d.credential ? { credential: d.credential } : {}),
        }, this.by(s.enroller));
      } catch (err) {
        if (err instanceof DirectoryConflictError) return this.set({ ...s, error: err.message });
        throw err;
      }
      const by = s.enroller.id;
      if (d.isNew) await this.o.recorder.record({ action: 'enrollment.user_added', user: by, method: 'workstation', details: { subject: d.userId, roles: [...DEFAULT_ROLES], via: 'workstation' } });
      for (const kind of ['badge', 'pin', 'fido2'] as const) {
        const has = kind === 'badge' ? d.badgeToken : kind === 'pin' ? d.pinVerifier : d.credential;
        if (has) await this.o.recorder.record({ action: 'enrollment.credential_added', user: by, method: 'workstation', details: { subject: d.userId, kind, replaced: !d.isNew } });
      }
      this.o.onDirectoryChanged?.();
      this.set({ ...s, step: 'done', error: null });
    });
  }

  async revoke(target: { readonly kind: 'user' } | { readonly kind: 'badge'; readonly ref: string } | { readonly kind: 'credential'; readonly credentialId: string }): Promise<Sequenced<EnrolView>> {
    return this.guard(async () => {
      const s = this.state;
      if (s.step !== 'revoke') return;
      const subject = s.subject.id;
      try {
        const by = this.by(s.enroller);
        if (target.kind === 'user') await this.o.directory.revoke({ kind: 'user', userId: subject }, by);
        else if (target.kind === 'badge') await this.o.directory.revoke({ kind: 'badge', userId: subject, ref: target.ref }, by);
        else await this.o.directory.revoke({ kind: 'credential', userId: subject, credentialId: target.credentialId }, by);
      } catch (err) {
        if (err instanceof DirectoryConflictError) return this.set({ ...s, message: err.message });
        throw err;
      }
      const by = s.enroller.id;
      if (target.kind === 'user') await this.o.recorder.record({ action: 'enrollment.user_removed', user: by, method: 'workstation', details: { subject, via: 'workstation' } });
      else await this.o.recorder.record({ action: 'enrollment.credential_removed', user: by, method: 'workstation', details: { subject, kind: target.kind === 'badge' ? 'badge' : 'fido2', ref: target.kind === 'badge' ? target.ref : target.credentialId.slice(0, 16) } });
      this.o.onDirectoryChanged?.();
      const fresh = await this.o.directory.get(subject);
      const what = target.kind === 'user' ? `${s.subject.displayName} can no longer sign in anywhere this directory reaches.` : `Revoked. It stops working at the next tap.`;
      this.set({ ...s, subject: fresh ?? s.subject, message: what });
    });
  }

  /** Back to the menu (from any step after the enroller proved themselves). */
  async back(): Promise<Sequenced<EnrolView>> {
    return this.guard(async () => {
      const s = this.state;
      if (s.step === 'closed' || s.step === 'enroller-badge' || s.step === 'enroller-factor') return;
      if (s.step === 'menu') return this.close(null);
      this.set({ step: 'menu', enroller: s.enroller, message: null });
    });
  }

  async exit(): Promise<Sequenced<EnrolView>> {
    return this.guard(async () => {
      const s = this.state;
      if (s.step === 'enroller-factor') this.o.checker.webauthn.cancel(s.enroller.id);
      this.close(null);
    });
  }

  dispose(): void {
    this.timer?.dispose();
    this.timer = null;
  }

  private startEnrollerFactor(enroller: DirectoryUser): void {
    const strong = this.o.policy().session.strongFactor;
    const hasKey = enroller.credentials.some((c) => c.state === 'active');
    const triesLeft = this.o.checker.lockout(enroller.id).triesLeft;
    this.set({ step: 'enroller-factor', enroller, stage: strong === 'fido2' && hasKey ? 'key' : 'pin', wrong: false, triesLeft, problem: null });
  }

  private async enrollerProven(enroller: DirectoryUser, how: { method: string; action: 'auth.pin.success' | 'auth.fido.success'; uv?: string }): Promise<void> {
    const event = await this.o.recorder.record({ action: how.action, user: enroller.id, method: how.method, details: { purpose: 'enrolment', ...(how.uv ? { userVerification: how.uv } : {}) } });
    this.proofSeq = event.seq;
    this.set({ step: 'menu', enroller, message: null });
  }

  private by(enroller: DirectoryUser): ChangeAuthor | undefined {
    return this.proofSeq === null ? undefined : { enroller: enroller.id, proofSeq: this.proofSeq };
  }

  private close(message: string | null): void {
    this.proofSeq = null;
    this.set({ step: 'closed', message });
  }

  private set(state: State): void {
    this.state = state;
    this.timer?.dispose();
    this.timer = null;
    if (state.step === 'closed') return;
    const handle = setTimeout(() => {
      if (this.state !== state) return;
      this.close('Enrolment timed out after a few minutes without input. Nothing unsaved was kept.');
      this.publish();
    }, this.o.idleTimeoutMs ?? IDLE_TIMEOUT_MS);
    handle.unref?.();
    this.timer = toDisposable(() => clearTimeout(handle));
  }

  private async guard(work: () => Promise<void>): Promise<Sequenced<EnrolView>> {
    try {
      await work();
    } catch (err) {
      this.o.onError?.('enrolment', err instanceof Error ? err.message : String(err));
      this.close('Enrolment stopped because of a problem inside the agent. Nothing unsaved was kept. Try again; if it keeps happening, call IT.');
    }
    return this.publish();
  }

  private publish(): Sequenced<EnrolView> {
    const view = { ...this.view(), seq: ++this.seq } as Sequenced<EnrolView>;
    try {
      this.o.onView(view);
    } catch (err) {
      this.o.onError?.('enrolment', `the enrol page did not take the view: ${(err as Error).message}`);
    }
    return view;
  }

  private view(): EnrolView {
    const s = this.state;
    const pin = this.o.policy().auth.pin;
    switch (s.step) {
      case 'enroller-badge':
        return { screen: 'enroller-badge', error: s.error };
      case 'enroller-factor': {
        const user = { displayName: s.enroller.displayName };
        if (s.stage === 'key') {
          return { screen: 'enroller-factor', factor: { screen: 'fido2', user, purpose: 'enroller', timeoutMs: this.o.checker.webauthn.timeoutMs(), problem: s.problem, ends: null } };
        }
        return {
          screen: 'enroller-factor',
          factor: { screen: 'pin', user, purpose: 'enroller', afterKey: s.stage === 'key-pin', wrong: s.wrong, triesLeft: s.triesLeft, minLength: pin.minLength, maxLength: pin.maxLength, ends: null },
        };
      }
      case 'menu':
        return { screen: 'menu', enroller: { displayName: s.enroller.displayName }, message: s.message };
      case 'subject':
        return { screen: 'subject', task: s.task, error: s.error };
      case 'subject-badge':
        return { screen: 'subject-badge', subject: summary(s.draft), error: s.error };
      case 'subject-pin':
        return { screen: 'subject-pin', subject: summary(s.draft), confirm: s.draft.firstPin !== null, minLength: pin.minLength, maxLength: pin.maxLength, error: s.error };
      case 'subject-key':
        return { screen: 'subject-key', subject: summary(s.draft), timeoutMs: this.o.checker.webauthn.timeoutMs(), error: s.error };
      case 'review':
        return { screen: 'review', subject: summary(s.draft), error: s.error };
      case 'done':
        return { screen: 'done', subject: summary(s.draft) };
      case 'revoke':
        return { screen: 'revoke', entries: revocable(s.subject), message: s.message };
      case 'closed':
        return { screen: 'closed', message: s.message };
    }
  }
}

function summary(d: Draft): EnrolSubjectSummary {
  return { userId: d.userId, displayName: d.displayName, isNew: d.isNew, badge: d.badgeToken !== null, pin: d.pinVerifier !== null, key: d.credential?.label ?? null };
}

function revocable(u: DirectoryUser): RevocableEntries {
  return {
    userId: u.id,
    displayName: u.displayName,
    state: u.state,
    badges: u.badges.map((b) => ({ ref: b.ref, state: b.state, createdAt: b.createdAt })),
    keys: u.credentials.map((c) => ({ id: c.id, label: c.label, state: c.state, createdAt: c.createdAt })),
  };
}
