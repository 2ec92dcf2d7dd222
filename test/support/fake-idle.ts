// Controllable time and idle for session engine and controller unit tests: the test sets
// the monotonic clock, the wall clock and the idle reading, and fires power events.
import { toDisposable, type Disposable } from '../../main/disposable';
import type { Clock } from '../../main/platform/clock';
import type { IdleSource, PowerEvent } from '../../main/session/ports';

export class ManualClock implements Clock {
  constructor(
    public monotonic = 1_000,
    public wall = Date.UTC(2025, 2, 30, 0, 59, 0),
  ) {}
  monotonicMs(): number {
    return this.monotonic;
  }
  wallMs(): number {
    return this.wall;
  }
  /** Both clocks move together, as they do when nothing odd happens. */
  advance(ms: number): void {
    this.monotonic += ms;
    this.wall += ms;
  }
  /** Only the wall clock moves (NTP step, DST, a manual change). */
  jumpWall(ms: number): void {
    this.wall += ms;
  }
}

/** Idle computed from the ManualClock and the last `activity()`, or forced with `setIdleMs`. */
export class ControllableIdleSource implements IdleSource {
  private lastInput: number;
  private forced: number | null = null;
  private readonly listeners = new Set<(e: PowerEvent) => void>();

  constructor(private readonly clock: ManualClock) {
    this.lastInput = clock.monotonicMs();
  }
  activity(): void {
    this.forced = null;
    this.lastInput = this.clock.monotonicMs();
  }
  setIdleMs(ms: number): void {
    this.forced = ms;
  }
  idleMs(): number {
    return this.forced ?? this.clock.monotonicMs() - this.lastInput;
  }
  power(event: PowerEvent): void {
    for (const l of [...this.listeners]) l(event);
  }
  get listenerCount(): number {
    return this.listeners.size;
  }
  onPowerEvent(listener: (e: PowerEvent) => void): Disposable {
    this.listeners.add(listener);
    return toDisposable(() => this.listeners.delete(listener));
  }
}

/** The system clock plus an offset the test moves (an expired challenge, a lockout that ends). */
export class OffsetClock implements Clock {
  offsetMs = 0;
  monotonicMs(): number {
    return performance.now() + this.offsetMs;
  }
  wallMs(): number {
    return Date.now() + this.offsetMs;
  }
}
