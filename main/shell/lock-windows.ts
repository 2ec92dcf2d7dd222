// The LockPresenter adapter: one frameless, always-on-top, content-protected lock window
// per display, sandboxed, showing renderer/lock. The warning countdown goes to the same
// windows. Windows are created on demand and registered for disposal.
import { BrowserWindow, screen } from 'electron';
import { join } from 'node:path';
import type { LockPresenter } from '../session/ports';
import type { LockReason } from '../session/effects';
import type { StrongFactor } from '../session/policy';
import type { LockState, Warning } from '../../preload/contract';
import { pageUrl } from './pages-protocol';

export class LockWindows implements LockPresenter {
  private windows: BrowserWindow[] = [];

  constructor(private readonly preloadPath = join(__dirname, '../../preload/index.js')) {}

  async showLock(info: { readonly reason: LockReason; readonly owner: string | null }): Promise<void> {
    const loading = this.windows.length === 0 ? this.open() : Promise.resolve();
    // Cover every display at once, before the page has loaded: the opaque window is the lock.
    for (const w of this.windows) {
      w.show();
      w.focus();
    }
    try {
      await loading;
    } finally {
      this.send<LockState>('lock:state', { locked: true, reason: info.reason, owner: info.owner });
    }
  }

  async hideLock(_info: { readonly user: string }): Promise<void> {
    this.send<LockState>('lock:state', { locked: false, reason: null, owner: null });
    for (const w of this.windows) w.destroy();
    this.windows = [];
  }

  showWarning(info: { readonly secondsLeft: number }): void {
    this.send<Warning>('lock:warning', { secondsLeft: info.secondsLeft });
  }

  hideWarning(): void {
    this.send<Warning>('lock:warning', { secondsLeft: null });
  }

  requestFactor(_info: { readonly user: string; readonly factor: StrongFactor }): void {
    // The strong-factor prompt belongs to the lock page's tap-in flow.
  }

  dispose(): void {
    for (const w of this.windows) w.destroy();
    this.windows = [];
  }

  /** Creates the windows now; the returned promise settles when their pages have loaded. */
  private open(): Promise<void> {
    const loads: Promise<void>[] = [];
    for (const display of screen.getAllDisplays()) {
      const w = new BrowserWindow({
        ...display.bounds,
        frame: false,
        show: false,
        kiosk: true,
        alwaysOnTop: true,
        skipTaskbar: true,
        movable: false,
        resizable: false,
        closable: false,
        fullscreenable: true,
        backgroundColor: '#0b1f33',
        webPreferences: { preload: this.preloadPath, sandbox: true, contextIsolation: true, nodeIntegration: false, webSecurity: true, spellcheck: false, devTools: false },
      });
      w.setAlwaysOnTop(true, 'screen-saver');
      w.setContentProtection(true);
      w.setVisibleOnAllWorkspaces(true, { visibleOnFullScreen: true });
      this.windows.push(w);
      loads.push(w.loadURL(pageUrl('lock/index.html')));
    }
    return Promise.all(loads).then(() => undefined);
  }

  private send<T>(channel: string, payload: T): void {
    for (const w of this.windows) if (!w.isDestroyed()) w.webContents.send(channel, payload);
  }
}
