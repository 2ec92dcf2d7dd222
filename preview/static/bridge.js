// The preview's stand-in for preload/index.ts: the same window.agent (request, onLockView,
// onEnrolView), over HTTP to the preview server instead of Electron IPC. Requests are JSON
// POSTs to /<token>/api/<channel>; views arrive as server-sent events on /<token>/events.
// Loaded as a classic script in <head>, so it runs before the page's own module.
(() => {
  'use strict';
  const root = `/${location.pathname.split('/')[1]}/`;
  const CHANNEL = /^(lock|enroll|status):[a-z0-9-]{1,40}$/;
  const listeners = { lock: new Set(), enroll: new Set() };
  const html = document.documentElement;

  // EventSource reconnects by itself; the attribute lets the demo panel (and tests) see the link.
  html.dataset.previewEvents = 'connecting';
  const events = new EventSource(`${root}events`);
  events.addEventListener('open', () => {
    html.dataset.previewEvents = 'open';
  });
  events.addEventListener('error', () => {
    html.dataset.previewEvents = 'reconnecting';
  });
  for (const kind of Object.keys(listeners)) {
    events.addEventListener(kind, (e) => {
      let view;
      try {
        view = JSON.parse(e.data);
      } catch {
        return;
      }
      for (const listener of [...listeners[kind]]) listener(view);
    });
  }

  async function request(channel, payload) {
    if (typeof channel !== 'string' || !CHANNEL.test(channel)) throw new Error('unknown request');
    let response;
    try {
      response = await fetch(`${root}api/${channel}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payload === undefined ? null : payload),
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch {
      throw new Error('the agent did not answer');
    }
    if (!response.ok) throw new Error(`the agent did not answer (HTTP ${response.status})`);
    const result = await response.json();
    if (!result.ok) throw new Error(result.error);
    return result.reply;
  }

  const subscribe = (kind) => (listener) => {
    listeners[kind].add(listener);
    return () => listeners[kind].delete(listener);
  };

  Object.defineProperty(window, 'agent', {
    value: Object.freeze({ request, onLockView: subscribe('lock'), onEnrolView: subscribe('enroll') }),
  });
})();
