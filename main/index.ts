// Electron entry, the composition root: builds the Agent with the Electron adapters
// (powerMonitor idle source, lock windows, OS session commands) and the tray. Everything
// else lives in main/agent.ts and runs under plain Node too.
import { app, dialog, ipcMain, Menu, powerMonitor } from 'electron';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, readAgentVersion } from './agent';
import { agentHandlers, handleRequest } from './agent-handlers';
import { REQUEST_CHANNELS } from '../preload/contract';
import { DEFAULT_AGENT_POLICY } from './policy/schema';
import { CommandOsSession } from './platform/os-session';
import { systemClock } from './platform/clock';
import { SuspendAwareClock } from './platform/suspend-aware-clock';
import { KeytarKeyStore } from './platform/keystore';
import { createAgentLogger } from './platform/logger';
import { defaultPaths } from './platform/paths';
import { LockWindows } from './shell/lock-windows';
import { handlePages } from './shell/pages-protocol';
import { PowerMonitorIdleSource } from './shell/power-idle-source';
import { applySecurityBaseline, isTrustedSender } from './shell/security';
import { AgentTray } from './shell/tray';
import { startStatusServer, type StatusServer } from './status/status-server';

if (!app.requestSingleInstanceLock()) app.exit(0);

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
  const logger = createAgentLogger({ logDir: paths.dataDir });
  const version = readAgentVersion();
  const presenter = new LockWindows(origin);
  // Registered before the Agent's own power listeners, so time asleep is counted first.
  const clock = new SuspendAwareClock(systemClock);
  powerMonitor.on('suspend', () => clock.noteSuspend());
  powerMonitor.on('resume', () => clock.noteResume());
  let agent: Agent;
  try {
    agent = await Agent.start({
      version,
      paths,
      keyStore: new KeytarKeyStore(paths.keychainService),
      logger,
      clock,
      session: { idle: new PowerMonitorIdleSource(clock), presenter, os: new CommandOsSession() },
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
  const handlers = agentHandlers(agent);
  for (const channel of REQUEST_CHANNELS) {
    ipcMain.handle(channel, (event, payload: unknown) =>
      isTrustedSender(event, origin()) ? handleRequest(handlers, channel, payload) : { ok: false, error: 'refused: not one of the agent pages' },
    );
  }
  const tray = new AgentTray(agent);
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
    void Promise.allSettled([status?.close(), agent.stop('application quit')]).then(() => {
      presenter.dispose();
      app.exit(0);
    });
  });
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

main().catch(fail);
