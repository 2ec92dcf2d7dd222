// The agent's operational log (winston): JSON lines (timestamp, level, message, then any
// structured fields) in the log folder, size-capped with a total cap (platform/log-files.ts);
// the console only where someone watches it (development, the headless agent in a terminal).
// Every entry passes the redaction backstop (platform/redact.ts) first. It carries ids,
// states and error messages only — never event content or PHI; the audit trail is the
// audit store, not this log. Level and caps follow policy (`logging`), live.
import { createLogger, format, transports, type Logger, type transport } from 'winston';
import { CappedLogFile } from './log-files';
import { LOG_FILE_BYTES, LOG_FILE_COUNT, type LoggingPolicy, type LogLevel } from './logging-policy';
import { redactText, redactValue } from './redact';

export type { Logger };

/** triple-beam's MESSAGE: the finished line a transport writes. */
const MESSAGE = Symbol.for('message');

export interface AgentLoggerOptions {
  /** The log folder (AgentPaths.logDir); no file when absent. */
  readonly logDir?: string;
  readonly level?: LogLevel;
  /** Also print to the console. Off by default: the packaged app has no terminal to print to. */
  readonly console?: boolean;
  readonly maxFileBytes?: number;
  readonly maxFiles?: number;
}

const files = new WeakMap<Logger, CappedLogFile>();

type Entry = Record<string | symbol, unknown>;

/** Masks secrets in the message and in every structured field, before any transport sees them. */
const redact = format((info) => {
  const entry = info as Entry;
  const message = entry.message;
  entry.message = message instanceof Error ? redactText(message.message) : typeof message === 'string' ? redactText(message) : redactValue(message);
  for (const key of Object.keys(entry)) {
    if (key !== 'level' && key !== 'message') entry[key] = redactValue(entry[key], key);
  }
  return info;
});

/** One JSON object per line, in a fixed order a person can scan: timestamp, level, message, fields. */
const jsonLine = format((info) => {
  const { timestamp, level, message, ...fields } = info as Entry & { timestamp?: unknown; level: unknown; message: unknown };
  (info as Entry)[MESSAGE] = JSON.stringify({ timestamp, level, message, ...fields });
  return info;
});

export function createAgentLogger(opts: AgentLoggerOptions = {}): Logger {
  const sinks: transport[] = [];
  let file: CappedLogFile | null = null;
  if (opts.logDir) {
    file = new CappedLogFile({
      dir: opts.logDir,
      maxFileBytes: opts.maxFileBytes ?? LOG_FILE_BYTES.default,
      maxFiles: opts.maxFiles ?? LOG_FILE_COUNT.default,
      // Nowhere else to say it: the log itself is what failed.
      onProblem: (m) => process.stderr.write(`clinical-workstation-agent: ${m}\n`),
    });
    sinks.push(file.transport());
  }
  const toConsole = opts.console ?? false;
  // A silent console when there is nothing else: winston warns about a logger without transports.
  if (toConsole || sinks.length === 0) {
    sinks.push(new transports.Console({ silent: !toConsole, format: format.printf((i) => `${String(i.timestamp)} ${i.level} ${String(i.message)}`) }));
  }
  const logger = createLogger({
    level: opts.level ?? 'info',
    format: format.combine(redact(), format.timestamp(), jsonLine()),
    transports: sinks,
    exitOnError: false,
  });
  if (file) files.set(logger, file);
  return logger;
}

/** Applies the policy's level and file caps to a running logger (a policy change needs no restart). */
export function applyLoggingPolicy(logger: Logger, policy: LoggingPolicy): void {
  if (logger.level !== policy.level) logger.level = policy.level;
  files.get(logger)?.setLimits({ maxFileBytes: policy.maxFileBytes, maxFiles: policy.maxFiles });
}
