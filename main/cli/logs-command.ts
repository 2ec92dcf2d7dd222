// agentctl logs: the newest lines of the agent's operational log (the log folder's
// agent.log and its rotations), filtered by level, redacted again on the way out. Reads
// the files directly, so it works whether the agent runs or not.
import { accessSync, constants, existsSync } from 'node:fs';
import { isLogLevel, formatLogEntry, readRecentLogEntries } from '../platform/log-reader';
import { LOG_LEVELS } from '../platform/logging-policy';
import type { AgentPaths } from '../platform/paths';
import { CommandUsageError, countOption, parseCommandArgs, withUsage, type CommandIo } from './command-usage';

export const LOGS_USAGE = `  logs [--lines N] [--level L] [--json]
                                   The newest N lines of the agent's log (default 50, at most 5000), at level L
                                   (${LOG_LEVELS.join(', ')}) or more severe; --json prints the JSON lines.`;

export function runLogsCommand(args: readonly string[], io: CommandIo, paths: AgentPaths): Promise<number> {
  return withUsage(io, LOGS_USAGE, async () => {
    const values = parseCommandArgs(args, { lines: { type: 'string' }, level: { type: 'string' }, json: { type: 'boolean', default: false } });
    const lines = countOption('lines', values.lines, 50, 5000);
    const level = values.level ?? 'debug';
    if (!isLogLevel(level)) throw new CommandUsageError(`--level must be one of ${LOG_LEVELS.join(', ')} (got "${level.slice(0, 20)}")`);
    if (!existsSync(paths.logDir)) {
      io.err(`agentctl: there is no log folder at ${paths.logDir}: the agent has not run here yet, or logs elsewhere (CWA_LOG_DIR, CWA_DATA_DIR).`);
      return 2;
    }
    let entries;
    try {
      accessSync(paths.logDir, constants.R_OK | constants.X_OK);
      entries = readRecentLogEntries(paths.logDir, { lines, minLevel: level });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'EACCES' || code === 'EPERM' ? "permission denied: run as the agent's account or an administrator" : (err as Error).message;
      io.err(`agentctl: cannot read the log in ${paths.logDir}: ${why}.`);
      return 2;
    }
    if (values.json) {
      for (const e of entries) io.out(JSON.stringify({ timestamp: e.timestamp, level: e.level, message: e.message, ...e.fields }));
      return 0;
    }
    if (entries.length === 0) io.out(`No log lines at level ${level} or more severe in ${paths.logDir}.`);
    for (const e of entries) io.out(formatLogEntry(e));
    return 0;
  });
}
