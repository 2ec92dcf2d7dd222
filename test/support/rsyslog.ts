// A real rsyslogd for tests and benchmarks, started in the foreground with its own config,
// pid file, work directory and an ephemeral port on 127.0.0.1 (never the system rsyslog):
// a syslog/TLS receiver (imtcp + gtls, x509/name, client certificates required) that writes
// what it parsed to a file, or a forwarder (plain imtcp in, omfwd + gtls out through a
// disk-assisted queue). Every instance is stopped by its owner: SIGTERM, then SIGKILL.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

export interface RsyslogTlsFiles {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

export interface RsyslogReceiverOptions extends RsyslogTlsFiles {
  /** Client certificate names (SAN dNSName or CN) allowed to send: x509/name. */
  readonly permittedPeers: readonly string[];
}

export interface RsyslogForwarderOptions extends RsyslogTlsFiles {
  /** The receiver to forward to over TLS, and the name its certificate must carry. */
  readonly targetPort: number;
  readonly targetName: string;
}

/** How the receiver writes each message it parsed: RFC 5424 re-rendered from the parsed fields. */
const OUTPUT_TEMPLATE = 'RSYSLOG_SyslogProtocol23Format';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('freePort: no TCP address');
  return address.port;
}

const q = (s: string): string => JSON.stringify(s);

function receiverConfig(dir: string, port: number, o: RsyslogReceiverOptions): string {
  return `
global(maxMessageSize="64k")
global(workDirectory=${q(dir)} processInternalMessages="on"
  defaultNetstreamDriver="gtls"
  defaultNetstreamDriverCAFile=${q(o.caFile)}
  defaultNetstreamDriverCertFile=${q(o.certFile)}
  defaultNetstreamDriverKeyFile=${q(o.keyFile)})
module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="x509/name"
  PermittedPeer=[${o.permittedPeers.map(q).join(', ')}])
input(type="imtcp" port="${port}" address="127.0.0.1" ruleset="audit")
ruleset(name="audit") {
  action(type="omfile" file=${q(join(dir, 'messages.log'))} template="${OUTPUT_TEMPLATE}")
}
action(type="omfile" file=${q(join(dir, 'internal.log'))})
`;
}

function forwarderConfig(dir: string, port: number, o: RsyslogForwarderOptions): string {
  return `
global(maxMessageSize="64k")
global(workDirectory=${q(dir)} processInternalMessages="on"
  defaultNetstreamDriverCAFile=${q(o.caFile)}
  defaultNetstreamDriverCertFile=${q(o.certFile)}
  defaultNetstreamDriverKeyFile=${q(o.keyFile)})
module(load="imtcp")
input(type="imtcp" port="${port}" address="127.0.0.1" ruleset="forward")
ruleset(name="forward") {
  action(type="omfwd" target="127.0.0.1" port="${o.targetPort}" protocol="tcp"
    StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="x509/name" StreamDriverPermittedPeers=${q(o.targetName)}
    TCP_Framing="octet-counted" template="${OUTPUT_TEMPLATE}"
    queue.type="LinkedList" queue.filename="forward-queue" queue.saveOnShutdown="on"
    action.resumeRetryCount="-1" action.resumeInterval="1")
}
action(type="omfile" file=${q(join(dir, 'internal.log'))})
`;
}

export class Rsyslog {
  private exited: Promise<void>;
  private countedBytes = 0;
  private countedLines = 0;
  private countBuffer: Buffer | undefined;

  private child: ChildProcess;
  private stderrTail = '';

  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {
    this.child = this.spawn();
    this.exited = this.exitOf(this.child);
  }

  private spawn(): ChildProcess {
    const child = spawn('rsyslogd', ['-n', '-f', join(this.dir, 'rsyslog.conf'), '-i', join(this.dir, 'rsyslogd.pid')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (this.stderrTail = (this.stderrTail + d).slice(-4000)));
    return child;
  }

  private exitOf(child: ChildProcess): Promise<void> {
    return new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
  }

  private stderr(): string {
    return this.stderrTail;
  }

  /** Stops rsyslogd and starts it again with the same config and port (its files stay). */
  async restart(): Promise<void> {
    await this.stop();
    this.child = this.spawn();
    this.exited = this.exitOf(this.child);
    await this.waitUntilListening(10_000);
  }

  /** The file the receiver writes, one RFC 5424 message per line. */
  get messagesFile(): string {
    return join(this.dir, 'messages.log');
  }

  get internalFile(): string {
    return join(this.dir, 'internal.log');
  }

  static startReceiver(options: RsyslogReceiverOptions): Promise<Rsyslog> {
    return Rsyslog.start('receiver', (dir, port) => receiverConfig(dir, port, options));
  }

  static startForwarder(options: RsyslogForwarderOptions): Promise<Rsyslog> {
    return Rsyslog.start('forwarder', (dir, port) => forwarderConfig(dir, port, options));
  }

  private static async start(kind: string, config: (dir: string, port: number) => string): Promise<Rsyslog> {
    let lastError: unknown;
    // The free port may be taken between probing and rsyslog binding it: try a few.
    for (let attempt = 0; attempt < 3; attempt++) {
      const dir = mkdtempSync(join(tmpdir(), `cwa-rsyslog-${kind}-`));
      const port = await freePort();
      const conf = join(dir, 'rsyslog.conf');
      writeFileSync(conf, config(dir, port));
      const instance = new Rsyslog(dir, port);
      try {
        await instance.waitUntilListening(10_000);
        return instance;
      } catch (e) {
        lastError = e;
        await instance.dispose();
      }
    }
    throw lastError;
  }

  private async waitUntilListening(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let spawnError: Error | undefined;
    this.child.once('error', (e) => (spawnError = e));
    while (Date.now() < deadline) {
      if (spawnError) throw new Error(`rsyslogd could not be started (${spawnError.message}); install rsyslog and rsyslog-gnutls`);
      if (this.child.exitCode !== null) {
        throw new Error(`rsyslogd exited with ${this.child.exitCode}: ${this.stderr()}\n${this.internalLog()}`);
      }
      const open = await new Promise<boolean>((resolve) => {
        const s = netConnect({ host: '127.0.0.1', port: this.port });
        s.once('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      });
      if (open) return;
      await delay(25);
    }
    throw new Error(`rsyslogd did not listen on 127.0.0.1:${this.port} within ${timeoutMs} ms: ${this.stderr()}\n${this.internalLog()}`);
  }

  internalLog(): string {
    try {
      return readFileSync(this.internalFile, 'utf8');
    } catch {
      return '';
    }
  }

  /** The complete lines of the messages file: a last line rsyslog is still writing (no newline yet) is left out. */
  messages(): string[] {
    let text: string;
    try {
      text = readFileSync(this.messagesFile, 'utf8');
    } catch {
      return [];
    }
    const end = text.lastIndexOf('\n');
    return end === -1 ? [] : text.slice(0, end).split('\n');
  }

  /** Lines in the messages file, counted incrementally (cheap enough to poll on 50 MB). */
  messageCount(): number {
    let size: number;
    try {
      size = statSync(this.messagesFile).size;
    } catch {
      return 0;
    }
    if (size > this.countedBytes) {
      const fd = openSync(this.messagesFile, 'r');
      try {
        // One read buffer for all polls: the benchmark polls every 2 ms on the machine it
        // measures, and a fresh 1 MB buffer per poll costs 256 page faults.
        const buf = (this.countBuffer ??= Buffer.allocUnsafeSlow(1 << 20));
        while (this.countedBytes < size) {
          const n = readSync(fd, buf, 0, Math.min(buf.length, size - this.countedBytes), this.countedBytes);
          if (n === 0) break;
          const read = buf.subarray(0, n);
          for (let i = read.indexOf(0x0a); i !== -1; i = read.indexOf(0x0a, i + 1)) this.countedLines++;
          this.countedBytes += n;
        }
      } finally {
        closeSync(fd);
      }
    }
    return this.countedLines;
  }

  /** Resolves once the messages file holds at least `n` lines; polls, bounded by `timeoutMs`. */
  async waitForMessages(n: number, timeoutMs: number, pollMs = 10): Promise<void> {
    await this.waitForMessagesOrStall(n, { stallMs: Infinity, timeoutMs, pollMs });
  }

  /**
   * Waits for the messages file to hold `n` lines, or for it to stop growing for `stallMs`
   * (a forwarder that lost messages on the way): the count reached, and when it last grew
   * (performance.now()). Throws only after `timeoutMs` in all, or if rsyslogd exited.
   */
  async waitForMessagesOrStall(n: number, opts: { stallMs: number; timeoutMs: number; pollMs: number }): Promise<{ count: number; lastGrowthAt: number }> {
    const deadline = Date.now() + opts.timeoutMs;
    let count = this.messageCount();
    let lastGrowthAt = performance.now();
    while (count < n) {
      if (Date.now() > deadline) throw new Error(`rsyslog wrote ${count} of ${n} messages within ${opts.timeoutMs} ms\n${this.internalLog()}`);
      if (this.child.exitCode !== null) throw new Error(`rsyslogd exited with ${this.child.exitCode} while waiting for messages`);
      await delay(opts.pollMs);
      const now = this.messageCount();
      if (now > count) {
        count = now;
        lastGrowthAt = performance.now();
      } else if (performance.now() - lastGrowthAt > opts.stallMs) {
        break;
      }
    }
    return { count, lastGrowthAt };
  }

  /** Resolves with rsyslog's internal log once `ready(log)` holds (e.g. a rejected TLS peer was logged). */
  async waitForInternal(ready: (log: string) => boolean, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const log = this.internalLog();
      if (ready(log)) return log;
      if (Date.now() > deadline) throw new Error(`rsyslog's internal log did not show the awaited entry within ${timeoutMs} ms:\n${log}`);
      await delay(20);
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.child.pid === undefined || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const grace = new AbortController();
    const killed = await Promise.race([
      this.exited.then(() => false),
      delay(graceMs, true, { signal: grace.signal }).catch(() => false),
    ]);
    grace.abort();
    if (killed) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }

  /** Stops the process and removes its directory. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
