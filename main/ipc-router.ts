// The one entry for every request from a page, before the handler table: it refuses a
// sender that is not the main frame of one of the agent's own windows on the agent's
// origin, then validates the payload against the contract (handleRequest). Plain Node, so
// it is fuzzed here; main/shell/ipc.ts feeds it Electron's IPC events.
import { handleRequest, type Handlers, type RequestResult } from './agent-handlers';

/** What Electron tells us about who sent a message. */
export interface SenderInfo {
  /** The id of the WebContents the message came from. */
  readonly webContentsId: number;
  /** The sending frame's URL (null when the frame is gone). */
  readonly frameUrl: string | null;
  /** True for the top-level frame (sub-frames are never trusted). */
  readonly isMainFrame: boolean;
}

export interface RouterOptions {
  readonly handlers: Handlers;
  /** The agent's pages origin (policy auth.origin). */
  readonly origin: () => string;
  /** WebContents ids of the agent's own windows (lock, warning, status). */
  readonly ownWindows: () => ReadonlySet<number>;
  /** A refused message, for the log (never its payload). */
  readonly onRefused?: (why: string, channel: string) => void;
}

export const REFUSED: RequestResult = { ok: false, error: 'refused: not one of the agent pages' };

export function senderProblem(sender: SenderInfo, opts: Pick<RouterOptions, 'origin' | 'ownWindows'>): string | null {
  if (!opts.ownWindows().has(sender.webContentsId)) return 'not an agent window';
  if (!sender.isMainFrame) return 'a sub-frame';
  if (sender.frameUrl === null) return 'no frame';
  let origin: string;
  try {
    origin = new URL(sender.frameUrl).origin;
  } catch {
    return 'a frame without a URL';
  }
  return origin === opts.origin() ? null : `a frame on ${origin.slice(0, 80)}`;
}

/** Never throws: a refused sender, an unknown channel or a bad payload is an error result. */
export async function route(opts: RouterOptions, sender: SenderInfo, channel: unknown, payload: unknown): Promise<RequestResult> {
  let why: string | null;
  try {
    why = senderProblem(sender, opts);
  } catch {
    why = 'an unreadable sender';
  }
  if (why !== null) {
    opts.onRefused?.(why, typeof channel === 'string' ? channel.slice(0, 64) : typeof channel);
    return REFUSED;
  }
  return handleRequest(opts.handlers, channel, payload);
}
