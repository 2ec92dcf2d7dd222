// The lock windows: one frameless, always-on-top, content-protected, sandboxed window per
// display showing the lock page on the agent's origin, kept in step as displays come and
// go, holding keyboard focus while locked (a badge reader types into whatever has focus).
// The idle warning while unlocked is its own small window (warning-window.ts). The lock
// screen (main/auth) decides what they show; this adapter puts them up and takes them down.
import { BrowserWindow, screen, type Display } from 'electron';
import type { EnrolView, LockView, Sequenced } from '../../preload/contract';
import type { Disposable } from '../disposable';
import type { LockPresenter } from '../session/ports';
import type { OwnWindows } from './page-window';
import { pageUrl } from './pages-protocol';
import { WarningWindow } from './warning-window';
import { displayAt, planDisplays, shouldReclaimFocus, type DisplayInfo, type Rect } from './window-layout';

/** How long focus may sit elsewhere before the lock takes it back (lets a click between displays land). */
const RECLAIM_AFTER_MS = 300;

export class LockWindows implements LockPresenter, Disposable {
  private readonly windows = new Map<number, BrowserWindow>();
  private readonly warning: WarningWindow;
  private locked = false;
  private lastView: Sequenced<LockView> | null = null;
  private lastEnrolView: Sequenced<EnrolView> | null = null;
  private reclaimTimer: NodeJS.Timeout | null = null;
  private readonly onDisplays = (): void => void this.reconcile();

  constructor(
    private readonly own: OwnWindows,
    private readonly origin: () => string,
    private readonly log: (message: string) => void = () => undefined,
  ) {
    this.warning = new WarningWindow(own, origin);
    screen.on('display-added', this.onDisplays);
    screen.on('display-removed', this.onDisplays);
    screen.on('display-metrics-changed', this.onDisplays);
  }

  async showLock(): Promise<void> {
    this.locked = true;
    this.warning.hide();
    const loading = this.reconcile();
    // Cover every display at once, before the page has loaded: the opaque window is the lock.
    for (const w of this.windows.values()) w.show();
    this.focusDisplayInUse();
    await loading;
  }

  async hideLock(): Promise<void> {
    this.locked = false;
    this.clearReclaim();
    for (const w of this.windows.values()) w.destroy();
    this.windows.clear();
  }

  showWarning(): void {
    if (!this.locked) this.warning.show();
  }

  hideWarning(): void {
    this.warning.hide();
  }

  requestFactor(): void {
    // The view that follows says which factor; see sendLockView.
  }

  sendLockView(view: Sequenced<LockView>): void {
    this.lastView = view;
    this.send('lock:view', view);
    this.warning.sendLockView(view);
  }

  sendEnrolView(view: Sequenced<EnrolView>): void {
    this.lastEnrolView = view;
    this.send('enroll:view', view);
  }

  dispose(): void {
    screen.off('display-added', this.onDisplays);
    screen.off('display-removed', this.onDisplays);
    screen.off('display-metrics-changed', this.onDisplays);
    this.clearReclaim();
    for (const w of this.windows.values()) w.destroy();
    this.windows.clear();
    this.warning.dispose();
  }

  /** One window per display while locked; the returned promise settles when new pages have loaded. */
  private reconcile(): Promise<void> {
    if (!this.locked) return Promise.resolve();
    const current = new Map<number, Rect>();
    for (const [id, w] of this.windows) current.set(id, w.getBounds());
    const displays = screen.getAllDisplays().map(info);
    const plan = planDisplays(current, displays);
    for (const id of plan.remove) {
      this.windows.get(id)?.destroy();
      this.windows.delete(id);
    }
    for (const d of plan.move) this.windows.get(d.id)?.setBounds(d.bounds);
    if (plan.create.length > 0 || plan.remove.length > 0) this.log(`lock windows: ${displays.length} display(s), ${plan.create.length} added, ${plan.remove.length} removed`);
    const loads = plan.create.map((d) => this.open(d));
    return Promise.all(loads).then(() => undefined);
  }

  private open(display: DisplayInfo): Promise<void> {
    const w = this.own.open({
      ...display.bounds,
      frame: false,
      show: this.locked,
      kiosk: true,
      alwaysOnTop: true,
      skipTaskbar: true,
      movable: false,
      resizable: false,
      minimizable: false,
      maximizable: false,
      closable: false,
      fullscreenable: true,
      title: 'Workstation locked',
      backgroundColor: '#0b1f33',
    });
    w.setAlwaysOnTop(true, 'screen-saver');
    w.setContentProtection(true);
    w.setVisibleOnAllWorkspaces(true, { visibleOnFullScreen: true });
    // No escape while locked: not by closing, minimising or leaving full screen.
    w.on('close', (event) => {
      if (this.locked) event.preventDefault();
    });
    w.on('minimize', () => {
      if (this.locked) w.restore();
    });
    w.on('leave-full-screen', () => {
      if (this.locked) w.setBounds(display.bounds);
    });
    w.on('blur', () => this.scheduleReclaim());
    w.on('closed', () => {
      if (this.windows.get(display.id) === w) this.windows.delete(display.id);
    });
    this.windows.set(display.id, w);
    return w.loadURL(pageUrl(this.origin(), 'lock')).then(
      () => {
        if (w.isDestroyed()) return;
        if (this.lastView) w.webContents.send('lock:view', this.lastView);
      },
      (err: unknown) => this.log(`lock page did not load: ${(err as Error).message}`),
    );
  }

  private scheduleReclaim(): void {
    this.clearReclaim();
    this.reclaimTimer = setTimeout(() => {
      this.reclaimTimer = null;
      const focused = BrowserWindow.getFocusedWindow();
      const focusIsOurs = focused !== null && [...this.windows.values()].includes(focused);
      if (shouldReclaimFocus({ locked: this.locked, focusIsOurs, keyCeremony: this.keyCeremony() })) this.focusDisplayInUse();
    }, RECLAIM_AFTER_MS);
  }

  private clearReclaim(): void {
    if (this.reclaimTimer) clearTimeout(this.reclaimTimer);
    this.reclaimTimer = null;
  }

  private keyCeremony(): boolean {
    const enrol = this.lastEnrolView;
    return (
      this.lastView?.screen === 'fido2' ||
      (enrol !== null && (enrol.screen === 'subject-key' || (enrol.screen === 'enroller-factor' && enrol.factor.screen === 'fido2')))
    );
  }

  private focusDisplayInUse(): void {
    const displays = screen.getAllDisplays().map(info);
    const target = displayAt(displays, screen.getCursorScreenPoint());
    const w = (target && this.windows.get(target.id)) ?? this.windows.values().next().value;
    if (w && !w.isDestroyed()) {
      w.show();
      w.focus();
      w.webContents.focus();
    }
  }

  private send(channel: string, payload: unknown): void {
    for (const w of this.windows.values()) if (!w.isDestroyed()) w.webContents.send(channel, payload);
  }
}

function info(d: Display): DisplayInfo {
  return { id: d.id, bounds: d.bounds, workArea: d.workArea };
}
