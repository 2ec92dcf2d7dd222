// What every agent window shares: the sandboxed, isolated webPreferences on the pages
// partition, and the registry of the agent's own WebContents that the IPC router trusts.
import { BrowserWindow, type BrowserWindowConstructorOptions } from 'electron';
import { join } from 'node:path';
import { PAGES_PARTITION } from './pages-protocol';

const PRELOAD = join(__dirname, '../../preload/index.js');

/** WebContents ids of the agent's windows; a window leaves the set when it is destroyed. */
export class OwnWindows {
  private readonly ids = new Set<number>();

  trusted(): ReadonlySet<number> {
    return this.ids;
  }

  open(options: BrowserWindowConstructorOptions): BrowserWindow {
    const w = new BrowserWindow({
      ...options,
      webPreferences: {
        preload: PRELOAD,
        partition: PAGES_PARTITION,
        sandbox: true,
        contextIsolation: true,
        nodeIntegration: false,
        nodeIntegrationInSubFrames: false,
        webSecurity: true,
        allowRunningInsecureContent: false,
        experimentalFeatures: false,
        navigateOnDragDrop: false,
        // A middle click would otherwise try to open a link in a new window.
        disableBlinkFeatures: 'Auxclick',
        spellcheck: false,
        devTools: false,
      },
    });
    const id = w.webContents.id;
    this.ids.add(id);
    w.on('closed', () => this.ids.delete(id));
    return w;
  }
}
