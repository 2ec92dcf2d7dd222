// Keeps events that could not be written (disk full, folder read-only, I/O error) in memory
// and writes them, in order, as soon as the store accepts writes again — so a full disk
// delays the audit trail instead of losing it. While spooling it reports a status flag;
// on recovery it records `audit.recording_started` (why, since when, how many) first.
import { AuditStoreError, type AuditErrorCode } from './errors';
import { auditInputProblems, type AuditEvent, type AuditEventInput } from './event';
import type { AuditRecorder } from './recorder';
import { DisposableStore, toDisposable } from '../disposable';
import { systemClock, type Clock } from '../platform/clock';

const WRITE_FAILURES: ReadonlySet<AuditErrorCode> = new Set(['disk-full', 'read-only', 'io']);

export interface SpoolStatus {
  /** True while events wait in memory because the store refuses writes. */
  readonly failing: boolean;
  readonly queued: number;
  /** Events refused because the memory spool was full (reported on recovery). */
  readonly lost: number;
  readonly since: string | null;
  readonly lastError: string | null;
}

interface Spooled {
  readonly input: AuditEventInput;
  readonly resolve: (e: AuditEvent) => void;
  readonly reject: (err: Error) => void;
}

export interface SpoolingRecorderOptions {
  readonly maxQueued?: number;
  readonly retryMs?: number;
  readonly clock?: Clock;
  readonly onChange?: (status: SpoolStatus) => void;
}

export class SpoolingRecorder implements AuditRecorder {
  private queue: Spooled[] = [];
  private failingSince: string | null = null;
  private lastError: string | null = null;
  private lost = 0;
  private draining = false;
  private readonly disposables = new DisposableStore();
  private readonly maxQueued: number;
  private readonly clock: Clock;

  constructor(
    private readonly store: AuditRecorder,
    private readonly opts: SpoolingRecorderOptions = {},
  ) {
    this.maxQueued = opts.maxQueued ?? 10_000;
    this.clock = opts.clock ?? systemClock;
    const timer = setInterval(() => void this.drain(), opts.retryMs ?? 5000);
    timer.unref();
    this.disposables.add(toDisposable(() => clearInterval(timer)));
  }

  status(): SpoolStatus {
    return { failing: this.failingSince !== null, queued: this.queue.length, lost: this.lost, since: this.failingSince, lastError: this.lastError };
  }

  async record(input: AuditEventInput): Promise<AuditEvent> {
    if (this.failingSince === null) {
      try {
        return await this.store.record(input);
      } catch (err) {
        if (!(err instanceof AuditStoreError) || !WRITE_FAILURES.has(err.code)) throw err;
        this.enterFailing(err);
      }
    }
    return this.spool(input);
  }

  private spool(input: AuditEventInput): Promise<AuditEvent> {
    // Refuse a malformed event now, as the store would, so a later drain fails only as a whole.
    const why = auditInputProblems(input);
    if (why !== null) return Promise.reject(new AuditStoreError('invalid-event', `Audit event rejected: ${why}`));
    if (this.queue.length >= this.maxQueued) {
      this.lost++;
      return Promise.reject(new AuditStoreError('disk-full', `The audit event could not be recorded: the store refuses writes (${this.lastError ?? 'unknown'}) and ${this.maxQueued} events already wait in memory.`));
    }
    const occurredAt = new Date(this.clock.wallMs()).toISOString();
    const details = { ...(input.details ?? {}) };
    if (Object.keys(details).length < 32 && details.occurredAt === undefined) details.occurredAt = occurredAt;
    return new Promise<AuditEvent>((resolve, reject) => {
      this.queue.push({ input: { ...input, details }, resolve, reject });
      this.opts.onChange?.(this.status());
    });
  }

  private enterFailing(err: AuditStoreError): void {
    this.lastError = err.message;
    if (this.failingSince === null) {
      this.failingSince = new Date(this.clock.wallMs()).toISOString();
      this.opts.onChange?.(this.status());
    }
  }

  /** Tries the store again; on success writes the recovery event, then the queue in order. */
  async drain(): Promise<boolean> {
    if (this.failingSince === null || this.draining) return this.failingSince === null;
    this.draining = true;
    try {
      await this.store.record({
        action: 'audit.recording_started',
        details: { reason: 'audit writes failed and have resumed', failedSince: this.failingSince, queued: this.queue.length, lost: this.lost, error: (this.lastError ?? '').slice(0, 1000) },
      });
    } catch (err) {
      if (err instanceof AuditStoreError) this.lastError = err.message;
      this.draining = false;
      return false;
    }
    while (this.queue.length > 0) {
      const batch = this.queue.slice(0, 500);
      const results = await Promise.allSettled(batch.map((q) => this.store.record(q.input)));
      const firstFailure = results.findIndex((r) => r.status === 'rejected');
      const done = firstFailure === -1 ? batch.length : firstFailure;
      // Appends in one group commit succeed or fail together, so a failure is a clean cut.
      for (let i = 0; i < done; i++) batch[i]!.resolve((results[i] as PromiseFulfilledResult<AuditEvent>).value);
      this.queue.splice(0, done);
      if (firstFailure !== -1) {
        const reason = (results[firstFailure] as PromiseRejectedResult).reason as Error;
        this.lastError = reason.message;
        this.draining = false;
        return false;
      }
    }
    this.failingSince = null;
    this.lost = 0;
    this.draining = false;
    this.opts.onChange?.(this.status());
    return true;
  }

  dispose(): void {
    this.disposables.dispose();
    for (const q of this.queue.splice(0)) q.reject(new AuditStoreError('closed', 'The agent stopped while this audit event waited for the disk; it was not recorded.'));
  }
}
