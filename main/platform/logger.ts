// The agent's operational log (winston): console plus a size-capped file in the data
// folder. It carries ids, states and error messages only — never event content or PHI;
// the audit trail is the audit store, not this log.
import { createLogger, format, transports, type Logger, type transport } from 'winston';
import { join } from 'node:path';

export type { Logger };

export function createAgentLogger(opts: { logDir?: string; level?: string; console?: boolean } = {}): Logger {
  const sinks: transport[] = [];
  // A silent console when asked for none: winston warns about a logger without transports.
  sinks.push(new transports.Console({ format: format.combine(format.timestamp(), format.printf((i) => `${String(i.timestamp)} ${i.level} ${String(i.message)}`)), silent: !(opts.console ?? true) }));
  if (opts.logDir) {
    sinks.push(new transports.File({ filename: join(opts.logDir, 'agent.log'), maxsize: 5 * 1024 * 1024, maxFiles: 5, tailable: true, format: format.combine(format.timestamp(), format.json()) }));
  }
  return createLogger({ level: opts.level ?? 'info', transports: sinks, exitOnError: false });
}
