// A monotonic clock that also counts time asleep. The OS monotonic clocks Node reads stop
// during suspend (Linux CLOCK_MONOTONIC, macOS mach_absolute_time), so a workstation that
// slept for hours would resume with its logoff countdown where it left it. On resume this
// clock adds the wall-clock time that passed while asleep: a wall jump during sleep can
// only bring a logoff forward (the safe direction); awake, it never looks at the wall.
import type { Clock } from './clock';

const MAX_SLEEP_MS = 31 * 24 * 3600_000;

export class SuspendAwareClock implements Clock {
  private offsetMs = 0;
  private suspendedAt: { mono: number; wall: number } | null = null;

  constructor(private readonly base: Clock) {}

  monotonicMs(): number {
    return this.base.monotonicMs() + this.offsetMs;
  }

  wallMs(): number {
    return this.base.wallMs();
  }

  /** Call on the OS 'suspend' event, before anything else handles it. */
  noteSuspend(): void {
    this.suspendedAt = { mono: this.base.monotonicMs(), wall: this.base.wallMs() };
  }

  /** Call on 'resume', before the session controller sees it. Returns the time added. */
  noteResume(): number {
    const at = this.suspendedAt;
    this.suspendedAt = null;
    if (!at) return 0;
    const slept = this.base.wallMs() - at.wall - (this.base.monotonicMs() - at.mono);
    if (!(slept > 1000)) return 0; // no sleep the monotonic clock missed (or the wall went back)
    const added = Math.min(slept, MAX_SLEEP_MS);
    this.offsetMs += added;
    return added;
  }
}
