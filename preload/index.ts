// The contextBridge API for the sandboxed pages. A sandboxed preload can require nothing
// but electron, so channel names are written here and checked against the contract's
// types at compile time; main validates every payload with the contract's schemas.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { AgentApi, BadgeBurst, Channel, LockState, Warning } from './contract';

const LOCK_STATE: Channel = 'lock:state';
const WARNING: Channel = 'lock:warning';
const BADGE_BURST: Channel = 'lock:badge-burst';

function subscribe<T>(channel: Channel, listener: (payload: T) => void): () => void {
  const handler = (_e: IpcRendererEvent, payload: T): void => listener(payload);
  ipcRenderer.on(channel, handler);
  return () => ipcRenderer.off(channel, handler);
}

const api: AgentApi = {
  onLockState: (listener) => subscribe<LockState>(LOCK_STATE, listener),
  onWarning: (listener) => subscribe<Warning>(WARNING, listener),
  badgeBurst: (burst: BadgeBurst) => ipcRenderer.invoke(BADGE_BURST, burst) as Promise<{ accepted: boolean; message: string }>,
};

contextBridge.exposeInMainWorld('agent', api);
