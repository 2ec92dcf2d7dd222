// Per-user failure count and lockout (N failures → locked for M minutes, from policy),
// kept in the encrypted database so neither an agent restart nor a reboot resets it.
// Times are wall-clock milliseconds: a lockout must outlive the process that set it.
import type { Database as Db, Statement } from 'better-sqlite3-multiple-ciphers';
import type { Clock } from '../platform/clock';
import type { PinPolicy } from './policy';

export interface LockoutStatus {
  readonly failures: number;
  /** Failures left before a lockout (0 while locked out). */
  readonly triesLeft: number;
  /** Wall-clock ms until which the user is locked out; null when not locked out. */
  readonly lockedUntilMs: number | null;
}

export interface FailureOutcome extends LockoutStatus {
  /** This failure started the lockout. */
  readonly lockedNow: boolean;
}

type Row = { failures: number; last_failure_ms: number; locked_until_ms: number | null };

export class FailureLedger {
  private readonly s: {
    get: Statement<[string], Row>;
    put: Statement<[string, number, number, number | null]>;
    clear: Statement<[string]>;
  };

  constructor(
    db: Db,
    private readonly policy: () => PinPolicy,
    private readonly clock: Clock,
  ) {
    this.s = {
      get: db.prepare('SELECT failures, last_failure_ms, locked_until_ms FROM auth_failures WHERE user_id = ?'),
      put: db.prepare(
        'INSERT INTO auth_failures (user_id, failures, last_failure_ms, locked_until_ms) VALUES (?, ?, ?, ?) ' +
          'ON CONFLICT(user_id) DO UPDATE SET failures = excluded.failures, last_failure_ms = excluded.last_failure_ms, locked_until_ms = excluded.locked_until_ms',
      ),
      clear: db.prepare('DELETE FROM auth_failures WHERE user_id = ?'),
    };
  }

  status(userId: string): LockoutStatus {
    const max = this.policy().maxFailures;
    const row = this.current(userId);
    if (row.locked_until_ms !== null) return { failures: row.failures, triesLeft: 0, lockedUntilMs: row.locked_until_ms };
    return { failures: row.failures, triesLeft: Math.max(0, max - row.failures), lockedUntilMs: null };
  }

  /** Counts one failure; the Nth starts a lockout. A failure while locked out does not extend it. */
  fail(userId: string): FailureOutcome {
    const { maxFailures, lockoutMinutes } = this.policy();
    const now = this.clock.wallMs();
    const row = this.current(userId);
    if (row.locked_until_ms !== null) return { failures: row.failures, triesLeft: 0, lockedUntilMs: row.locked_until_ms, lockedNow: false };
    const failures = row.failures + 1;
    const lockedUntil = failures >= maxFailures ? now + Math.round(lockoutMinutes * 60_000) : null;
    this.s.put.run(userId, failures, now, lockedUntil);
    return { failures, triesLeft: Math.max(0, maxFailures - failures), lockedUntilMs: lockedUntil, lockedNow: lockedUntil !== null };
  }

  /** A successful strong authentication clears the count. */
  succeed(userId: string): void {
    this.s.clear.run(userId);
  }

  /** IT clears a lockout (agentctl); returns whether one was in force. */
  clear(userId: string): boolean {
    const wasLocked = this.current(userId).locked_until_ms !== null;
    this.s.clear.run(userId);
    return wasLocked;
  }

  /** The row with an expired lockout treated as gone (and removed). */
  private current(userId: string): Row {
    const row = this.s.get.get(userId);
    if (!row) return { failures: 0, last_failure_ms: 0, locked_until_ms: null };
    if (row.locked_until_ms !== null && row.locked_until_ms <= this.clock.wallMs()) {
      this.s.clear.run(userId);
      return { failures: 0, last_failure_ms: 0, locked_until_ms: null };
    }
    return row;
  }
}
