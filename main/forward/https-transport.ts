// Transport 1: HTTPS with mutual TLS and an explicit acknowledgement. POST /v1/events with
// a batch; the collector answers {acceptedThrough}, or 409 {lastSeq, lastHash} to resync.
// Only the pinned CA is trusted, TLS 1.2 is the floor, and every failure is classified.
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { SealedEvent } from '../audit/event';
import { TransportError, type SendOutcome, type Transport, type TransportErrorKind } from './transport';
import { acceptedReplySchema, EVENTS_PATH, rejectedReplySchema, resyncReplySchema } from './wire-contract';

export interface HttpsTransportOptions {
  /** The collector's base URL (https://host:port); the batch goes to {url}/v1/events. */
  readonly url: string;
  /** The pinned CA (PEM): the only trust anchor, the system store is not used. */
  readonly ca: string | Buffer;
  /** This device's client certificate chain and key (PEM). */
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  readonly servername?: string;
  /** Whole request deadline: connect, TLS, upload, reply. */
  readonly requestTimeoutMs: number;
  readonly device: string;
  readonly keyId: string;
  readonly maxReplyBytes?: number;
}

/** How long to wait for a TLS 1.3 server's session ticket before sending anyway (servers without tickets). */
const TLS13_ACCEPT_GRACE_MS = 500;

const REJECTED_STATUSES = new Set([400, 403, 413, 422]);

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EAI_NODATA']);
const CONNECT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ENETDOWN', 'ECONNABORTED']);
const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'HOSTNAME_MISMATCH',
]);

export class HttpsTransport implements Transport {
  readonly name = 'https';
  readonly acknowledges = true;
  private readonly endpoint: URL;
  private readonly agent: https.Agent;
  private readonly maxReplyBytes: number;

  constructor(private readonly opts: HttpsTransportOptions) {
    this.endpoint = new URL(EVENTS_PATH, opts.url.endsWith('/') ? opts.url : `${opts.url}/`);
    if (this.endpoint.protocol !== 'https:') throw new Error(`the upstream URL must be https:// (got ${this.endpoint.protocol}); nothing is sent in clear`);
    this.maxReplyBytes = opts.maxReplyBytes ?? 64 * 1024;
    this.agent = new https.Agent({
      keepAlive: true,
      maxSockets: 1,
      minVersion: 'TLSv1.2',
      ca: opts.ca,
      cert: opts.cert,
      key: opts.key,
      rejectUnauthorized: true,
      ...(opts.servername === undefined ? {} : { servername: opts.servername }),
    });
  }

  send(batch: readonly SealedEvent[], signal: AbortSignal): Promise<SendOutcome> {
    if (batch.length === 0) return Promise.reject(new Error('HttpsTransport.send: empty batch'));
    const payload = Buffer.from(
      JSON.stringify({
        device: this.opts.device,
        keyId: this.opts.keyId,
        events: batch.map((e) => ({ seq: e.seq, body: e.body, hash: e.hash, sig: e.sig })),
      }),
      'utf8',
    );
    return new Promise<SendOutcome>((resolve, reject) => {
      let tlsUp = false;
      let refusedAfterHandshake = false;
      let graceTimer: NodeJS.Timeout | undefined;
      let settled = false;
      const finish = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        clearTimeout(graceTimer);
        graceTimer = undefined;
        signal.removeEventListener('abort', onAbort);
        fn();
      };
      const fail = (err: TransportError): void => finish(() => reject(err));

      const req = https.request(this.endpoint, {
        method: 'POST',
        agent: this.agent,
        minVersion: 'TLSv1.2',
        ca: this.opts.ca,
        cert: this.opts.cert,
        key: this.opts.key,
        rejectUnauthorized: true,
        ...(this.opts.servername === undefined ? {} : { servername: this.opts.servername }),
        headers: { 'content-type': 'application/json', 'content-length': payload.length, accept: 'application/json' },
      });
      const deadline = setTimeout(() => {
        req.destroy();
        fail(new TransportError('timeout', `the upstream did not answer within ${this.opts.requestTimeoutMs} ms (${this.endpoint.host})`));
      }, this.opts.requestTimeoutMs);
      const onAbort = (): void => {
        req.destroy();
        fail(new TransportError('timeout', 'the send was cancelled (agent stopping)'));
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });

      req.on('socket', (socket) => {
        if (req.reusedSocket) {
          tlsUp = true;
          req.end(payload);
          return;
        }
        const tls = socket as TLSSocket;
        tls.once('secureConnect', () => {
          tlsUp = true;
          if (tls.getProtocol() !== 'TLSv1.3') {
            req.end(payload);
            return;
          }
          // In TLS 1.3 the server judges our certificate after our side of the handshake is
          // done; a refusing server may just close. Its session ticket is the first sign it
          // accepted us, so wait for it (or a short grace) before the batch leaves the device.
          const go = (): void => {
            if (graceTimer === undefined) return;
            clearTimeout(graceTimer);
            graceTimer = undefined;
            tls.off('session', onSession);
            tls.off('end', refused);
            req.end(payload);
          };
          const refused = (): void => {
            if (graceTimer === undefined) return;
            clearTimeout(graceTimer);
            graceTimer = undefined;
            refusedAfterHandshake = true;
          };
          // 'session' is emitted from inside OpenSSL's read; writing there stalls the socket.
          const onSession = (): void => void setImmediate(go);
          graceTimer = setTimeout(go, TLS13_ACCEPT_GRACE_MS);
          tls.once('session', onSession);
          tls.once('end', refused);
        });
      });
      req.on('error', (err) => {
        // An error after the handshake but before the batch was written: the server refused us.
        if (graceTimer !== undefined) refusedAfterHandshake = true;
        if (refusedAfterHandshake) {
          fail(
            new TransportError(
              'tls',
              `${this.endpoint.host} closed the connection right after the TLS handshake, before accepting it: it most likely refused this device's client certificate ` +
                '(expired, revoked, or not issued by a CA it trusts). Nothing was sent.',
              { retryable: true, cause: err },
            ),
          );
        } else {
          fail(classify(err, tlsUp, this.endpoint.host));
        }
      });
      req.on('response', (res) => {
        readReply(res, this.maxReplyBytes)
          .then((text) => finish(() => {
            try {
              resolve(interpret(res.statusCode ?? 0, text, this.endpoint.host));
            } catch (err) {
              reject(err);
            }
          }))
          .catch((err: unknown) => fail(classify(err, true, this.endpoint.host)));
      });
    });
  }

  close(): Promise<void> {
    this.agent.destroy();
    return Promise.resolve();
  }
}

function readReply(res: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        res.destroy();
        reject(new TransportError('protocol', `the upstream reply exceeds ${max} bytes`, { retryable: true }));
        return;
      }
      chunks.push(chunk);
    });
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
    res.on('aborted', () => reject(Object.assign(new Error('the connection was reset while reading the reply'), { code: 'ECONNRESET' })));
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Maps a complete HTTP reply to the port's outcome, validating the body (a trust boundary). */
export function interpret(status: number, text: string, host: string): SendOutcome {
  const json = parseJson(text);
  if (status === 200) {
    const r = acceptedReplySchema.safeParse(json);
    if (!r.success) throw new TransportError('protocol', `the upstream ${host} answered 200 without a valid {acceptedThrough}: ${r.error.issues[0]?.message ?? 'bad body'}`);
    return { kind: 'acknowledged', acceptedThrough: r.data.acceptedThrough };
  }
  if (status === 409) {
    const r = resyncReplySchema.safeParse(json);
    if (!r.success) throw new TransportError('protocol', `the upstream ${host} answered 409 without a valid {lastSeq, lastHash}`, { retryable: true, status });
    return { kind: 'resync', lastSeq: r.data.lastSeq, lastHash: r.data.lastHash };
  }
  if (REJECTED_STATUSES.has(status)) {
    const r = rejectedReplySchema.safeParse(json);
    const why = r.success ? `${r.data.reason}${r.data.message ? `: ${r.data.message}` : ''}` : text.slice(0, 200);
    throw new TransportError('rejected', `the upstream ${host} refused the batch (HTTP ${status}, ${why}); IT must check the device registration and the collector log`, {
      retryable: false,
      status,
    });
  }
  throw new TransportError('http-status', `the upstream ${host} answered HTTP ${status}`, { retryable: true, status });
}

/** Classifies a Node network/TLS error into the kinds status shows. */
export function classify(err: unknown, tlsUp: boolean, host: string): TransportError {
  if (err instanceof TransportError) return err;
  const e = err as NodeJS.ErrnoException & { reason?: string };
  const code = typeof e?.code === 'string' ? e.code : '';
  const text = e instanceof Error ? e.message : String(err);
  const make = (kind: TransportErrorKind, message: string): TransportError => new TransportError(kind, message, { retryable: true, cause: err });
  if (DNS_CODES.has(code)) return make('dns', `the upstream host name ${host} could not be resolved (${code}); check DNS and the policy URL`);
  if (code.startsWith('CERT_') || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_') || TLS_CODES.has(code) || /\balert\b|certificate|handshake/i.test(text)) {
    return make('tls', `TLS with ${host} failed (${code || 'tls'}: ${text}); nothing was sent. Check the pinned CA, the server certificate and this device's client certificate`);
  }
  if (code === 'ETIMEDOUT' || code === 'ESOCKETTIMEDOUT') return make('timeout', `the connection to ${host} timed out (${code})`);
  if (CONNECT_CODES.has(code) || /socket hang up/i.test(text)) {
    return make('connect', tlsUp ? `the connection to ${host} was lost during the request (${code || text})` : `could not connect to ${host} (${code || text})`);
  }
  return make('protocol', `the exchange with ${host} failed (${code || text})`);
}
