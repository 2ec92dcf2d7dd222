// The log folder: its file names, and the sink winston's Stream transport writes each JSON
// line into. The sink appends synchronously and rotates by size (agent.log → agent1.log →
// … → agent{maxFiles-1}.log, the oldest deleted), so the folder never holds more than
// maxFileBytes × maxFiles.
//
// Why not winston's own File transport (maxsize + maxFiles + tailable)? Tried against
// winston 3.19: a burst larger than maxsize before its file has opened is lost and the
// transport never writes again; files overshoot maxsize by whatever was buffered during a
// rotation; the current file is briefly missing while it rotates; and lines still buffered
// when the process dies are lost — the lines the help desk needs after a crash. Appending
// synchronously costs microseconds per line at the agent's log volume and has none of that.
import { chmodSync, closeSync, fstatSync, mkdirSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { transports, type transport } from 'winston';

export const LOG_FILE_NAME = 'agent.log';

/** `agent.log`, `agent1.log`, … : the i-th file, 0 being the current one. */
export function logFileName(index: number): string {
  return index === 0 ? LOG_FILE_NAME : `agent${index}.log`;
}

function indexedLogFiles(dir: string): { readonly path: string; readonly index: number }[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .map((name) => ({ path: join(dir, name), index: name === LOG_FILE_NAME ? 0 : Number(/^agent([1-9]\d{0,3})\.log$/.exec(name)?.[1] ?? NaN) }))
    .filter((f) => Number.isInteger(f.index))
    .sort((a, b) => a.index - b.index);
}

/** The log files in `dir`, newest first (agent.log, agent1.log, ...), and only those. */
export function logFilesIn(dir: string): string[] {
  return indexedLogFiles(dir).map((f) => f.path);
}

export interface LogFileLimits {
  readonly maxFileBytes: number;
  readonly maxFiles: number;
}

export interface CappedLogFileOptions extends LogFileLimits {
  readonly dir: string;
  /** Told once per distinct problem (the folder is not writable...); logging itself never throws. */
  readonly onProblem?: (message: string) => void;
}

/** One write = one line (winston's Stream transport writes `${message}\n` per entry). */
export class CappedLogFile extends Writable {
  private fd: number | null = null;
  private size = 0;
  private limits: LogFileLimits;
  private lastProblem: string | null = null;

  constructor(private readonly o: CappedLogFileOptions) {
    super({ decodeStrings: true });
    this.limits = { maxFileBytes: o.maxFileBytes, maxFiles: o.maxFiles };
  }

  /** The winston transport writing into this file. */
  transport(): transport {
    return new transports.Stream({ stream: this, eol: '\n' });
  }

  get dir(): string {
    return this.o.dir;
  }

  /** New limits (a policy change): the next line obeys them; files beyond maxFiles go now. */
  setLimits(limits: LogFileLimits): void {
    this.limits = { maxFileBytes: limits.maxFileBytes, maxFiles: limits.maxFiles };
    this.dropBeyond(this.limits.maxFiles);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.append(chunk);
    done();
  }

  override _final(done: (err?: Error | null) => void): void {
    this.closeFile();
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.closeFile();
    done(err);
  }

  private closeFile(): void {
    if (this.fd !== null) {
      try {
        closeSync(this.fd);
      } catch {
        // already closed
      }
      this.fd = null;
    }
  }

  private append(bytes: Buffer): void {
    const { maxFileBytes } = this.limits;
    // A single line never exceeds one file: the cap is a promise to IT.
    const line = bytes.length <= maxFileBytes ? bytes : Buffer.concat([bytes.subarray(0, maxFileBytes - 1), Buffer.from('\n')]);
    try {
      if (this.fd === null) this.open();
      if (this.size > 0 && this.size + line.length > maxFileBytes) this.rotate();
      writeSync(this.fd!, line);
      this.size += line.length;
      this.lastProblem = null;
    } catch (err) {
      this.closeFile();
      this.problem(`the log file in ${this.o.dir} cannot be written: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }

  private open(): void {
    mkdirSync(this.o.dir, { recursive: true, mode: 0o700 });
    const path = join(this.o.dir, LOG_FILE_NAME);
    this.fd = openSync(path, 'a', 0o600);
    if (process.platform !== 'win32') chmodSync(path, 0o600);
    this.size = fstatSync(this.fd).size;
    this.dropBeyond(this.limits.maxFiles);
  }

  /** agent{n-1}.log is deleted, every other file moves up one, and a new agent.log starts. */
  private rotate(): void {
    this.closeFile();
    const { maxFiles } = this.limits;
    for (let i = maxFiles - 1; i >= 1; i--) {
      try {
        renameSync(join(this.o.dir, logFileName(i - 1)), join(this.o.dir, logFileName(i)));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    this.dropBeyond(maxFiles);
    this.open();
  }

  /** Deletes agent{n}.log and older: what a smaller maxFiles no longer allows. */
  private dropBeyond(maxFiles: number): void {
    for (const { path, index } of indexedLogFiles(this.o.dir)) {
      if (index >= maxFiles) {
        try {
          unlinkSync(path);
        } catch {
          // gone already
        }
      }
    }
  }

  private problem(message: string): void {
    if (message === this.lastProblem) return;
    this.lastProblem = message;
    this.o.onProblem?.(message);
  }
}
