// Turns whole-second idle readings (Electron's powerMonitor.getSystemIdleTime) into a
// stable idle time in milliseconds: each reading bounds the last input to a one-second
// interval, and successive readings narrow it, so polls never jitter the idle window.
export class WholeSecondIdleEstimate {
  /** The last input lies in (lo, hi], in the caller's monotonic milliseconds. */
  private lo = Number.NEGATIVE_INFINITY;
  private hi = Number.NEGATIVE_INFINITY;

  /** Idle milliseconds at `nowMs` given `idleSeconds` (floored) read at that moment. */
  read(idleSeconds: number, nowMs: number): number {
    const hi = nowMs - Math.max(0, Math.floor(idleSeconds)) * 1000;
    const lo = hi - 1000;
    if (lo < this.hi && hi > this.lo) {
      // Same last input as before: keep the tighter bound.
      this.lo = Math.max(this.lo, lo);
      this.hi = Math.min(this.hi, hi);
    } else {
      // New input (or the first reading).
      this.lo = lo;
      this.hi = hi;
    }
    // The latest possible input time: never reports more idle than there was.
    return nowMs - this.hi;
  }
}
