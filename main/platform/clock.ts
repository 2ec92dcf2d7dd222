// The Clock port: a monotonic clock for timers and deadlines (immune to NTP, DST and
// manual changes) and a wall clock for audit timestamps.
export interface Clock {
  /** Milliseconds from an arbitrary origin; never goes backwards. */
  monotonicMs(): number;
  /** Unix epoch milliseconds; may jump. */
  wallMs(): number;
}

export const systemClock: Clock = {
  monotonicMs: () => performance.now(),
  wallMs: () => Date.now(),
};
