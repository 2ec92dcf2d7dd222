// The session engine's state: one phase (a discriminated union) plus what the engine
// needs across phases. All times are monotonic milliseconds (Clock.monotonicMs).
import type { FactorRequest } from './effects';
import type { SessionPolicy } from './policy';

/** How an unlocked session was entered; also the audit `method`. */
export type UnlockMethod = 'badge' | 'badge+pin' | 'badge+fido2';

export interface UnlockedPhase {
  readonly kind: 'unlocked';
  readonly user: string;
  /** When the current unlock began. */
  readonly since: number;
  readonly method: UnlockMethod;
}

export interface EmergencyPhase {
  readonly kind: 'emergency';
  readonly user: string;
  readonly reason: string;
  readonly since: number;
  /** Hard end of break-glass; only a new reason moves it. */
  readonly expiresAt: number;
}

/** The idle countdown over an open session; activity returns to `resume`. */
export interface WarningPhase {
  readonly kind: 'warning';
  readonly user: string;
  readonly since: number;
  /** When the lock lands unless input arrives first. */
  readonly deadline: number;
  readonly resume: UnlockedPhase | EmergencyPhase;
}

/** A badge was tapped; the strong factor is awaited for this user. */
export interface PendingAuth {
  readonly user: string;
  readonly since: number;
  readonly awaiting: FactorRequest;
}

/** The owner's session is kept behind the lock overlay; only the owner can reopen it. */
export interface LockedPhase {
  readonly kind: 'locked';
  readonly owner: string;
  readonly since: number;
  readonly pending: PendingAuth | null;
}

/** No session: the overlay shows; the next successful authentication starts a new session. */
export interface LoggedOffPhase {
  readonly kind: 'logged-off';
  readonly since: number;
  readonly pending: PendingAuth | null;
}

export type SessionPhase = UnlockedPhase | WarningPhase | EmergencyPhase | LockedPhase | LoggedOffPhase;
export type OpenPhase = UnlockedPhase | WarningPhase | EmergencyPhase;

export interface SessionState {
  readonly phase: SessionPhase;
  readonly policy: SessionPolicy;
  /** The latest monotonic time the engine has seen; time never runs backwards inside. */
  readonly now: number;
  /** Latest input the engine knows of (idle source or an authentication). */
  readonly lastInputAt: number;
  /** Last strong authentication (PIN or FIDO2) per user, for the badge-only grace window. */
  readonly strongAuthAt: ReadonlyMap<string, number>;
}

export function isOpen(phase: SessionPhase): phase is OpenPhase {
  return phase.kind === 'unlocked' || phase.kind === 'warning' || phase.kind === 'emergency';
}

/** The user whose session the phase holds (open or locked); null when logged off. */
export function ownerOf(phase: SessionPhase): string | null {
  switch (phase.kind) {
    case 'unlocked':
    case 'warning':
    case 'emergency':
      return phase.user;
    case 'locked':
      return phase.owner;
    case 'logged-off':
      return null;
  }
}

/** The break-glass session in force, if any (directly or under the warning countdown). */
export function emergencyOf(phase: SessionPhase): EmergencyPhase | null {
  if (phase.kind === 'emergency') return phase;
  if (phase.kind === 'warning' && phase.resume.kind === 'emergency') return phase.resume;
  return null;
}
