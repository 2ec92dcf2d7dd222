// A real-time IdleSource for controller tests and the lock-latency benchmark: idle is the
// real monotonic time since the last `activity()` call, as an OS reports it.
import { toDisposable, type Disposable } from '../../main/disposable';
import type { IdleSource, PowerEvent } from '../../main/session/ports';

export class RealTimeIdleSource implements IdleSource {
  private last = performance.now();
  private readonly listeners = new Set<(e: PowerEvent) => void>();

  /** Input "now"; returns its monotonic time (the start of the next idle window). */
  activity(): number {
    this.last = performance.now();
    return this.last;
  }
  get lastInputAt(): number {
    return this.last;
  }
  idleMs(): number {
    return performance.now() - this.last;
  }
  power(event: PowerEvent): void {
    for (const l of [...this.listeners]) l(event);
  }
  onPowerEvent(listener: (e: PowerEvent) => void): Disposable {
    this.listeners.add(listener);
    return toDisposable(() => this.listeners.delete(listener));
  }
}
