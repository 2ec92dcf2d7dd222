// The idle warning while a session is open: a small always-on-top window in the corner of
// the display in use, shown without taking focus (the nurse may be typing a note), with the
// countdown and "I'm still here". It is the lock page in its warning layout, so the words,
// the countdown and the button are the ones tested in Chromium.
import { screen, type BrowserWindow } from 'electron';
import type { LockView, Sequenced } from '../../preload/contract';
import type { OwnWindows } from './page-window';
import { pageUrl } from './pages-protocol';
import { displayAt, warningBounds } from './window-layout';

export class WarningWindow {
  private window: BrowserWindow | null = null;
  private lastView: Sequenced<LockView> | null = null;

  constructor(
    private readonly own: OwnWindows,
    private readonly origin: () => string,
  ) {}

  show(): void {
    const displays = screen.getAllDisplays();
    const display = displayAt(displays, screen.getCursorScreenPoint()) ?? screen.getPrimaryDisplay();
    const bounds = warningBounds(display.workArea);
    if (this.window && !this.window.isDestroyed()) {
      this.window.setBounds(bounds);
      if (!this.window.isVisible()) this.window.showInactive();
      return;
    }
    const w = this.own.open({
      ...bounds,
      show: false,
      frame: false,
      alwaysOnTop: true,
      skipTaskbar: true,
      resizable: false,
      movable: false,
      minimizable: false,
      maximizable: false,
      fullscreenable: false,
      focusable: true,
      title: 'Locking soon',
      backgroundColor: '#fff7e0',
    });
    w.setAlwaysOnTop(true, 'pop-up-menu');
    w.setVisibleOnAllWorkspaces(true, { visibleOnFullScreen: true });
    this.window = w;
    w.once('ready-to-show', () => {
      if (this.window === w) w.showInactive();
    });
    w.on('closed', () => {
      if (this.window === w) this.window = null;
    });
    void w.loadURL(pageUrl(this.origin(), 'lock', { window: 'warning' })).then(() => {
      if (this.lastView && !w.isDestroyed()) w.webContents.send('lock:view', this.lastView);
    }, () => undefined);
  }

  hide(): void {
    if (this.window && !this.window.isDestroyed()) this.window.hide();
  }

  sendLockView(view: Sequenced<LockView>): void {
    this.lastView = view;
    const w = this.window;
    if (w && !w.isDestroyed()) w.webContents.send('lock:view', view);
  }

  dispose(): void {
    if (this.window && !this.window.isDestroyed()) this.window.destroy();
    this.window = null;
  }
}
