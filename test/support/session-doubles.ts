// Doubles for the session controller's action ports: a LockPresenter that records every
// call with its monotonic time (Electron windows cannot run here), an OsSession that
// records instead of locking the test machine, and an in-memory AuditRecorder that
// validates inputs exactly as the real store does.
import { randomUUID } from 'node:crypto';
import { auditInputProblems, buildEvent, GENESIS_HASH, type AuditEvent, type AuditEventInput } from '../../main/audit/event';
import type { AuditRecorder } from '../../main/audit/recorder';
import type { LockReason } from '../../main/session/effects';
import type { StrongFactor } from '../../main/session/policy';
import type { Argv, LockPresenter, OsSession } from '../../main/session/ports';

export type PresenterCall =
  | { readonly kind: 'showLock'; readonly reason: LockReason; readonly owner: string | null; readonly at: number }
  | { readonly kind: 'hideLock'; readonly user: string; readonly at: number }
  | { readonly kind: 'showWarning'; readonly secondsLeft: number; readonly at: number }
  | { readonly kind: 'hideWarning'; readonly at: number }
  | { readonly kind: 'requestFactor'; readonly user: string; readonly factor: StrongFactor; readonly at: number };

type Waiter<T> = { readonly match: (value: T) => boolean; readonly resolve: (value: T) => void };

/** A list that tests can await: `next(match)` resolves on the next matching entry. */
class Awaitable<T> {
  readonly items: T[] = [];
  private waiters: Waiter<T>[] = [];
  push(value: T): void {
    this.items.push(value);
    const ready = this.waiters.filter((w) => w.match(value));
    this.waiters = this.waiters.filter((w) => !w.match(value));
    for (const w of ready) w.resolve(value);
  }
  next(match: (value: T) => boolean = () => true, timeoutMs = 10_000, what = 'entry'): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const waiter: Waiter<T> = {
        match,
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
      };
      this.waiters.push(waiter);
    });
  }
}

export class RecordingLockPresenter implements LockPresenter {
  private readonly log = new Awaitable<PresenterCall>();
  /** Throw from showLock, to prove a broken overlay is reported and does not stop the engine. */
  failShowLock = false;

  get calls(): readonly PresenterCall[] {
    return this.log.items;
  }
  next<K extends PresenterCall['kind']>(kind: K, timeoutMs?: number): Promise<Extract<PresenterCall, { kind: K }>> {
    return this.log.next((c) => c.kind === kind, timeoutMs, `presenter.${kind}`) as Promise<Extract<PresenterCall, { kind: K }>>;
  }
  async showLock(info: { reason: LockReason; owner: string | null }): Promise<void> {
    this.log.push({ kind: 'showLock', reason: info.reason, owner: info.owner, at: performance.now() });
    if (this.failShowLock) throw new Error('overlay window failed to open');
  }
  async hideLock(info: { user: string }): Promise<void> {
    this.log.push({ kind: 'hideLock', user: info.user, at: performance.now() });
  }
  showWarning(info: { secondsLeft: number }): void {
    this.log.push({ kind: 'showWarning', secondsLeft: info.secondsLeft, at: performance.now() });
  }
  hideWarning(): void {
    this.log.push({ kind: 'hideWarning', at: performance.now() });
  }
  requestFactor(info: { user: string; factor: StrongFactor }): void {
    this.log.push({ kind: 'requestFactor', user: info.user, factor: info.factor, at: performance.now() });
  }
}

export type OsCall = { readonly kind: 'lock' } | { readonly kind: 'logoff' } | { readonly kind: 'run'; readonly argv: Argv };

export class RecordingOsSession implements OsSession {
  private readonly log = new Awaitable<OsCall>();
  fail = false;
  get calls(): readonly OsCall[] {
    return this.log.items;
  }
  next(kind: OsCall['kind'], timeoutMs?: number): Promise<OsCall> {
    return this.log.next((c) => c.kind === kind, timeoutMs, `os.${kind}`);
  }
  async lock(): Promise<void> {
    this.log.push({ kind: 'lock' });
    if (this.fail) throw new Error('loginctl: no session');
  }
  async logoff(): Promise<void> {
    this.log.push({ kind: 'logoff' });
    if (this.fail) throw new Error('loginctl: no session');
  }
  async run(argv: Argv): Promise<void> {
    this.log.push({ kind: 'run', argv });
    if (this.fail) throw new Error('command failed');
  }
}

/** An AuditRecorder in memory, for unit tests; integration tests use the real store. */
export class MemoryAuditRecorder implements AuditRecorder {
  private readonly log = new Awaitable<AuditEvent>();
  /** While true, record() rejects (a full disk, a closed store). */
  failing = false;
  private seq = 0;

  get events(): readonly AuditEvent[] {
    return this.log.items;
  }
  next(action: AuditEvent['action'], timeoutMs?: number): Promise<AuditEvent> {
    return this.log.next((e) => e.action === action, timeoutMs, `audit ${action}`);
  }
  async record(input: AuditEventInput): Promise<AuditEvent> {
    if (this.failing) throw new Error('the audit store is closed');
    const why = auditInputProblems(input);
    if (why !== null) throw new Error(`invalid audit input: ${why}`);
    const event = buildEvent(input, { seq: ++this.seq, id: randomUUID(), time: new Date().toISOString(), device: 'test-device', keyId: '0'.repeat(32), prevHash: GENESIS_HASH });
    this.log.push(event);
    return event;
  }
}
