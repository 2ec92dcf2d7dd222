// The tray: the state at a glance and the two things a user does from it (lock now, copy
// status for the help desk). The menu is rebuilt from the Agent's status snapshot.
import { clipboard, Menu, nativeImage, Tray } from 'electron';
import type { Agent } from '../agent';
import { formatStatus } from '../status/format-status';

const ICON = nativeImage.createFromDataURL(
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAYAAAAf8/9hAAAAKElEQVR42mNkYPhfz0AEYBxVSF2F/0eNqAepv4H6YGBgYGBgGFUIAgAAkJoM/0o5GJ4AAAAASUVORK5CYII=',
);

export class AgentTray {
  private readonly tray = new Tray(ICON);
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly agent: Agent) {
    this.tray.setToolTip('Clinical Workstation Agent');
    this.refresh();
    this.timer = setInterval(() => this.refresh(), 5000);
  }

  refresh(): void {
    const s = this.agent.status();
    const session = s.auth.emergency
      ? `EMERGENCY ACCESS — ${s.auth.emergency.user}`
      : s.session
        ? `${s.session.phase}${s.session.owner ? ` — ${s.session.owner}` : ''}`
        : 'no session';
    const upstream = s.forwarding ? `${s.forwarding.queueDepth} events waiting to upload` : 'no upstream configured';
    this.tray.setContextMenu(
      Menu.buildFromTemplate([
        { label: `Session: ${session}`, enabled: false },
        { label: `Audit: ${upstream}`, enabled: false },
        { type: 'separator' },
        { label: 'Lock now', click: () => void this.agent.dispatch({ type: 'manual-lock', via: 'tray' }) },
        { label: 'Copy status for the help desk', click: () => clipboard.writeText(formatStatus(this.agent.status()).join('\n')) },
      ]),
    );
  }

  dispose(): void {
    clearInterval(this.timer);
    this.tray.destroy();
  }
}
