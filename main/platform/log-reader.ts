// Reads the newest entries of the operational log (agent.log and its rotations) for
// `agentctl logs` and the diagnostics bundle: from the end backwards, so a full 256 MiB
// file costs only the lines asked for. Each entry is redacted again on the way out: a log
// written by an older agent, or edited by hand, gets the same backstop.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { logFilesIn } from './log-files';
import { redactText, redactValue } from './redact';
import { LOG_LEVELS, type LogLevel } from './logging-policy';

export interface LogEntry {
  readonly timestamp: string | null;
  readonly level: string;
  readonly message: string;
  /** Structured fields besides the three above. */
  readonly fields: Readonly<Record<string, unknown>>;
}

const CHUNK = 64 * 1024;

/** Lower is more severe; winston's npm levels (http, verbose, silly) slot in between. */
const SEVERITY: Readonly<Record<string, number>> = { error: 0, warn: 1, info: 2, http: 3, verbose: 4, debug: 5, silly: 6 };

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

/** Lines of one file, newest first, read backwards in chunks as the caller asks for more. */
function* linesBackwards(path: string): Generator<string> {
  const fd = openSync(path, 'r');
  try {
    let pos = fstatSync(fd).size;
    let rest = Buffer.alloc(0);
    while (pos > 0) {
      const size = Math.min(CHUNK, pos);
      pos -= size;
      const chunk = Buffer.alloc(size);
      readSync(fd, chunk, 0, size, pos);
      let buf = Buffer.concat([chunk, rest]);
      let nl = buf.lastIndexOf(0x0a);
      while (nl !== -1) {
        const line = buf.subarray(nl + 1).toString('utf8');
        if (line.trim() !== '') yield line;
        buf = buf.subarray(0, nl);
        nl = buf.lastIndexOf(0x0a);
      }
      rest = buf;
    }
    const first = rest.toString('utf8');
    if (first.trim() !== '') yield first;
  } finally {
    closeSync(fd);
  }
}

export function parseLogLine(line: string): LogEntry {
  try {
    const o = JSON.parse(line) as unknown;
    if (o !== null && typeof o === 'object' && !Array.isArray(o)) {
      const { timestamp, level, message, ...fields } = redactValue(o) as Record<string, unknown>;
      return {
        timestamp: typeof timestamp === 'string' ? timestamp : null,
        level: typeof level === 'string' ? level : 'info',
        message: typeof message === 'string' ? message : JSON.stringify(message ?? null),
        fields,
      };
    }
  } catch {
    // not JSON: kept as a plain message below
  }
  return { timestamp: null, level: 'info', message: redactText(line), fields: {} };
}

/**
 * The newest `lines` entries at `minLevel` or more severe, oldest first. A file rotated
 * away while it is read is read again from the new listing.
 */
export function readRecentLogEntries(dir: string, opts: { readonly lines: number; readonly minLevel?: LogLevel }): LogEntry[] {
  const max = SEVERITY[opts.minLevel ?? 'debug'] ?? 5;
  for (let attempt = 0; ; attempt++) {
    const out: LogEntry[] = [];
    try {
      for (const path of logFilesIn(dir)) {
        for (const line of linesBackwards(path)) {
          const entry = parseLogLine(line);
          if ((SEVERITY[entry.level] ?? 2) > max) continue;
          out.push(entry);
          if (out.length >= opts.lines) return out.reverse();
        }
      }
      return out.reverse();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 2) throw err;
    }
  }
}

/** `2026-11-30T08:59:50.123Z WARN  directory: ...  {"field":1}` */
export function formatLogEntry(e: LogEntry): string {
  const fields = Object.keys(e.fields).length > 0 ? `  ${JSON.stringify(e.fields)}` : '';
  return `${e.timestamp ?? '-'} ${e.level.toUpperCase().padEnd(5)} ${e.message}${fields}`;
}
