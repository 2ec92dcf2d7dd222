// Electron entry, the composition root: builds the Agent with the Electron adapters
// (powerMonitor idle source, lock windows, OS session commands) and the tray. Everything
// else lives in main/agent.ts and runs under plain Node too.
import { app, dialog, Menu, powerMonitor } from 'electron';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, readAgentVersion } from './agent';
import { agentHandlers } from './agent-handlers';
import { DEFAULT_AGENT_POLICY } from './policy/schema';
import { CommandOsSession } from './platform/os-session';
import { systemClock } from './platform/clock';
import { DbusIdleSource } from './platform/dbus-idle-source';
import { FallbackIdleSource } from './platform/fallback-idle-source';
import { SuspendAwareClock } from './platform/suspend-aware-clock';
import { KeytarKeyStore } from './platform/keystore';
import { createAgentLogger } from './platform/logger';
import { defaultPaths } from './platform/paths';
import type { IdleSource } from './session/ports';
import { registerIpc } from './shell/ipc';
import { LockWindows } from './shell/lock-windows';
import { OwnWindows } from './shell/page-window';
import { handlePages } from './shell/pages-protocol';
import { PowerMonitorIdleSource } from './shell/power-idle-source';
import { applySecurityBaseline } from './shell/security';
import { StatusWindow } from './shell/status-window';
import { AgentTray } from './shell/tray';
import { startStatusServer, type StatusServer } from './status/status-server';
import { isSuperviseRun, logSupervisorEvents, superviseArgs, Supervisor } from './platform/supervisor';

async function main(): Promise<void> {
  await app.whenReady();
  // No application menu: its Quit accelerator (Cmd+Q, Ctrl+Q) would take the lock down.
  Menu.setApplicationMenu(null);
  // The pages origin comes from policy once the agent runs; until then the default.
  let agentRef: Agent | null = null;
  const origin = () => (agentRef ? agentRef.policy().auth.origin : DEFAULT_AGENT_POLICY.auth.origin);
  applySecurityBaseline(origin);
  handlePages(join(__dirname, '../pages'), origin);
  const paths = defaultPaths();
  mkdirSync(paths.dataDir, { recursive: true, mode: 0o700 });
  const logger = createAgentLogger({ logDir: paths.logDir, console: !app.isPackaged });
  const version = readAgentVersion();
  const own = new OwnWindows();
  const presenter = new LockWindows(own, origin, (m) => logger.info(m));
  const statusWindow = new StatusWindow(own, origin);
  // A second launch (a nurse double-clicking the app, the login item racing the installer)
  // opens the status window of the one running agent.
  app.on('second-instance', () => statusWindow.open());
  // Registered before the Agent's own power listeners, so time asleep is counted first.
  const clock = new SuspendAwareClock(systemClock);
  powerMonitor.on('suspend', () => clock.noteSuspend());
  powerMonitor.on('resume', () => clock.noteResume());
  const idle = await idleSource(clock, (m) => logger.warn(m));
  let agent: Agent;
  try {
    agent = await Agent.start({
      version,
      paths,
      keyStore: new KeytarKeyStore(paths.keychainService),
      logger,
      clock,
      session: { idle: idle.idle, presenter, os: new CommandOsSession() },
    });
  } catch (err) {
    // Fail closed and say why; the help desk reads this in the log and the dialog.
    logger.error(`the agent cannot start: ${(err as Error).message}`);
    fail(err);
    return;
  }
  agentRef = agent;
  agent.onLockView((view) => presenter.sendLockView(view));
  agent.onEnrolView((view) => presenter.sendEnrolView(view));
  registerIpc({
    handlers: agentHandlers(agent),
    origin,
    ownWindows: () => own.trusted(),
    onRefused: (why, channel) => logger.warn(`IPC refused on ${channel}: ${why}`),
  });
  const tray = new AgentTray(agent, () => statusWindow.open());
  agent.onLockView(() => tray.refresh());
  let status: StatusServer | null = null;
  try {
    status = await startStatusServer(paths.statusSocket, () => agent.status());
  } catch (err) {
    logger.warn(`status socket not started: ${(err as Error).message}`);
  }
  powerMonitor.on('resume', () => agent.networkChanged());
  app.on('window-all-closed', () => {
    // A tray agent keeps running without windows.
  });
  // A user cannot quit the agent (that would take the lock down); the OS shutting down, a
  // service manager's SIGTERM, or the installer may.
  let quitAllowed = false;
  let quitting = false;
  const allowQuit = (why: string): void => {
    logger.info(`quitting: ${why}`);
    quitAllowed = true;
    app.quit();
  };
  powerMonitor.on('shutdown', () => allowQuit('the OS is shutting down'));
  process.on('SIGTERM', () => allowQuit('SIGTERM'));
  app.on('before-quit', (event) => {
    event.preventDefault();
    if (!quitAllowed) {
      logger.warn('a request to quit the agent was refused: the agent keeps the workstation locked and audited');
      return;
    }
    if (quitting) return;
    quitting = true;
    tray.dispose();
    statusWindow.dispose();
    idle.dispose();
    void Promise.allSettled([status?.close(), agent.stop('application quit')]).then(() => {
      presenter.dispose();
      app.exit(0);
    });
  });
}

/**
 * Linux: idle time and screen lock over D-Bus, since powerMonitor reads 0 on native Wayland
 * and has no lock events there (DESIGN.md), with powerMonitor's idle time while no D-Bus
 * source answers; elsewhere powerMonitor.
 */
async function idleSource(clock: SuspendAwareClock, warn: (message: string) => void): Promise<{ idle: IdleSource; dispose(): void }> {
  const power = new PowerMonitorIdleSource(clock);
  if (process.platform !== 'linux') return { idle: power, dispose: () => undefined };
  const dbus = new DbusIdleSource({ clock, onProblem: warn });
  await dbus.start();
  if (dbus.source === null) {
    const wayland = process.env.XDG_SESSION_TYPE === 'wayland';
    warn(
      `no D-Bus idle source answers (GNOME Mutter, org.freedesktop.ScreenSaver, logind): idle time from Electron until one does` +
        (wayland ? '; on Wayland that reads 0, so inactivity will not lock the session. Run a desktop that provides one of these services.' : ''),
    );
  }
  return { idle: new FallbackIdleSource(dbus, power), dispose: () => dbus.dispose() };
}

function fail(err: unknown): void {
  // Fail closed and say why; the help desk reads this in the dialog and the log.
  const message = err instanceof Error ? err.message : String(err);
  try {
    dialog.showErrorBox('Clinical Workstation Agent cannot start', message);
  } finally {
    app.exit(1);
  }
}

/**
 * The --supervise process (Windows: the machine-wide Run entry the MSI writes; Linux: the
 * XDG autostart entry where there is no systemd user session): no window, no tray, no
 * single-instance lock (its child, the agent, takes that); it runs the agent and starts it
 * again after a crash. macOS's LaunchAgent and Linux's systemd user unit restart it themselves.
 */
function superviseAgent(): void {
  const paths = defaultPaths();
  // Its own log file beside the agent's: two processes must not rotate one winston file.
  const logDir = join(paths.dataDir, 'supervisor');
  mkdirSync(logDir, { recursive: true, mode: 0o700 });
  const supervisor = new Supervisor({
    command: process.execPath,
    args: superviseArgs(process.argv.slice(1)),
    onEvent: logSupervisorEvents(createAgentLogger({ logDir })),
  });
  // The session ending, or IT stopping the supervisor, stops the agent first (SIGTERM: it quits cleanly).
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => void supervisor.stop());
  app.on('before-quit', (event) => {
    event.preventDefault();
    void supervisor.stop();
  });
  void supervisor.ended.then(() => app.exit(0));
  supervisor.start();
}

if (isSuperviseRun(process.argv)) {
  superviseAgent();
} else {
  if (!app.requestSingleInstanceLock()) app.exit(0);
  main().catch(fail);
}
