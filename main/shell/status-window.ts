// The help desk's status window: an ordinary window (it can sit behind others and be
// closed) showing the status page on the agent's origin; opening it again brings the one
// window forward.
import type { BrowserWindow } from 'electron';
import type { OwnWindows } from './page-window';
import { pageUrl } from './pages-protocol';

export class StatusWindow {
  private window: BrowserWindow | null = null;

  constructor(
    private readonly own: OwnWindows,
    private readonly origin: () => string,
  ) {}

  open(): void {
    const existing = this.window;
    if (existing && !existing.isDestroyed()) {
      if (existing.isMinimized()) existing.restore();
      existing.show();
      existing.focus();
      return;
    }
    const w = this.own.open({
      width: 760,
      height: 820,
      minWidth: 420,
      minHeight: 400,
      show: false,
      title: 'Agent status',
      autoHideMenuBar: true,
      backgroundColor: '#ffffff',
    });
    this.window = w;
    w.once('ready-to-show', () => w.show());
    w.on('closed', () => {
      if (this.window === w) this.window = null;
    });
    void w.loadURL(pageUrl(this.origin(), 'status')).catch(() => undefined);
  }

  dispose(): void {
    if (this.window && !this.window.isDestroyed()) this.window.destroy();
    this.window = null;
  }
}
