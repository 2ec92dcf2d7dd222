// The Electron security baseline: nothing is granted but what the lock page needs (WebAuthn
// runs without a permission prompt), navigation stays on the agent's origin, new windows
// and webviews are refused (IPC senders are checked by main/ipc-router.ts).
import { app, type WebContents } from 'electron';
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
