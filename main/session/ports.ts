// The ports the session controller drives: the triggers (IdleSource) and the actions
// (LockPresenter on screen, OsSession in the OS). Electron provides the production
// adapters in main/shell; the OS commands live in main/platform/os-session.ts.
import type { Disposable } from '../disposable';
import type { FactorRequest, LockReason } from './effects';

export type PowerEvent = 'suspend' | 'resume' | 'lock-screen' | 'unlock-screen';

export interface IdleSource {
  /** Milliseconds since the last keyboard/mouse input anywhere in the OS session. */
  idleMs(): number;
  /** Suspend, resume and OS screen lock/unlock, as the OS reports them. */
  onPowerEvent(listener: (event: PowerEvent) => void): Disposable;
}

export interface LockPresenter {
  /** Puts the lock overlay on every display; resolves once it is up. */
  showLock(info: { readonly reason: LockReason; readonly owner: string | null }): Promise<void>;
  /** Takes the overlay down for `user`'s session. */
  hideLock(info: { readonly user: string }): Promise<void>;
  showWarning(info: { readonly secondsLeft: number }): void;
  hideWarning(): void;
  /** Asks the lock page for the strong factor (or the switch confirmation) after a badge tap. */
  requestFactor(info: { readonly user: string; readonly factor: FactorRequest }): void;
}

/** A program and its arguments, run directly (never through a shell). */
export type Argv = readonly [string, ...string[]];

export interface OsSession {
  /** Locks the OS session (the OS's own lock screen). */
  lock(): Promise<void>;
  /** Ends the OS session of the logged-in account. */
  logoff(): Promise<void>;
  /** Runs an IT-configured logoff command. */
  run(argv: Argv): Promise<void>;
}
