// The page's only way out: window.agent (the preload bridge in Electron, the harness in
// Chromium tests). Requests that fail come back as a rejected promise with a short reason.
import type { AgentApi } from '../../preload/contract';

declare global {
  interface Window {
    agent?: AgentApi;
  }
}

export function agentApi(): AgentApi {
  const api = window.agent;
  if (!api) throw new Error('window.agent is missing: this page only runs inside the agent');
  return api;
}
