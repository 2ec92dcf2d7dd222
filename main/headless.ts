// The agent without Electron: audit buffer, policy, forwarding and the status socket under
// plain Node (no lock window, no session enforcement). `npm start` uses it where no
// Electron binary is available; it is also how the forwarding path is demonstrated.
import { mkdirSync } from 'node:fs';
import { Agent, readAgentVersion } from './agent';
import { KeytarKeyStore } from './platform/keystore';
import { createAgentLogger } from './platform/logger';
import { defaultPaths } from './platform/paths';
import { startStatusServer } from './status/status-server';

async function main(): Promise<void> {
  const paths = defaultPaths();
  mkdirSync(paths.dataDir, { recursive: true, mode: 0o700 });
  const logger = createAgentLogger({ logDir: paths.logDir, console: true });
  const version = readAgentVersion();
  let agent: Agent;
  try {
    agent = await Agent.start({ version, paths, keyStore: new KeytarKeyStore(paths.keychainService), logger });
  } catch (err) {
    logger.error(`the agent cannot start: ${(err as Error).message}`);
    process.exitCode = 1;
    return;
  }
  const status = await startStatusServer(paths.statusSocket, () => agent.status());
  const s = agent.status();
  logger.info(`headless agent running: device ${s.deviceId}; audit buffer ${s.audit.count} events (${s.audit.unacknowledged} unacknowledged); ` +
    `upstream ${s.forwarding ? s.forwarding.lanes.map((l) => l.name).join(' + ') : s.upstreamProblem ? `not started (${s.upstreamProblem.message})` : 'none configured'}; status: agentctl status (socket ${paths.statusSocket})`);
  const shutdown = (signal: string) => {
    logger.info(`${signal}: stopping`);
    void Promise.allSettled([status.close(), agent.stop(`signal ${signal}`)]).then(() => process.exit(0));
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

void main();
