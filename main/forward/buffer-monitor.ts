// Watches the audit buffer's size against the policy's disk budget. Crossing a threshold
// records one `audit.buffer_alarm` and raises a status flag; it never deletes a row —
// recording goes on whatever the budget says.
import type { AuditStore } from '../audit/store';
import { DisposableStore, toDisposable } from '../disposable';
import { systemClock, type Clock } from '../platform/clock';
import type { ForwardPolicy } from './policy';

export interface BufferStatus {
  readonly bytes: number;
  readonly budgetBytes: number;
  readonly percent: number;
  /** The highest policy threshold (percent) currently crossed, or null. */
  readonly alarmPercent: number | null;
}

export interface BufferMonitorOptions {
  readonly store: Pick<AuditStore, 'stats' | 'record' | 'onAppend'>;
  readonly policy: ForwardPolicy['buffer'];
  readonly clock?: Clock;
  /** Appends re-check at most this often (the periodic check runs regardless). */
  readonly minCheckIntervalMs?: number;
  /** The threshold a previous monitor (before a policy change) already alarmed: not alarmed again. */
  readonly alreadyAlarmed?: number | null;
}

export class BufferMonitor {
  private readonly disposables = new DisposableStore();
  private readonly clock: Clock;
  /** The threshold last alarmed; lowered again when the buffer shrinks below it, so each crossing alarms once. */
  private alarmed: number | null = null;
  private last: BufferStatus;
  private lastCheckMs = -Infinity;

  constructor(private readonly opts: BufferMonitorOptions) {
    this.clock = opts.clock ?? systemClock;
    this.alarmed = opts.alreadyAlarmed ?? null;
    this.last = { bytes: 0, budgetBytes: opts.policy.budgetBytes, percent: 0, alarmPercent: null };
  }

  start(): void {
    const every = setInterval(() => this.check(), this.opts.policy.checkIntervalMs);
    this.disposables.add(toDisposable(() => clearInterval(every)));
    const minGap = this.opts.minCheckIntervalMs ?? 1000;
    this.disposables.add(
      this.opts.store.onAppend(() => {
        if (this.clock.monotonicMs() - this.lastCheckMs >= minGap) this.check();
      }),
    );
    this.check();
  }

  /** Measures now; records an alarm when a higher threshold is crossed. */
  check(): BufferStatus {
    this.lastCheckMs = this.clock.monotonicMs();
    const { budgetBytes, alarmPercents } = this.opts.policy;
    const bytes = this.opts.store.stats().databaseBytes;
    const percent = (bytes / budgetBytes) * 100;
    let crossed: number | null = null;
    for (const p of alarmPercents) if (percent >= p) crossed = p;
    if (crossed !== null && (this.alarmed === null || crossed > this.alarmed)) {
      this.opts.store
        .record({ action: 'audit.buffer_alarm', details: { level: crossed, bytes, budget: budgetBytes } })
        .catch(() => undefined); // a write failure is the store's own alarm
    }
    this.alarmed = crossed;
    this.last = { bytes, budgetBytes, percent: Math.round(percent * 10) / 10, alarmPercent: crossed };
    return this.last;
  }

  status(): BufferStatus {
    return this.last;
  }

  stop(): void {
    this.disposables.dispose();
  }
}
