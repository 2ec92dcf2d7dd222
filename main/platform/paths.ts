// Per-OS locations of the agent's machine-wide files. Users cannot write these folders;
// IT deploys the policy file there. Env overrides exist for development and tests
// (CWA_DATA_DIR, CWA_LOG_DIR, CWA_AUDIT_DB, CWA_POLICY_FILE, CWA_STATUS_SOCKET, CWA_KEYCHAIN_SERVICE).
import { join } from 'node:path';

export interface AgentPaths {
  readonly dataDir: string;
  /**
   * The operational log (agent.log and its rotations): the data folder's `logs` subfolder on
   * every OS. The agent runs in each user's session on a shared machine, but its log, like
   * its audit buffer, belongs to the workstation: one folder the installer permissions once,
   * that agentctl and the help desk find without knowing who was signed in.
   */
  readonly logDir: string;
  readonly auditDb: string;
  readonly policyFile: string;
  /** Local status socket (named pipe on Windows). */
  readonly statusSocket: string;
  /** OS keychain service name holding the device and database keys. */
  readonly keychainService: string;
}

export const APP_DIR_NAME = 'ClinicalWorkstationAgent';
export const DEFAULT_KEYCHAIN_SERVICE = 'clinical-workstation-agent';

export function defaultPaths(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): AgentPaths {
  let dataDir: string;
  let policyFile: string;
  let statusSocket: string;
  switch (platform) {
    case 'win32': {
      const programData = env.ProgramData ?? 'C:\\ProgramData';
      dataDir = `${programData}\\${APP_DIR_NAME}`;
      policyFile = `${dataDir}\\policy.json`;
      statusSocket = '\\\\.\\pipe\\clinical-workstation-agent-status';
      break;
    }
    case 'darwin':
      dataDir = `/Library/Application Support/${APP_DIR_NAME}`;
      policyFile = `${dataDir}/policy.json`;
      statusSocket = `${dataDir}/status.sock`;
      break;
    default:
      dataDir = '/var/lib/clinical-workstation-agent';
      policyFile = '/etc/clinical-workstation-agent/policy.json';
      statusSocket = '/run/clinical-workstation-agent/status.sock';
  }
  if (env.CWA_DATA_DIR) {
    dataDir = env.CWA_DATA_DIR;
    statusSocket = platform === 'win32' ? statusSocket : join(dataDir, 'status.sock');
  }
  const sep = platform === 'win32' ? '\\' : '/';
  return {
    dataDir,
    logDir: env.CWA_LOG_DIR ?? `${dataDir}${sep}logs`,
    auditDb: env.CWA_AUDIT_DB ?? `${dataDir}${sep}audit.db`,
    policyFile: env.CWA_POLICY_FILE ?? policyFile,
    statusSocket: env.CWA_STATUS_SOCKET ?? statusSocket,
    keychainService: env.CWA_KEYCHAIN_SERVICE ?? DEFAULT_KEYCHAIN_SERVICE,
  };
}
