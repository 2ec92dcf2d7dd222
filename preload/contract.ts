// The one IPC contract: channel names and payload schemas that main, preload and the
// renderer all read. Main validates every message against these schemas; the renderer
// imports types only.
import { z } from 'zod';

export const CHANNELS = {
  /** main → renderer: the lock overlay's state. */
  lockState: 'lock:state',
  /** main → renderer: idle warning countdown (secondsLeft null = hide). */
  warning: 'lock:warning',
  /** renderer → main (invoke): a keyboard-wedge burst the lock page classified as a badge. */
  badgeBurst: 'lock:badge-burst',
} as const;

export type Channel = (typeof CHANNELS)[keyof typeof CHANNELS];

export const lockStateSchema = z.strictObject({
  locked: z.boolean(),
  reason: z.string().max(64).nullable(),
  /** Enrolled user id of the session owner, shown as "locked by …". */
  owner: z.string().max(128).nullable(),
});
export type LockState = z.infer<typeof lockStateSchema>;

export const warningSchema = z.strictObject({ secondsLeft: z.number().int().min(0).max(3600).nullable() });
export type Warning = z.infer<typeof warningSchema>;

export const badgeBurstSchema = z.strictObject({
  /** Card number as typed by the reader; hashed with the device secret in main, never stored. */
  digits: z.string().regex(/^[0-9A-Fa-f]{4,64}$/),
  burstMs: z.number().min(0).max(10_000),
  maxGapMs: z.number().min(0).max(10_000),
});
export type BadgeBurst = z.infer<typeof badgeBurstSchema>;

/** What preload exposes on `window.agent`. No secrets ever cross this bridge. */
export interface AgentApi {
  onLockState(listener: (state: LockState) => void): () => void;
  onWarning(listener: (w: Warning) => void): () => void;
  badgeBurst(burst: BadgeBurst): Promise<{ readonly accepted: boolean; readonly message: string }>;
}
