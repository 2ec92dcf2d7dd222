// The Electron security baseline: nothing is granted but what the lock page needs (WebAuthn
// runs without a permission prompt), navigation stays on the agent's origin, new windows
// and webviews are refused, and IPC is accepted only from the agent's pages' main frames.
import { app, type IpcMainInvokeEvent, type WebContents } from 'electron';
import { pagesSession } from './pages-protocol';

export function applySecurityBaseline(origin: () => string): void {
  for (const ses of [pagesSession()]) {
    ses.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
    ses.setPermissionCheckHandler(() => false);
  }
  app.on('web-contents-created', (_e, contents: WebContents) => {
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
    contents.on('will-navigate', (event, url) => {
      if (!isOwnPage(url, origin())) event.preventDefault();
    });
    contents.on('will-redirect', (event, url) => {
      if (!isOwnPage(url, origin())) event.preventDefault();
    });
    contents.on('will-attach-webview', (event) => event.preventDefault());
  });
}

export function isOwnPage(url: string, origin: string): boolean {
  try {
    return new URL(url).origin === origin;
  } catch {
    return false;
  }
}

/** True when an IPC message comes from the main frame of one of our pages. */
export function isTrustedSender(event: IpcMainInvokeEvent, origin: string): boolean {
  const frame = event.senderFrame;
  return frame !== null && frame.parent === null && isOwnPage(frame.url, origin);
}
