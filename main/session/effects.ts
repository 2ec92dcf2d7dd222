// What the session engine asks the controller to do. The controller executes them in
// order through the ports; audit effects always follow the lock they describe.
import type { AuditEventInput } from '../audit/event';
import type { LogoffAction, StrongFactor } from './policy';

/** What the lock page must collect after a badge: a strong factor, or (grace path over another owner) a confirmation. */
export type FactorRequest = StrongFactor | 'confirm-switch';

export type LockReason =
  | 'startup'
  | 'idle'
  | 'manual'
  | 'suspend'
  | 'resume'
  | 'os-lock'
  | 'tap-out'
  | 'other-badge'
  | 'breakglass-ended'
  | 'breakglass-expired'
  | 'policy'
  | 'revoked'
  | 'engine-error';

export type LogoffReason = 'locked-timeout' | 'user-switch' | 'tap-out' | 'revoked';

/** Named deadlines; the controller keeps one timer per name. */
export type TimerName = 'warn' | 'lock' | 'logoff' | 'emergency';

export type SessionEffect =
  | { readonly type: 'show-warning'; readonly lockAt: number; readonly secondsLeft: number }
  | { readonly type: 'hide-warning' }
  /** Overlay on every display; `osLock` also locks the OS session. */
  | { readonly type: 'lock'; readonly reason: LockReason; readonly owner: string | null; readonly osLock: boolean }
  | { readonly type: 'unlock'; readonly user: string }
  | { readonly type: 'request-factor'; readonly user: string; readonly factor: FactorRequest }
  | { readonly type: 'logoff'; readonly user: string; readonly reason: LogoffReason; readonly action: LogoffAction }
  | { readonly type: 'audit'; readonly input: AuditEventInput }
  | { readonly type: 'set-timer'; readonly timer: TimerName; readonly at: number }
  | { readonly type: 'clear-timer'; readonly timer: TimerName };
