// The lock windows: one frameless, always-on-top, content-protected, sandboxed window per
// display showing the lock page on the agent's origin. The lock screen (main/auth) decides
// what they show; this adapter puts them up, takes them down and delivers each view.
import { BrowserWindow, screen } from 'electron';
import { join } from 'node:path';
import type { EnrolView, LockView, Sequenced } from '../../preload/contract';
import type { LockPresenter } from '../session/ports';
import { PAGES_PARTITION, pageUrl } from './pages-protocol';

export class LockWindows implements LockPresenter {
  private windows: BrowserWindow[] = [];
  private lastView: Sequenced<LockView> | null = null;

  constructor(
    private readonly origin: () => string,
    private readonly preloadPath = join(__dirname, '../../preload/index.js'),
  ) {}

  async showLock(): Promise<void> {
    const loading = this.windows.length === 0 ? this.open() : Promise.resolve();
    // Cover every display at once, before the page has loaded: the opaque window is the lock.
    for (const w of this.windows) {
      w.show();
      w.focus();
    }
    await loading;
  }

  async hideLock(): Promise<void> {
    for (const w of this.windows) w.destroy();
    this.windows = [];
  }

  showWarning(): void {
    // The warning countdown while unlocked is a window of its own (the shell issue).
  }

  hideWarning(): void {}

  requestFactor(): void {
    // The view that follows says which factor; see sendLockView.
  }

  sendLockView(view: Sequenced<LockView>): void {
    this.lastView = view;
    this.send('lock:view', view);
  }

  sendEnrolView(view: Sequenced<EnrolView>): void {
    this.send('enroll:view', view);
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
        webPreferences: {
          preload: this.preloadPath,
          partition: PAGES_PARTITION,
          sandbox: true,
          contextIsolation: true,
          nodeIntegration: false,
          webSecurity: true,
          spellcheck: false,
          devTools: false,
        },
      });
      w.setAlwaysOnTop(true, 'screen-saver');
      w.setContentProtection(true);
      w.setVisibleOnAllWorkspaces(true, { visibleOnFullScreen: true });
      this.windows.push(w);
      loads.push(w.loadURL(pageUrl(this.origin(), 'lock')));
    }
    return Promise.all(loads).then(() => {
      if (this.lastView) this.send('lock:view', this.lastView);
    });
  }

  private send(channel: string, payload: unknown): void {
    for (const w of this.windows) if (!w.isDestroyed()) w.webContents.send(channel, payload);
  }
}
