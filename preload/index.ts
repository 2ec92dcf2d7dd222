// The contextBridge API for the sandboxed pages (window.agent). A sandboxed preload can
// require nothing but electron, so it forwards request channels by their shape and main's
// handler table checks the exact channel and validates every payload; views come back on
// two push channels. Nothing secret is ever sent toward the page.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { AgentApi, EnrolView, LockView, RequestResult, Sequenced } from './contract';

const CHANNEL = /^(lock|enroll|status):[a-z0-9-]{1,40}$/;

function subscribe<T>(channel: 'lock:view' | 'enroll:view', listener: (payload: T) => void): () => void {
  const handler = (_e: IpcRendererEvent, payload: T): void => listener(payload);
  ipcRenderer.on(channel, handler);
  return () => ipcRenderer.off(channel, handler);
}

const api: AgentApi = {
  async request(channel, payload) {
    if (!CHANNEL.test(channel)) throw new Error('unknown request');
    const result = (await ipcRenderer.invoke(channel, payload)) as RequestResult;
    if (!result.ok) throw new Error(result.error);
    return result.reply as never;
  },
  onLockView: (listener) => subscribe<Sequenced<LockView>>('lock:view', listener),
  onEnrolView: (listener) => subscribe<Sequenced<EnrolView>>('enroll:view', listener),
};

contextBridge.exposeInMainWorld('agent', api);
