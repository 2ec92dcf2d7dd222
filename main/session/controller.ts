// The session controller: drives the pure engine with the monotonic clock and the idle
// source, keeps one timer per engine deadline (polling while the warning shows), and
// executes effects through the ports. A lock never waits for the audit log.
import type { AuditEventInput } from '../audit/event';
import type { AuditRecorder } from '../audit/recorder';
import { DisposableStore, toDisposable, type Disposable } from '../disposable';
import type { Clock } from '../platform/clock';
import type { SessionEffect, TimerName } from './effects';
import { deadlines, start, step } from './engine';
import type { SessionEvent } from './events';
import type { LogoffAction, SessionPolicy } from './policy';
import type { IdleSource, LockPresenter, OsSession, PowerEvent } from './ports';
import { ownerOf, type SessionPhase, type SessionState } from './state';

export type SessionErrorArea = 'audit' | 'presenter' | 'os-session' | 'idle-source' | 'controller';

export type SessionStatusUpdate =
  | { readonly kind: 'state'; readonly phase: SessionPhase['kind']; readonly owner: string | null }
  | { readonly kind: 'error'; readonly area: SessionErrorArea; readonly message: string };

export interface SessionControllerOptions {
  readonly policy: SessionPolicy;
  readonly idle: IdleSource;
  readonly clock: Clock;
  readonly presenter: LockPresenter;
  readonly os: OsSession;
  readonly audit: AuditRecorder;
  /** State changes and errors (audit, OS commands) for the status window and the tray. */
  readonly onStatus?: (update: SessionStatusUpdate) => void;
  /** Idle polling interval while the warning shows (activity must hide it promptly). */
  readonly warningPollMs?: number;
}

const POWER_EVENTS: Record<PowerEvent, SessionEvent | null> = {
  suspend: { type: 'suspend' },
  resume: { type: 'resume' },
  'lock-screen': { type: 'os-lock' },
  // The OS unlocking its own screen never opens the agent's session.
  'unlock-screen': null,
};

interface ArmedTimer {
  readonly at: number;
  readonly handle: Disposable;
}

export class SessionController implements Disposable {
  private current: SessionState;
  private readonly disposables = new DisposableStore();
  private readonly timers = new Map<TimerName, ArmedTimer>();
  private warningPoll: Disposable | null = null;
  private queue: Promise<void> = Promise.resolve();
  /** Audit appends and OS commands in flight (not awaited by the event queue). */
  private readonly inFlight = new Set<Promise<unknown>>();
  private lastStatus: { phase: SessionPhase['kind']; owner: string | null } | null = null;
  private started = false;

  constructor(private readonly opts: SessionControllerOptions) {
    this.current = start(opts.policy, opts.clock.monotonicMs()).state;
  }

  get state(): SessionState {
    return this.current;
  }

  /** Subscribes to power events and puts the lock overlay up (no session at start). */
  start(): Promise<void> {
    if (this.started) throw new Error('SessionController.start() was called twice');
    this.started = true;
    this.disposables.add(
      this.opts.idle.onPowerEvent((power) => {
        const event = POWER_EVENTS[power];
        if (event) void this.dispatch(event);
      }),
    );
    return this.enqueue(async () => {
      const first = start(this.current.policy, this.opts.clock.monotonicMs());
      this.current = first.state;
      await this.execute(first.effects);
      this.afterStep();
    });
  }

  /** Feeds one event (badge, PIN result, manual lock...) after a fresh idle read. */
  dispatch(event: SessionEvent): Promise<void> {
    return this.enqueue(() => this.process(event));
  }

  /** Applies a new session policy (from the policy file watcher). */
  updatePolicy(policy: SessionPolicy): Promise<void> {
    return this.dispatch({ type: 'policy', policy });
  }

  /** Resolves when queued events, audit appends and OS commands have settled. */
  async flush(): Promise<void> {
    for (;;) {
      const queue = this.queue;
      await queue;
      if (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
      if (queue === this.queue && this.inFlight.size === 0) return;
    }
  }

  dispose(): void {
    this.disposables.dispose();
    this.timers.clear();
    this.warningPoll = null;
  }

  private enqueue(job: () => Promise<void>): Promise<void> {
    if (this.disposables.isDisposed) return Promise.resolve();
    const run = this.queue.then(job).catch((err: unknown) => this.report('controller', err));
    this.queue = run;
    return run;
  }

  /** One step: a fresh idle read first (so the engine judges with current input), then the event. */
  private async process(event?: SessionEvent): Promise<void> {
    if (this.disposables.isDisposed) return;
    const now = this.opts.clock.monotonicMs();
    const effects: SessionEffect[] = [];
    let state = this.current;
    if (event?.type !== 'tick') {
      const polled = step(state, { type: 'tick', idleMs: this.readIdle() }, now);
      state = polled.state;
      effects.push(...polled.effects);
    }
    if (event) {
      const r = step(state, event, now);
      state = r.state;
      effects.push(...r.effects);
    }
    this.current = state;
    await this.execute(effects);
    this.afterStep();
  }

  private readIdle(): number {
    try {
      const idle = this.opts.idle.idleMs();
      if (Number.isFinite(idle) && idle >= 0) return idle;
      this.report('idle-source', new Error(`the idle source returned ${String(idle)}`));
    } catch (err) {
      this.report('idle-source', err);
    }
    // No reading: no evidence of input, so the deadlines already known still apply.
    return Number.POSITIVE_INFINITY;
  }

  private async execute(effects: readonly SessionEffect[]): Promise<void> {
    const { presenter, os } = this.opts;
    for (const e of effects) {
      switch (e.type) {
        case 'lock':
          await this.guard('presenter', () => presenter.showLock({ reason: e.reason, owner: e.owner }));
          if (e.osLock) this.track(this.guard('os-session', () => os.lock()));
          break;
        case 'unlock':
          await this.guard('presenter', () => presenter.hideLock({ user: e.user }));
          break;
        case 'show-warning':
          await this.guard('presenter', () => presenter.showWarning({ secondsLeft: e.secondsLeft }));
          break;
        case 'hide-warning':
          await this.guard('presenter', () => presenter.hideWarning());
          break;
        case 'request-factor':
          await this.guard('presenter', () => presenter.requestFactor({ user: e.user, factor: e.factor }));
          break;
        case 'logoff':
          // Awaited: the owner's session must be gone before anyone else's starts.
          await this.guard('os-session', () => this.runLogoff(e.action));
          break;
        case 'audit':
          this.record(e.input);
          break;
        case 'set-timer':
          this.arm(e.timer, e.at);
          break;
        case 'clear-timer':
          this.disarm(e.timer);
          break;
      }
    }
  }

  private runLogoff(action: LogoffAction): Promise<void> {
    switch (action.kind) {
      case 'os-logoff':
        return this.opts.os.logoff();
      case 'command':
        return this.opts.os.run(action.argv);
      case 'agent-signout':
        // The engine has already forgotten the user; the overlay stays up.
        return Promise.resolve();
    }
  }

  /** Submits in effect order (the recorder keeps call order); never awaited by a lock. */
  private record(input: AuditEventInput): void {
    this.track(
      this.opts.audit.record(input).then(
        () => undefined,
        (err: unknown) => this.report('audit', err, `the ${input.action} event was not recorded`),
      ),
    );
  }

  private async guard(area: SessionErrorArea, action: () => Promise<void> | void): Promise<void> {
    try {
      await action();
    } catch (err) {
      this.report(area, err);
    }
  }

  private track(p: Promise<unknown>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private arm(name: TimerName, at: number): void {
    this.disarm(name);
    if (this.disposables.isDisposed) return;
    const delay = Math.max(0, at - this.opts.clock.monotonicMs());
    const handle = setTimeout(() => this.onTimer(name, at), Math.ceil(delay));
    const armed: ArmedTimer = { at, handle: this.disposables.add(toDisposable(() => clearTimeout(handle))) };
    this.timers.set(name, armed);
  }

  private disarm(name: TimerName): void {
    const armed = this.timers.get(name);
    if (!armed) return;
    this.timers.delete(name);
    this.disposables.delete(armed.handle);
  }

  private onTimer(name: TimerName, at: number): void {
    const armed = this.timers.get(name);
    if (!armed || armed.at !== at) return;
    this.disarm(name);
    // setTimeout and the monotonic clock may disagree by a millisecond: never tick early.
    if (this.opts.clock.monotonicMs() < at) {
      this.arm(name, at);
      return;
    }
    void this.enqueue(() => this.process());
  }

  private afterStep(): void {
    if (this.disposables.isDisposed) return;
    // Safety net: a deadline the engine still holds always has a timer.
    const wanted = deadlines(this.current);
    for (const name of Object.keys(wanted) as TimerName[]) {
      const at = wanted[name];
      if (at !== undefined && this.timers.get(name)?.at !== at) this.arm(name, at);
    }
    for (const name of [...this.timers.keys()]) if (wanted[name] === undefined) this.disarm(name);

    const phase = this.current.phase;
    if (phase.kind === 'warning' && this.warningPoll === null) {
      const interval = setInterval(() => void this.enqueue(() => this.process()), this.opts.warningPollMs ?? 250);
      this.warningPoll = this.disposables.add(toDisposable(() => clearInterval(interval)));
    } else if (phase.kind !== 'warning' && this.warningPoll !== null) {
      this.disposables.delete(this.warningPoll);
      this.warningPoll = null;
    }

    const owner = ownerOf(phase);
    if (this.lastStatus?.phase !== phase.kind || this.lastStatus.owner !== owner) {
      this.lastStatus = { phase: phase.kind, owner };
      this.opts.onStatus?.({ kind: 'state', phase: phase.kind, owner });
    }
  }

  private report(area: SessionErrorArea, err: unknown, context?: string): void {
    const message = `${context ? `${context}: ` : ''}${err instanceof Error ? err.message : String(err)}`;
    try {
      this.opts.onStatus?.({ kind: 'error', area, message });
    } catch {
      // A failing status listener must not break the session.
    }
  }
}
