// The Electron security baseline: no permission is granted, navigation and new windows
// are refused, and IPC is accepted only from the agent's own pages' main frames.
import { app, session, type IpcMainInvokeEvent, type WebContents } from 'electron';
import { PAGES_HOST, PAGES_SCHEME } from './pages-protocol';

export function applySecurityBaseline(): void {
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
  app.on('web-contents-created', (_e, contents: WebContents) => {
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
    contents.on('will-navigate', (event, url) => {
      if (!isOwnPage(url)) event.preventDefault();
    });
    contents.on('will-attach-webview', (event) => event.preventDefault());
  });
}

export function isOwnPage(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === `${PAGES_SCHEME}:` && u.host === PAGES_HOST;
  } catch {
    return false;
  }
}

/** True when an IPC message comes from the main frame of one of our pages. */
export function isTrustedSender(event: IpcMainInvokeEvent): boolean {
  const frame = event.senderFrame;
  return frame !== null && frame.parent === null && isOwnPage(frame.url);
}
