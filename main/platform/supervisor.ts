// The Supervisor keeps the agent running where no service manager restarts a per-user GUI
// app (Windows; Linux desktops without systemd user sessions): it runs the agent as a child
// process, starts it again after a crash with exponential backoff, and reports every exit
// and restart so the help desk can see a crash loop in the log. Plain Node: main/index.ts
// runs it when the app is started with --supervise.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { systemClock, type Clock } from './clock';

/** Makes the app supervise a copy of itself instead of being the agent. */
export const SUPERVISE_FLAG = '--supervise';

export function isSuperviseRun(argv: readonly string[]): boolean {
  return argv.includes(SUPERVISE_FLAG);
}

/** The child's arguments: the supervisor's own without --supervise, so the child is the agent. */
export function superviseArgs(argv: readonly string[]): string[] {
  return argv.filter((arg) => arg !== SUPERVISE_FLAG);
}

export interface SupervisorOptions {
  readonly command: string;
  readonly args?: readonly string[];
  /** The child's environment; the supervisor's own by default. */
  readonly env?: NodeJS.ProcessEnv;
  readonly stdio?: StdioOptions;
  /** Wait before the first restart; doubles with each crash in a row. */
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
  /** A run at least this long counts as stable: the next crash restarts after initialDelayMs again. */
  readonly stableAfterMs?: number;
  /** How long stop() waits after its signal before it sends SIGKILL. */
  readonly stopGraceMs?: number;
  readonly clock?: Pick<Clock, 'monotonicMs'>;
  readonly onEvent?: (event: SupervisorEvent) => void;
}

export type ExitOutcome =
  /** A non-zero exit code, or a signal the supervisor did not send: restarted. */
  | 'crashed'
  /** Exit code 0: the agent quit on purpose (the OS, IT, a second instance); supervision ends. */
  | 'clean'
  /** Exited after stop(): supervision ends. */
  | 'stopped';

export type SupervisorEvent =
  | { readonly type: 'started'; readonly run: number; readonly pid: number }
  | { readonly type: 'spawn-failed'; readonly run: number; readonly error: string }
  | {
      readonly type: 'exited';
      readonly run: number;
      readonly pid: number;
      readonly code: number | null;
      readonly signal: NodeJS.Signals | null;
      readonly ranMs: number;
      readonly outcome: ExitOutcome;
    }
  | { readonly type: 'restart-scheduled'; readonly restart: number; readonly delayMs: number }
  | { readonly type: 'stopping'; readonly pid: number; readonly signal: NodeJS.Signals }
  | { readonly type: 'killed-after-grace'; readonly pid: number; readonly graceMs: number }
  | { readonly type: 'ended'; readonly reason: SupervisorEnd['reason']; readonly restarts: number };

export interface SupervisorEnd {
  readonly reason: 'clean-exit' | 'stopped';
  readonly restarts: number;
}

type State = 'idle' | 'running' | 'waiting' | 'stopping' | 'ended';

export class Supervisor {
  private readonly command: string;
  private readonly args: readonly string[];
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly stableAfterMs: number;
  private readonly stopGraceMs: number;
  private readonly clock: Pick<Clock, 'monotonicMs'>;
  /** The pending restart, or stop()'s SIGKILL deadline; end() clears both. */
  private restartTimer: NodeJS.Timeout | null = null;
  private graceTimer: NodeJS.Timeout | null = null;
  private state: State = 'idle';
  private child: ChildProcess | null = null;
  private runs = 0;
  private restartCount = 0;
  private nextDelayMs: number;
  private resolveEnded: (end: SupervisorEnd) => void = () => undefined;
  /** Resolves once supervision is over: after a clean exit of the child, or after stop(). */
  readonly ended: Promise<SupervisorEnd>;

  constructor(private readonly opts: SupervisorOptions) {
    this.command = opts.command;
    this.args = opts.args ?? [];
    this.initialDelayMs = opts.initialDelayMs ?? 1000;
    this.maxDelayMs = opts.maxDelayMs ?? 30_000;
    this.stableAfterMs = opts.stableAfterMs ?? 60_000;
    this.stopGraceMs = opts.stopGraceMs ?? 10_000;
    this.clock = opts.clock ?? systemClock;
    for (const [name, value] of Object.entries({ initialDelayMs: this.initialDelayMs, maxDelayMs: this.maxDelayMs, stableAfterMs: this.stableAfterMs, stopGraceMs: this.stopGraceMs })) {
      if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`Supervisor: ${name} must be a positive number of milliseconds (got ${value})`);
    }
    if (this.maxDelayMs < this.initialDelayMs) {
      throw new RangeError(`Supervisor: maxDelayMs (${this.maxDelayMs}) must not be less than initialDelayMs (${this.initialDelayMs})`);
    }
    this.nextDelayMs = this.initialDelayMs;
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
  }

  /** How many times the child has been started again after a crash. */
  get restarts(): number {
    return this.restartCount;
  }

  /** The running child's pid, if one is running. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    if (this.state !== 'idle') throw new Error('Supervisor.start(): already started; create a new Supervisor');
    this.launch();
  }

  /**
   * Sends `signal` to the child (SIGKILL after stopGraceMs if it is still there), cancels any
   * pending restart, and resolves once the child has exited. No restart follows. Called again
   * while stopping, it sends its signal too: stop('SIGKILL') does not wait for the grace period.
   */
  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<SupervisorEnd> {
    if (this.state === 'ended') return this.ended;
    if (this.state === 'stopping') {
      this.child?.kill(signal);
      return this.ended;
    }
    const child = this.child;
    this.state = 'stopping';
    this.clearTimers();
    if (child === null) {
      // Never started, or waiting to restart: there is nothing to terminate.
      this.end('stopped');
      return this.ended;
    }
    // A spawn that is failing has no pid; its 'error' event ends supervision (afterSpawnFailure).
    if (child.pid === undefined) return this.ended;
    const pid = child.pid;
    this.emit({ type: 'stopping', pid, signal });
    child.kill(signal);
    this.graceTimer = setTimeout(() => {
      this.graceTimer = null;
      this.emit({ type: 'killed-after-grace', pid, graceMs: this.stopGraceMs });
      child.kill('SIGKILL');
    }, this.stopGraceMs);
    return this.ended;
  }

  private launch(): void {
    const run = ++this.runs;
    this.state = 'running';
    const startedAt = this.clock.monotonicMs();
    let child: ChildProcess;
    try {
      child = spawn(this.command, [...this.args], { env: this.opts.env ?? process.env, stdio: this.opts.stdio ?? 'inherit', windowsHide: true });
    } catch (err) {
      this.child = null;
      this.afterSpawnFailure(run, err);
      return;
    }
    this.child = child;
    let settled = false;
    child.on('error', (err) => {
      // Without a pid the process never started (missing or unreadable executable); 'exit'
      // will not follow. With one, this is a failed kill() and 'exit' reports the rest.
      if (child.pid !== undefined || settled) return;
      settled = true;
      this.child = null;
      this.afterSpawnFailure(run, err);
    });
    child.once('exit', (code, signal) => {
      if (settled) return;
      settled = true;
      this.child = null;
      this.afterExit(run, child.pid ?? -1, code, signal, this.clock.monotonicMs() - startedAt);
    });
    if (child.pid !== undefined) this.emit({ type: 'started', run, pid: child.pid });
  }

  private afterSpawnFailure(run: number, err: unknown): void {
    this.emit({ type: 'spawn-failed', run, error: err instanceof Error ? err.message : String(err) });
    if (this.state === 'stopping') this.end('stopped');
    else this.scheduleRestart(0);
  }

  private afterExit(run: number, pid: number, code: number | null, signal: NodeJS.Signals | null, ranMs: number): void {
    // Only stop() sends signals, so any exit while stopping is the one it asked for.
    const outcome: ExitOutcome = this.state === 'stopping' ? 'stopped' : code === 0 ? 'clean' : 'crashed';
    this.emit({ type: 'exited', run, pid, code, signal, ranMs: Math.round(ranMs), outcome });
    if (outcome === 'stopped') this.end('stopped');
    else if (outcome === 'clean') this.end('clean-exit');
    else this.scheduleRestart(ranMs);
  }

  private scheduleRestart(ranMs: number): void {
    if (ranMs >= this.stableAfterMs) this.nextDelayMs = this.initialDelayMs;
    const delayMs = this.nextDelayMs;
    this.nextDelayMs = Math.min(this.nextDelayMs * 2, this.maxDelayMs);
    this.restartCount++;
    this.state = 'waiting';
    this.emit({ type: 'restart-scheduled', restart: this.restartCount, delayMs });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.state === 'waiting') this.launch();
    }, delayMs);
  }

  private end(reason: SupervisorEnd['reason']): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.clearTimers();
    const end: SupervisorEnd = { reason, restarts: this.restartCount };
    this.emit({ type: 'ended', ...end });
    this.resolveEnded(end);
  }

  private clearTimers(): void {
    if (this.restartTimer !== null) clearTimeout(this.restartTimer);
    if (this.graceTimer !== null) clearTimeout(this.graceTimer);
    this.restartTimer = null;
    this.graceTimer = null;
  }

  private emit(event: SupervisorEvent): void {
    try {
      this.opts.onEvent?.(event);
    } catch {
      // A failing log sink must not take supervision down with it.
    }
  }
}

export interface SupervisorLog {
  info(message: string): unknown;
  warn(message: string): unknown;
  error(message: string): unknown;
}

/** One log line per event, worded for the help desk reading the agent's log. */
export function describeSupervisorEvent(event: SupervisorEvent): { level: keyof SupervisorLog; message: string } {
  const seconds = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  switch (event.type) {
    case 'started':
      return { level: 'info', message: `supervisor: agent started (run ${event.run}, pid ${event.pid})` };
    case 'spawn-failed':
      return { level: 'error', message: `supervisor: the agent could not be started (run ${event.run}): ${event.error}. Reinstall the agent if this repeats.` };
    case 'exited': {
      const how = event.signal !== null ? `killed by ${event.signal}` : `exit code ${event.code ?? 'unknown'}`;
      const after = `after ${seconds(event.ranMs)}`;
      if (event.outcome === 'crashed') return { level: 'error', message: `supervisor: the agent stopped unexpectedly (${how}, ${after}, run ${event.run})` };
      if (event.outcome === 'clean') return { level: 'info', message: `supervisor: the agent quit normally (${after}); not restarting it` };
      return { level: 'info', message: `supervisor: the agent stopped on request (${how}, ${after})` };
    }
    case 'restart-scheduled':
      return { level: 'warn', message: `supervisor: restarting the agent in ${seconds(event.delayMs)} (restart ${event.restart} since the supervisor started)` };
    case 'stopping':
      return { level: 'info', message: `supervisor: stopping the agent (${event.signal} to pid ${event.pid})` };
    case 'killed-after-grace':
      return { level: 'warn', message: `supervisor: the agent (pid ${event.pid}) did not exit within ${seconds(event.graceMs)}; killed it (SIGKILL)` };
    case 'ended':
      return { level: 'info', message: `supervisor: supervision ended (${event.reason === 'clean-exit' ? 'the agent quit normally' : 'stopped'}; ${event.restarts} restart(s) after crashes)` };
  }
}

/** An onEvent that writes each event to `log` (the agent's winston logger fits). */
export function logSupervisorEvents(log: SupervisorLog): (event: SupervisorEvent) => void {
  return (event) => {
    const { level, message } = describeSupervisorEvent(event);
    log[level](message);
  };
}
