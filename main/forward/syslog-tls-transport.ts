// The syslog-over-TLS Transport (RFC 5425 framing, RFC 5424 header, DICOM/ATNA XML body)
// for SIEMs and IHE ATNA audit record repositories.
//
// Syslog/TLS has no application acknowledgement. `send` resolves `delivered` once the
// frames are flushed to the socket, which proves only that the local kernel took them:
// a receiver that rejects our certificate after a TLS 1.3 handshake, or dies with bytes in
// flight, loses them silently. Hence `acknowledges = false`: this lane never frees a row,
// and status must call its delivery unconfirmed. Resends after a reconnect may duplicate
// records upstream; each carries seq, id and hash in its structured data for dedupe.
import { isIP } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import type { ChainedEvent } from '../audit/event';
import { AtnaSyslogEncoder, type AtnaSyslogOptions } from '../audit/formats/atna-syslog';
import type { AtnaSource } from '../audit/formats/atna-xml';
import { TransportError, type ChainedTransport, type SendOutcome, type TransportErrorKind } from './transport';

export interface SyslogTlsTransportOptions {
  readonly host: string;
  readonly port: number;
  /** Name the receiver's certificate must carry; defaults to `host`. */
  readonly servername?: string;
  /** The pinned CA (PEM): only receivers it issued are trusted, the system roots are not. */
  readonly ca: string | Buffer;
  /** The device's client certificate and key (PEM). */
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  readonly format: AtnaSyslogOptions;
  readonly connectTimeoutMs?: number;
  /**
   * How long a new connection waits after the handshake for the receiver to refuse our
   * certificate by closing, before the first write (see connection()). Default: twice the
   * time the TCP + TLS handshake took (about two round trips), at least 200 ms (a busy
   * receiver answers late; connections are long-lived, so this is paid rarely), at most 2 s.
   */
  readonly handshakeSettleMs?: number;
  /** How long a batch may wait for the receiver to take the bytes before the connection is dropped. */
  readonly writeTimeoutMs?: number;
}

export class SyslogTlsTransport implements ChainedTransport {
  readonly name = 'syslog';
  readonly acknowledges = false;
  /** An ATNA message carries seq, id and hash: the signatures stay in the buffer (and in exports). */
  readonly carriesSignatures = false;

  private socket: TLSSocket | null = null;
  /** The last batch's written frames, reused for the next batch's (no fresh 1 MB buffer per batch). */
  private scratch: Buffer | null = null;
  private closed = false;
  private readonly target: string;
  private readonly encoder: AtnaSyslogEncoder;

  constructor(private readonly options: SyslogTlsTransportOptions) {
    this.target = `syslog receiver ${options.host}:${options.port}`;
    this.encoder = new AtnaSyslogEncoder(options.format);
  }

  /**
   * The transport a SyslogPolicy (main/forward/syslog-policy.ts) describes; credentials
   * come from loadTlsCredentials(policy, keyStore) in main/forward/tls-credentials.ts.
   */
  static fromPolicy(
    policy: {
      readonly host: string;
      readonly port: number;
      readonly servername?: string | undefined;
      readonly appName: string;
      readonly maxMessageBytes: number;
      readonly enterpriseSiteId?: string | undefined;
    },
    credentials: { readonly ca: string; readonly cert: string; readonly key: string },
    source: Omit<AtnaSource, 'enterpriseSiteId'>,
  ): SyslogTlsTransport {
    return new SyslogTlsTransport({
      host: policy.host,
      port: policy.port,
      ...(policy.servername === undefined ? {} : { servername: policy.servername }),
      ...credentials,
      format: {
        ...source,
        appName: policy.appName,
        maxMessageBytes: policy.maxMessageBytes,
        ...(policy.enterpriseSiteId === undefined ? {} : { enterpriseSiteId: policy.enterpriseSiteId }),
      },
    });
  }

  async send(batch: readonly ChainedEvent[], signal: AbortSignal): Promise<SendOutcome> {
    signal.throwIfAborted();
    if (this.closed) throw new TransportError('protocol', 'The syslog transport was closed; the forwarder must not send on it.', { retryable: false });
    const last = batch[batch.length - 1];
    if (last === undefined) throw new TransportError('protocol', 'An empty batch was given to the syslog transport.', { retryable: false });

    // Format before touching the network: a bad event is not a network problem.
    let frames: Buffer;
    try {
      frames = this.encoder.frames(batch, true, this.scratch ?? undefined);
    } catch (err) {
      throw new TransportError(
        'protocol',
        `${err instanceof Error ? err.message : String(err)}; the syslog lane cannot pass it. Run \`agentctl verify\` on the buffer.`,
        { retryable: false, cause: err },
      );
    }
    // In use until written; a failed write may leave it referenced, so it is not reused then.
    this.scratch = null;
    const socket = await this.connection(signal);
    await this.write(socket, frames, signal);
    // Written (handed to TLS and the kernel): its memory takes the next batch.
    if (frames.buffer.byteLength <= MAX_SCRATCH_BYTES) this.scratch = Buffer.from(frames.buffer, frames.byteOffset, frames.buffer.byteLength - frames.byteOffset);
    return { kind: 'delivered', through: last.seq };
  }

  async close(): Promise<void> {
    this.closed = true;
    const socket = this.socket;
    this.socket = null;
    if (socket === null || socket.destroyed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => socket.destroy(), 2_000);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.end();
    });
  }

  private connection(signal: AbortSignal): Promise<TLSSocket> {
    const current = this.socket;
    if (current !== null && !current.destroyed && current.writable) return Promise.resolve(current);
    this.socket = null;
    const { host, port, servername, ca, cert, key } = this.options;
    const name = servername ?? (isIP(host) === 0 ? host : undefined);
    return new Promise<TLSSocket>((resolve, reject) => {
      const started = performance.now();
      const socket = connect({ host, port, servername: name, ca, cert, key, minVersion: 'TLSv1.2' });
      let settling = false;
      let settleTimer: NodeJS.Timeout | undefined;
      const timer = setTimeout(() => {
        fail(new TransportError('timeout', `The ${this.target} did not complete a TLS handshake within ${this.connectTimeoutMs} ms; check that it is running and reachable.`));
      }, this.connectTimeoutMs);
      const refused = (): TransportError =>
        new TransportError(
          'tls',
          `The ${this.target} closed the connection right after the TLS handshake: it most likely does not accept this device's client ` +
            "certificate (another CA, expired, or a name it does not permit). Check the receiver's log and the client certificate in the syslog policy.",
        );
      const onAbort = (): void => fail(signal.reason);
      const onError = (err: Error): void => fail(settling ? refused() : this.classify(err, 'connect'));
      const onClosed = (): void => fail(refused());
      const cleanup = (): void => {
        clearTimeout(timer);
        clearTimeout(settleTimer);
        signal.removeEventListener('abort', onAbort);
        socket.off('error', onError);
        socket.off('secureConnect', onSecure);
        socket.off('end', onClosed);
        socket.off('close', onClosed);
      };
      const fail = (err: unknown): void => {
        cleanup();
        socket.destroy();
        reject(err);
      };
      // With TLS 1.3 the client's handshake ends before the server has checked the client
      // certificate, and rsyslog checks names only afterwards: a refused device would see
      // its writes succeed and vanish. Waiting briefly for that close on each new
      // connection turns the common misconfiguration into a 'tls' error instead. The close
      // comes about one round trip after our Finished; the handshake took about two.
      const onSecure = (): void => {
        settling = true;
        clearTimeout(timer);
        socket.once('end', onClosed);
        socket.once('close', onClosed);
        socket.resume();
        settleTimer = setTimeout(() => {
          cleanup();
          this.adopt(socket);
          resolve(socket);
        }, this.options.handshakeSettleMs ?? Math.min(2_000, Math.max(200, 2 * (performance.now() - started))));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      socket.once('error', onError);
      socket.once('secureConnect', onSecure);
    });
  }

  /** Keeps the connection, and forgets it as soon as the receiver closes or it errors. */
  private adopt(socket: TLSSocket): void {
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    const forget = (): void => {
      if (this.socket === socket) this.socket = null;
    };
    // A syslog receiver never sends data; reading lets us see its close (or alert) at once.
    socket.on('data', () => undefined);
    socket.on('end', () => {
      forget();
      socket.destroy();
    });
    socket.on('error', forget);
    socket.on('close', forget);
    this.socket = socket;
  }

  private write(socket: TLSSocket, bytes: Buffer, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let done = false;
      const finish = (err?: unknown): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        socket.off('error', onError);
        socket.off('close', onClose);
        if (err === undefined) {
          resolve();
          return;
        }
        // A frame may be half written: the stream cannot continue, start over on a new one.
        socket.destroy();
        reject(err);
      };
      const onAbort = (): void => finish(signal.reason);
      const onError = (err: Error): void => finish(this.classify(err, 'write'));
      const onClose = (): void =>
        finish(new TransportError('connect', `The ${this.target} closed the connection before the batch was written; it will be resent.`));
      const timer = setTimeout(
        () => finish(new TransportError('timeout', `The ${this.target} did not take ${bytes.length} bytes within ${this.writeTimeoutMs} ms; the connection was dropped and the batch will be resent.`)),
        this.writeTimeoutMs,
      );
      signal.addEventListener('abort', onAbort, { once: true });
      socket.on('error', onError);
      socket.on('close', onClose);
      socket.write(bytes, (err) => finish(err ?? undefined));
    });
  }

  private get connectTimeoutMs(): number {
    return this.options.connectTimeoutMs ?? 10_000;
  }

  private get writeTimeoutMs(): number {
    return this.options.writeTimeoutMs ?? 30_000;
  }

  private classify(err: Error, phase: 'connect' | 'write'): TransportError {
    if (err instanceof TransportError) return err;
    const code = (err as NodeJS.ErrnoException).code ?? '';
    const kind = errorKind(code, err);
    const advice: Record<TransportErrorKind, string> = {
      dns: 'check the syslog host name in policy and the DNS settings.',
      connect: 'check that the receiver is running, the port in policy and any firewall in between.',
      tls:
        `check that caFile in the syslog policy holds the CA that issued the receiver's certificate, that the certificate names ` +
        `"${this.options.servername ?? this.options.host}" and is valid, and that the receiver trusts this device's client certificate.`,
      timeout: 'the network or the receiver is slow or unreachable; the batch will be retried.',
      'http-status': '',
      rejected: '',
      protocol: 'the receiver broke the syslog/TLS protocol.',
      store: '',
    };
    return new TransportError(kind, `The ${this.target} failed during ${phase} (${code || err.message}): ${advice[kind]}`, {
      retryable: true,
      cause: err,
    });
  }
}

/** A batch buffer larger than this is not kept for reuse. */
const MAX_SCRATCH_BYTES = 8 * 1024 * 1024;
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EAI_NODATA']);
const CONNECT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'EPIPE', 'EADDRNOTAVAIL']);
const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|ERR_OSSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH|INVALID_CA|INVALID_PURPOSE)/;

/** Maps a Node/OpenSSL error code to the kind status shows and the forwarder retries by. */
export function errorKind(code: string, err?: Error): TransportErrorKind {
  if (DNS_CODES.has(code)) return 'dns';
  if (code === 'ETIMEDOUT') return 'timeout';
  if (TLS_CODE.test(code) || (err !== undefined && 'library' in err)) return 'tls';
  if (CONNECT_CODES.has(code)) return 'connect';
  return 'protocol';
}
