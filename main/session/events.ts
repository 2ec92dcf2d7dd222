// What the session engine reacts to. The controller turns idle polls, power events, the
// lock page and the tray into these; the auth module resolves badges and checks factors.
import type { SessionPolicy } from './policy';

export type SessionEvent =
  /** Input the agent itself observed (equivalent to a tick with idle 0). */
  | { readonly type: 'activity' }
  /** A read of the idle source: milliseconds since the last OS input. */
  | { readonly type: 'tick'; readonly idleMs: number }
  /** A badge tap, already resolved to an enrolled user id. */
  | { readonly type: 'badge'; readonly user: string }
  | { readonly type: 'pin-ok'; readonly user: string }
  | { readonly type: 'pin-fail'; readonly user: string; readonly kind?: string; readonly triesLeft?: number }
  /** `uv`: how user verification was obtained (the key's own PIN, or the agent's PIN after key presence). */
  | { readonly type: 'fido-ok'; readonly user: string; readonly uv?: 'authenticator' | 'agent-pin' }
  | { readonly type: 'fido-fail'; readonly user: string; readonly kind?: string; readonly triesLeft?: number }
  /** The tapped-in user confirmed that their badge-only sign-in ends the owner's session. */
  | { readonly type: 'switch-confirm'; readonly user: string }
  /** The lock page gave up on the pending sign-in (cancel, timeout): the pending tap is forgotten. */
  | { readonly type: 'auth-cancel' }
  /** The directory revoked this user: their session (open or locked) ends now. */
  | { readonly type: 'access-revoked'; readonly user: string }
  | { readonly type: 'manual-lock'; readonly via: 'tray' | 'hotkey' }
  /** An explicit tap-out (the lock page's "tap out" with the owner's badge). */
  | { readonly type: 'tap-out'; readonly user: string }
  | { readonly type: 'suspend' }
  | { readonly type: 'resume' }
  /** The OS locked its screen (lid close, Win+L, screensaver lock). */
  | { readonly type: 'os-lock' }
  | { readonly type: 'policy'; readonly policy: SessionPolicy }
  /** `factor`: what the user proved before break-glass (recorded with the start). */
  | { readonly type: 'breakglass-start'; readonly user: string; readonly reason: string; readonly factor?: string }
  | { readonly type: 'breakglass-extend'; readonly reason: string }
  | { readonly type: 'breakglass-end' };

export type SessionEventType = SessionEvent['type'];
