// The lock screen's flow in main: badge → (grace | PIN | security key [+ agent PIN] |
// switch confirmation) → unlocked, break-glass, and every refusal, as one view that every
// lock window shows. It is the LockPresenter the session controller drives (wrapping the
// windows), so the session engine stays the one authority on who holds the session; this
// class only turns page requests into checked session events and session effects into views.
import type { AuthenticationResponseJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import {
  BREAKGLASS_REASONS,
  type BadgeBurst,
  type BreakglassReason,
  type CeremonyFailure,
  type CeremonyStart,
  type FactorPurpose,
  type KeyProblem,
  type LockView,
  type NoticeKind,
  type ReaderConfig,
  type Sequenced,
  type UserLabel,
} from '../../preload/contract';
import { toDisposable, type Disposable } from '../disposable';
import type { Clock } from '../platform/clock';
import type { AgentPolicy } from '../policy/schema';
import type { FactorRequest, LockReason } from '../session/effects';
import type { SessionEvent } from '../session/events';
import type { LockPresenter } from '../session/ports';
import { emergencyOf, isOpen, ownerOf, type SessionState } from '../session/state';
import type { BadgeIdentity, CredentialChecker } from './credential-checker';
import type { DirectoryUser } from './directory';
import { DirectoryKeyError } from './directory-key';

/** The session the lock screen drives (the SessionController). */
export interface SessionPort {
  readonly state: SessionState;
  dispatch(event: SessionEvent): Promise<void>;
}

type Stage = 'pin' | 'key' | 'key-pin' | 'confirm';

type Flow =
  | { readonly kind: 'idle' }
  | { readonly kind: 'notice'; readonly view: LockView }
  | {
      readonly kind: 'factor';
      readonly userId: string;
      readonly purpose: Exclude<FactorPurpose, 'enroller'>;
      readonly stage: Stage;
      readonly wrong: boolean;
      readonly triesLeft: number;
      readonly problem: KeyProblem | null;
      /** Break-glass: the reason given, applied once the factor succeeds. */
      readonly reason: string | null;
      /**
       * When a page started the key ceremony (monotonic ms). Every lock window shows the key
       * screen; only one may ask the key, or their challenges would retire each other.
       */
      readonly ceremonyAt?: number;
    }
  | { readonly kind: 'breakglass'; readonly step: 'identify' | 'reason'; readonly userId: string | null; readonly error: string | null }
  | { readonly kind: 'error'; readonly message: string; readonly action: string };

export interface LockScreenOptions {
  /** The windows (Electron) or nothing (the browser harness renders views itself). */
  readonly windows: LockPresenter;
  readonly checker: CredentialChecker;
  readonly policy: () => AgentPolicy;
  readonly clock: Clock;
  /** Every new view goes here (to every lock window). */
  readonly onView: (view: Sequenced<LockView>) => void;
  /** A page request failed inside the agent: for status and the log (never shown raw). */
  readonly onError?: (area: string, message: string) => void;
  /** An unanswered sign-in step returns to the locked screen after this long. */
  readonly flowTimeoutMs?: number;
}

const NOTICE_TIMEOUT_MS = 20_000;
const DEFAULT_FLOW_TIMEOUT_MS = 60_000;

export class LockScreen implements LockPresenter, Disposable {
  private session: SessionPort | null = null;
  private flow: Flow = { kind: 'idle' };
  private requested: { user: string; factor: FactorRequest } | null = null;
  private seq = 0;
  private latest: Sequenced<LockView> | null = null;
  private readonly labels = new Map<string, string>();
  private directoryEmpty = false;
  private flowTimer: Disposable | null = null;
  private disposed = false;
  /** The page request under way (the next waits for it). */
  private requests: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: LockScreenOptions) {}

  attach(session: SessionPort): void {
    this.session = session;
  }

  /** Whether any user is enrolled (the locked screen tells IT when nobody is). */
  setDirectoryEmpty(empty: boolean): void {
    if (this.directoryEmpty === empty) return;
    this.directoryEmpty = empty;
    this.publish();
  }

  /** Remembers a display name for the views (the session engine knows only ids). */
  rememberLabel(user: { readonly id: string; readonly displayName: string }): void {
    this.labels.set(user.id, user.displayName);
  }

  current(): Sequenced<LockView> {
    return this.latest ?? this.publish();
  }

  readerConfig(): ReaderConfig {
    const b = this.o.policy().auth.badge;
    return { maxKeyGapMs: b.maxKeyGapMs, maxBurstMs: b.maxBurstMs, minLength: b.minLength, maxLength: b.maxLength, prefix: b.prefix, suffix: b.suffix, terminators: [...b.terminators] };
  }

  // ------------------------------------------------------------ LockPresenter (the controller's effects)

  async showLock(info: { readonly reason: LockReason; readonly owner: string | null }): Promise<void> {
    if (isFlowInOpenSession(this.flow)) this.setFlow({ kind: 'idle' });
    try {
      await this.o.windows.showLock(info);
    } finally {
      this.publish();
    }
  }

  async hideLock(info: { readonly user: string }): Promise<void> {
    this.setFlow({ kind: 'idle' });
    this.requested = null;
    this.publish();
    await this.o.windows.hideLock(info);
  }

  showWarning(info: { readonly secondsLeft: number }): void {
    this.o.windows.showWarning(info);
    this.publish();
  }

  hideWarning(): void {
    this.o.windows.hideWarning();
    this.publish();
  }

  requestFactor(info: { readonly user: string; readonly factor: FactorRequest }): void {
    this.requested = { user: info.user, factor: info.factor };
    this.o.windows.requestFactor(info);
  }

  // ------------------------------------------------------------ page requests

  async badge(burst: BadgeBurst): Promise<Sequenced<LockView>> {
    return this.guard(async () => {
      if (!this.plausibleBurst(burst)) return;
      const flow = this.flow;
      if (flow.kind === 'breakglass' && flow.step === 'identify') {
        const id = await this.o.checker.identifyBadge(burst.value, 'breakglass');
        if (this.refused(id)) return;
        if (id.kind === 'user') this.toBreakglassReason(id.user);
        return;
      }
      const phase = this.sessionState().phase;
      if (flow.kind === 'factor' || flow.kind === 'breakglass') await this.abandonPending();
      const id = await this.o.checker.identifyBadge(burst.value, isOpen(phase) ? 'tap-while-unlocked' : 'unlock');
      if (this.refused(id)) return;
      if (id.kind !== 'user') return;
      this.rememberLabel(id.user);
      this.requested = null;
      await this.dispatch({ type: 'badge', user: id.user.id });
      const after = this.sessionState().phase;
      if (isOpen(after) || this.requested === null) {
        this.setFlow({ kind: 'idle' });
        return;
      }
      const requested: { user: string; factor: FactorRequest } = this.requested;
      if (requested.user !== id.user.id) return;
      await this.startFactor(id.user, requested.factor, 'unlock', null);
    });
  }

  async pin(pin: string): Promise<Sequenced<LockView>> {
    return this.guard(async () => {
      const flow = this.flow;
      if (flow.kind !== 'factor' || (flow.stage !== 'pin' && flow.stage !== 'key-pin')) return;
      const user = await this.userStillActive(flow.userId);
      if (!user) return;
      const r = await this.o.checker.checkPin(user, pin);
      if (r.ok) {
        await this.succeed(flow, flow.stage === 'key-pin' ? 'fido2+pin' : 'pin');
        return;
      }
      if (r.reason === 'no-pin') {
        await this.failNotice('no-pin-enrolled');
        return;
      }
      await this.dispatch({ type: 'pin-fail', user: user.id, kind: r.reason, triesLeft: r.triesLeft });
      if (r.lockedUntilMs !== null) {
        await this.lockedOut(user, r.lockedUntilMs);
        return;
      }
      this.setFlow({ ...flow, wrong: true, triesLeft: r.triesLeft });
    });
  }

  async confirmSwitch(): Promise<Sequenced<LockView>> {
    return this.guard(async () => {
      const flow = this.flow;
      if (flow.kind !== 'factor' || flow.stage !== 'confirm') return;
      const user = await this.userStillActive(flow.userId);
      if (!user) return;
      await this.dispatch({ type: 'switch-confirm', user: user.id });
      this.setFlow({ kind: 'idle' });
    });
  }

  async fido2Begin(): Promise<CeremonyStart<PublicKeyCredentialRequestOptionsJSON, LockView>> {
    let options: PublicKeyCredentialRequestOptionsJSON | null = null;
    const view = await this.guard(async () => {
      const flow = this.flow;
      if (flow.kind !== 'factor' || flow.stage !== 'key') return;
      const now = this.o.clock.monotonicMs();
      // Another window already asked the key; its ceremony ends (or times out) first.
      if (flow.ceremonyAt !== undefined && now - flow.ceremonyAt < this.o.checker.webauthn.timeoutMs() + 2_000) return;
      const user = await this.userStillActive(flow.userId);
      if (!user) return;
      options = await this.o.checker.fido2Options(user);
      this.setFlow({ ...flow, problem: null, ceremonyAt: now });
    });
    return options ? { options, timeoutMs: this.o.checker.webauthn.timeoutMs() } : { view };
  }

  async fido2Finish(outcome: { readonly response: AuthenticationResponseJSON } | { readonly failed: CeremonyFailure }): Promise<Sequenced<LockView>> {
    return this.guard(async () => {
      const flow = this.flow;
      if (flow.kind !== 'factor' || flow.stage !== 'key') return;
      const user = await this.userStillActive(flow.userId);
      if (!user) return;
      if ('failed' in outcome) {
        this.o.checker.webauthn.cancel(user.id);
        await this.dispatch({ type: 'fido-fail', user: user.id, kind: outcome.failed });
        const problem: KeyProblem = outcome.failed === 'timeout' ? 'no-key-detected' : outcome.failed === 'cancelled' ? 'cancelled' : 'not-allowed';
        this.setFlow({ ...flow, problem, ceremonyAt: undefined });
        return;
      }
      const r = await this.o.checker.checkAssertion(user, outcome.response);
      if (r.ok) {
        if (r.uv === 'authenticator') await this.succeed(flow, 'fido2');
        else this.setFlow({ ...flow, stage: 'key-pin', problem: null, wrong: false, triesLeft: this.o.checker.lockout(user.id).triesLeft });
        return;
      }
      await this.dispatch({ type: 'fido-fail', user: user.id, kind: r.kind, ...(r.lockout ? { triesLeft: r.lockout.triesLeft } : {}) });
      if (r.lockout?.lockedUntilMs) {
        await this.lockedOut(user, r.lockout.lockedUntilMs);
        return;
      }
      this.setFlow({ ...flow, problem: r.kind === 'revoked-credential' ? 'key-revoked' : 'key-refused', ceremonyAt: undefined });
    });
  }

  async cancel(): Promise<Sequenced<LockView>> {
    return this.guard(async () => {
      await this.abandonPending();
      this.setFlow({ kind: 'idle' });
    });
  }

  async stillHere(): Promise<Sequenced<LockView>> {
    return this.guard(async () => {
      if (isOpen(this.sessionState().phase)) await this.dispatch({ type: 'activity' });
    });
  }

  async breakglassBegin(): Promise<Sequenced<LockView>> {
    return this.guard(async () => {
      if (isOpen(this.sessionState().phase)) return;
      await this.abandonPending();
      this.setFlow({ kind: 'breakglass', step: 'identify', userId: null, error: null });
    });
  }

  async breakglassUser(userId: string): Promise<Sequenced<LockView>> {
    return this.guard(async () => {
      const flow = this.flow;
      if (flow.kind !== 'breakglass' || flow.step !== 'identify') return;
      const found = await this.o.checker.identifyUserId(userId, 'breakglass');
      if (found.kind === 'unknown') {
        this.setFlow({ ...flow, error: 'No active enrolment has that user ID. Check it, or tap your badge instead.' });
        return;
      }
      if (found.kind === 'locked-out') {
        this.rememberLabel(found.user);
        this.setFlow({ kind: 'notice', view: this.lockedOutView(found.user, found.untilMs) });
        return;
      }
      this.toBreakglassReason(found.user);
    });
  }

  async breakglassReason(reason: BreakglassReason): Promise<Sequenced<LockView>> {
    return this.guard(async () => {
      const flow = this.flow;
      if (flow.kind !== 'breakglass' || flow.step !== 'reason' || flow.userId === null) return;
      const user = await this.userStillActive(flow.userId);
      if (!user) return;
      // The strongest factor the user has: a security key when one is registered, else the PIN.
      const hasKey = user.credentials.some((c) => c.state === 'active');
      await this.startFactor(user, hasKey ? 'fido2' : 'pin', 'breakglass', reasonText(reason));
    });
  }

  async breakglassExtend(reason: BreakglassReason): Promise<Sequenced<LockView>> {
    return this.guard(async () => {
      const before = emergencyOf(this.sessionState().phase);
      if (!before) return;
      await this.dispatch({ type: 'breakglass-extend', reason: reasonText(reason) });
      const after = emergencyOf(this.sessionState().phase);
      const extended = after !== null && after.expiresAt !== before.expiresAt;
      this.setFlow(extended ? { kind: 'idle' } : { kind: 'notice', view: { ...this.baseView(), error: 'To extend emergency access, give a new reason.' } as LockView });
    });
  }

  async breakglassEnd(): Promise<Sequenced<LockView>> {
    return this.guard(async () => {
      if (emergencyOf(this.sessionState().phase)) await this.dispatch({ type: 'breakglass-end' });
      this.setFlow({ kind: 'idle' });
    });
  }

  dispose(): void {
    this.disposed = true;
    this.flowTimer?.dispose();
    this.flowTimer = null;
  }

  // ------------------------------------------------------------ flow helpers

  private async startFactor(user: DirectoryUser, factor: FactorRequest, purpose: 'unlock' | 'breakglass', reason: string | null): Promise<void> {
    const triesLeft = this.o.checker.lockout(user.id, user).triesLeft;
    const base = { kind: 'factor' as const, userId: user.id, purpose, wrong: false, triesLeft, problem: null, reason };
    if (factor === 'confirm-switch') {
      this.setFlow({ ...base, stage: 'confirm' });
      return;
    }
    if (factor === 'fido2' && !user.credentials.some((c) => c.state === 'active')) {
      await this.failNotice('no-key-enrolled');
      return;
    }
    this.setFlow({ ...base, stage: factor === 'pin' ? 'pin' : 'key' });
  }

  private async succeed(flow: Extract<Flow, { kind: 'factor' }>, factor: 'pin' | 'fido2' | 'fido2+pin'): Promise<void> {
    if (flow.purpose === 'breakglass') {
      await this.dispatch({ type: 'breakglass-start', user: flow.userId, reason: flow.reason ?? 'break-glass', factor });
    } else if (factor === 'pin') {
      await this.dispatch({ type: 'pin-ok', user: flow.userId });
    } else {
      await this.dispatch({ type: 'fido-ok', user: flow.userId, uv: factor === 'fido2' ? 'authenticator' : 'agent-pin' });
    }
    this.setFlow({ kind: 'idle' });
  }

  private toBreakglassReason(user: DirectoryUser): void {
    this.rememberLabel(user);
    this.setFlow({ kind: 'breakglass', step: 'reason', userId: user.id, error: null });
  }

  /** True (and the flow shows why) when a tap was refused. */
  private refused(id: BadgeIdentity): boolean {
    switch (id.kind) {
      case 'user':
        return false;
      case 'unknown':
        this.setFlow({ kind: 'notice', view: this.noticeView('unknown-badge') });
        return true;
      case 'revoked-badge':
      case 'revoked-user':
        this.setFlow({ kind: 'notice', view: this.noticeView(id.kind) });
        return true;
      case 'locked-out':
        this.rememberLabel(id.user);
        this.setFlow({ kind: 'notice', view: this.lockedOutView(id.user, id.untilMs) });
        return true;
    }
  }

  private async lockedOut(user: DirectoryUser, untilMs: number): Promise<void> {
    await this.abandonPending();
    this.setFlow({ kind: 'notice', view: this.lockedOutView(user, untilMs) });
  }

  private async failNotice(kind: NoticeKind): Promise<void> {
    await this.abandonPending();
    this.setFlow({ kind: 'notice', view: this.noticeView(kind) });
  }

  /** A revocation between the tap and the factor takes effect at once. */
  private async userStillActive(userId: string): Promise<DirectoryUser | null> {
    const user = await this.o.checker.current(userId);
    if (!user) await this.failNotice('revoked-user');
    return user;
  }

  /** Forgets a pending sign-in (engine and WebAuthn challenges). */
  private async abandonPending(): Promise<void> {
    const flow = this.flow;
    if (flow.kind === 'factor') this.o.checker.webauthn.cancel(flow.userId);
    this.requested = null;
    const phase = this.sessionState().phase;
    if ((phase.kind === 'locked' || phase.kind === 'logged-off') && phase.pending !== null) await this.dispatch({ type: 'auth-cancel' });
  }

  private plausibleBurst(b: BadgeBurst): boolean {
    const r = this.o.policy().auth.badge;
    return b.maxGapMs <= r.maxKeyGapMs && b.burstMs <= r.maxBurstMs && b.value.length >= r.minLength && b.value.length <= r.maxLength;
  }

  private setFlow(flow: Flow): void {
    this.flow = flow;
    this.flowTimer?.dispose();
    this.flowTimer = null;
    if (flow.kind === 'idle' || this.disposed) return;
    const fido = this.o.policy().auth.fido2TimeoutSeconds * 1000 + 15_000;
    const ms = flow.kind === 'notice' ? NOTICE_TIMEOUT_MS : Math.max(this.o.flowTimeoutMs ?? DEFAULT_FLOW_TIMEOUT_MS, fido);
    const handle = setTimeout(() => {
      if (this.flow !== flow) return;
      void this.cancel();
    }, ms);
    handle.unref?.();
    this.flowTimer = toDisposable(() => clearTimeout(handle));
  }

  private async dispatch(event: SessionEvent): Promise<void> {
    if (!this.session) throw new Error('the lock screen is not attached to a session');
    await this.session.dispatch(event);
  }

  private sessionState(): SessionState {
    if (!this.session) throw new Error('the lock screen is not attached to a session');
    return this.session.state;
  }

  /** Runs a page request; any fault becomes the agent-error view (and a status error), never a stack trace. */
  /**
   * Page requests one at a time, in arrival order: each decides on the flow it finds. A slow
   * one (a PIN hashing, a key's counter checked at the collector) can then never write back
   * a screen that a later tap replaced meanwhile, nor count a second user's PIN against the
   * first. (Controller effects do not come through here, so a request may dispatch.)
   */
  private guard(work: () => Promise<void>): Promise<Sequenced<LockView>> {
    const run = this.requests.then(() => this.guardNow(work));
    this.requests = run.catch(() => undefined);
    return run;
  }

  private async guardNow(work: () => Promise<void>): Promise<Sequenced<LockView>> {
    try {
      await work();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.o.onError?.('lock-screen', message);
      this.requested = null;
      this.setFlow(
        err instanceof DirectoryKeyError
          ? { kind: 'error', message: 'Badge sign-in is not available on this workstation: its directory key is missing.', action: `${this.o.policy().auth.helpDesk} Use another workstation meanwhile.` }
          : { kind: 'error', message: 'Something went wrong inside the sign-in service.', action: `Tap your badge again. If this keeps happening, ${lowerFirst(this.o.policy().auth.helpDesk)}` },
      );
    }
    return this.publish();
  }

  // ------------------------------------------------------------ views

  private publish(): Sequenced<LockView> {
    const view = { ...this.view(), seq: ++this.seq } as Sequenced<LockView>;
    this.latest = view;
    try {
      this.o.onView(view);
    } catch (err) {
      this.o.onError?.('lock-screen', `a lock window did not take the view: ${(err as Error).message}`);
    }
    return view;
  }

  private label(userId: string): UserLabel {
    return { displayName: this.labels.get(userId) ?? userId };
  }

  private baseView(): LockView {
    if (!this.session) return { screen: 'locked', owner: null, directoryEmpty: this.directoryEmpty };
    const { phase } = this.session.state;
    const now = this.o.clock.monotonicMs();
    if (phase.kind === 'warning') {
      return { screen: 'warning', user: this.label(phase.user), secondsLeft: Math.max(0, Math.ceil((phase.deadline - now) / 1000)), emergency: phase.resume.kind === 'emergency' };
    }
    if (phase.kind === 'emergency') {
      const left = Math.max(0, phase.expiresAt - now);
      return {
        screen: 'emergency',
        user: this.label(phase.user),
        expiresAt: new Date(this.o.clock.wallMs() + left).toISOString(),
        secondsLeft: Math.ceil(left / 1000),
        reason: phase.reason,
        reasons: BREAKGLASS_REASONS,
        error: null,
      };
    }
    if (phase.kind === 'unlocked') return { screen: 'unlocked', user: this.label(phase.user) };
    const owner = ownerOf(phase);
    return { screen: 'locked', owner: owner === null ? null : this.label(owner), directoryEmpty: this.directoryEmpty };
  }

  private view(): LockView {
    const flow = this.flow;
    const base = this.baseView();
    if (flow.kind === 'error') return { screen: 'error', message: flow.message, action: flow.action };
    if (base.screen !== 'locked') {
      // An open session: only the emergency banner's own error can show over it.
      if (flow.kind === 'notice' && flow.view.screen === base.screen) return { ...base, error: (flow.view as { error?: string | null }).error ?? null } as LockView;
      return base;
    }
    const phase = this.session?.state.phase;
    const owner = phase ? ownerOf(phase) : null;
    switch (flow.kind) {
      case 'idle':
        return base;
      case 'notice':
        return flow.view;
      case 'breakglass':
        return {
          screen: 'breakglass',
          step: flow.step,
          user: flow.userId ? this.label(flow.userId) : null,
          maxMinutes: this.o.policy().session.emergencyMaxMinutes,
          reasons: BREAKGLASS_REASONS,
          error: flow.error,
        };
      case 'factor': {
        const user = this.label(flow.userId);
        const ends = owner !== null && owner !== flow.userId ? this.label(owner) : null;
        if (flow.stage === 'confirm') return ends ? { screen: 'tap-over', user, owner: ends } : base;
        if (flow.stage === 'key') {
          return { screen: 'fido2', user, purpose: flow.purpose, timeoutMs: this.o.checker.webauthn.timeoutMs(), problem: flow.problem, ends };
        }
        const pin = this.o.policy().auth.pin;
        return {
          screen: 'pin',
          user,
          purpose: flow.purpose,
          afterKey: flow.stage === 'key-pin',
          wrong: flow.wrong,
          triesLeft: flow.triesLeft,
          minLength: pin.minLength,
          maxLength: pin.maxLength,
          ends,
        };
      }
    }
  }

  private noticeView(kind: NoticeKind): LockView {
    return { screen: 'notice', kind, helpDesk: this.o.policy().auth.helpDesk };
  }

  private lockedOutView(user: DirectoryUser, untilMs: number): LockView {
    return { screen: 'locked-out', user: { displayName: user.displayName }, until: new Date(untilMs).toISOString(), helpDesk: this.o.policy().auth.helpDesk };
  }
}

/** Flows that belong to an open session (the emergency banner's error) end when it locks. */
function isFlowInOpenSession(flow: Flow): boolean {
  return flow.kind === 'notice' && flow.view.screen === 'emergency';
}

function reasonText(reason: BreakglassReason): string {
  const label = BREAKGLASS_REASONS.find((r) => r.code === reason.code)?.label ?? reason.code;
  const text = reason.text.trim();
  return reason.code === 'other' ? text : text ? `${label}: ${text}` : label;
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}
