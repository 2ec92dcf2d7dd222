// Feeds Electron's IPC into the one router (main/ipc-router.ts): every request channel of
// the contract is handled here, and what Electron says about the sender is all the router
// sees. Registered once, before any window opens.
import { ipcMain, type IpcMainInvokeEvent } from 'electron';
import { REQUEST_CHANNELS } from '../../preload/contract';
import type { Handlers } from '../agent-handlers';
import { route, type SenderInfo } from '../ipc-router';

export function registerIpc(opts: {
  readonly handlers: Handlers;
  readonly origin: () => string;
  readonly ownWindows: () => ReadonlySet<number>;
  readonly onRefused: (why: string, channel: string) => void;
}): void {
  for (const channel of REQUEST_CHANNELS) {
    ipcMain.handle(channel, (event, payload: unknown) => route(opts, senderOf(event), channel, payload));
  }
}

function senderOf(event: IpcMainInvokeEvent): SenderInfo {
  const frame = event.senderFrame;
  return {
    webContentsId: event.sender.id,
    frameUrl: frame ? frame.url : null,
    isMainFrame: frame !== null && frame.parent === null,
  };
}
