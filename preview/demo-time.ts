// Time for the preview. The session engine judges idleness by the monotonic clock and never
// lets a reading make a session older, so "Simulate idle" skips the preview's monotonic clock
// ahead (wall time, and so the audit trail's times, stay real). A browser tab cannot see the
// OS's keyboard and mouse either, so idle is the time since the last thing a person did on
// the lock or enrol page, measured on that same clock.
import { toDisposable, type Disposable } from '../main/disposable';
import type { Clock } from '../main/platform/clock';
import type { IdleSource, PowerEvent } from '../main/session/ports';

export class DemoClock implements Clock {
  private skipped = 0;

  monotonicMs(): number {
    return performance.now() + this.skipped;
  }

  wallMs(): number {
    return Date.now();
  }

  /** As if `ms` had passed with nobody at the workstation. */
  skip(ms: number): void {
    this.skipped += Math.max(0, ms);
  }
}

export class DemoIdleSource implements IdleSource {
  private lastInput: number;

  constructor(private readonly clock: DemoClock) {
    this.lastInput = clock.monotonicMs();
  }

  /** A person did something. */
  activity(): void {
    this.lastInput = this.clock.monotonicMs();
  }

  idleMs(): number {
    return Math.max(0, this.clock.monotonicMs() - this.lastInput);
  }

  /** No suspend or OS screen lock in a browser tab. */
  onPowerEvent(_listener: (event: PowerEvent) => void): Disposable {
    return toDisposable(() => undefined);
  }
}
