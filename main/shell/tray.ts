// The tray: the state at a glance (icon and tooltip per state, from main/status/tray-model)
// and the menu: Lock now, Agent status…, Copy status for the help desk, About. Redrawn when
// the state changes, checked every two seconds and at every lock-screen view.
import { clipboard, dialog, Menu, nativeImage, Tray, type MenuItemConstructorOptions, type NativeImage } from 'electron';
import type { Agent } from '../agent';
import { formatStatus } from '../status/format-status';
import { trayIconPng, trayModel, type TrayModel, type TrayState } from '../status/tray-model';

const ACTION_LABELS: Readonly<Record<TrayModel['actions'][number], string>> = {
  'lock-now': 'Lock now',
  status: 'Agent status…',
  'copy-status': 'Copy status for the help desk',
  about: 'About Clinical Workstation Agent',
};

export class AgentTray {
  private readonly icons = new Map<TrayState, NativeImage>();
  private readonly tray: Tray;
  private readonly timer: NodeJS.Timeout;
  private shown = '';

  constructor(
    private readonly agent: Agent,
    private readonly openStatus: () => void,
  ) {
    this.tray = new Tray(this.icon('locked'));
    this.refresh();
    this.timer = setInterval(() => this.refresh(), 2000);
  }

  refresh(): void {
    const model = trayModel(this.agent.status());
    const key = JSON.stringify(model);
    if (key === this.shown) return;
    this.shown = key;
    this.tray.setImage(this.icon(model.state));
    this.tray.setToolTip(model.tooltip);
    const items: MenuItemConstructorOptions[] = [
      ...model.lines.map((label) => ({ label, enabled: false })),
      { type: 'separator' },
      ...model.actions.map((action) => ({ label: ACTION_LABELS[action], click: () => this.act(action) })),
    ];
    this.tray.setContextMenu(Menu.buildFromTemplate(items));
  }

  dispose(): void {
    clearInterval(this.timer);
    this.tray.destroy();
  }

  private act(action: TrayModel['actions'][number]): void {
    switch (action) {
      case 'lock-now':
        void this.agent.dispatch({ type: 'manual-lock', via: 'tray' });
        return;
      case 'status':
        this.openStatus();
        return;
      case 'copy-status':
        clipboard.writeText(formatStatus(this.agent.status()).join('\n'));
        return;
      case 'about': {
        const s = this.agent.status();
        void dialog.showMessageBox({
          type: 'info',
          title: 'About Clinical Workstation Agent',
          message: `Clinical Workstation Agent ${s.version}`,
          detail: `Device ${s.deviceId}\nPolicy: ${s.policy.source}`,
          buttons: ['OK'],
        });
        return;
      }
    }
  }

  private icon(state: TrayState): NativeImage {
    let image = this.icons.get(state);
    if (!image) {
      // 32 px drawn at 2x for high-density displays, shown at 16 px.
      image = nativeImage.createFromBuffer(trayIconPng(state, 32), { scaleFactor: 2 });
      this.icons.set(state, image);
    }
    return image;
  }
}
