// One POST over mutual TLS, as both acknowledging lanes (the HTTPS collector and a FHIR
// server) send a batch: the pinned CA only, TLS 1.2 at least, a whole-request deadline,
// a bounded reply, and every network or TLS failure classified for status and retry.
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { TransportError, type TransportErrorKind } from './transport';

export interface MutualTlsAgentOptions {
  /** The pinned CA (PEM): the only trust anchor, the system store is not used. */
  readonly ca: string | Buffer;
  /** This device's client certificate chain and key (PEM). */
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  readonly servername?: string | undefined;
}

export interface PostReply {
  readonly status: number;
  readonly text: string;
}

/** How long to wait for a TLS 1.3 server's session ticket before sending anyway (servers without tickets). */
const TLS13_ACCEPT_GRACE_MS = 500;

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

/** A keep-alive agent with one socket (batches go one at a time, in order) and the lane's TLS settings. */
export function mutualTlsAgent(opts: MutualTlsAgentOptions): https.Agent {
  return new https.Agent({
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

/**
 * POSTs `payload` to `endpoint` and resolves with the complete reply, whatever its status;
 * rejects with a classified TransportError (timeout, cancelled, connect, TLS, oversized reply).
 */
export function postOverMutualTls(
  endpoint: URL,
  agent: https.Agent,
  tls: MutualTlsAgentOptions,
  request: {
    readonly payload: Buffer;
    readonly headers: Readonly<Record<string, string>>;
    readonly timeoutMs: number;
    readonly maxReplyBytes: number;
    /** TLS 1.3: how long to wait for the server's session ticket before sending anyway (default 500 ms). */
    readonly acceptGraceMs?: number | undefined;
  },
  signal: AbortSignal,
): Promise<PostReply> {
  const { payload } = request;
  return new Promise<PostReply>((resolve, reject) => {
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

    const req = https.request(endpoint, {
      method: 'POST',
      agent,
      minVersion: 'TLSv1.2',
      ca: tls.ca,
      cert: tls.cert,
      key: tls.key,
      rejectUnauthorized: true,
      ...(tls.servername === undefined ? {} : { servername: tls.servername }),
      headers: { ...request.headers, 'content-length': payload.length },
    });
    const deadline = setTimeout(() => {
      req.destroy();
      fail(new TransportError('timeout', `the upstream did not answer within ${request.timeoutMs} ms (${endpoint.host})`));
    }, request.timeoutMs);
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
      const tlsSocket = socket as TLSSocket;
      tlsSocket.once('secureConnect', () => {
        tlsUp = true;
        // A resumed TLS 1.3 session sends no certificate (the collector accepted it when the
        // session began) and gets no new ticket to wait for: nothing to judge, send at once.
        if (tlsSocket.getProtocol() !== 'TLSv1.3' || tlsSocket.isSessionReused()) {
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
          tlsSocket.off('session', onSession);
          tlsSocket.off('end', refused);
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
        graceTimer = setTimeout(go, request.acceptGraceMs ?? TLS13_ACCEPT_GRACE_MS);
        tlsSocket.once('session', onSession);
        tlsSocket.once('end', refused);
      });
    });
    req.on('error', (err) => {
      // An error after the handshake but before the batch was written: the server refused us.
      if (graceTimer !== undefined) refusedAfterHandshake = true;
      if (refusedAfterHandshake) {
        fail(
          new TransportError(
            'tls',
            `${endpoint.host} closed the connection right after the TLS handshake, before accepting it: it most likely refused this device's client certificate ` +
              '(expired, revoked, or not issued by a CA it trusts). Nothing was sent.',
            { retryable: true, cause: err },
          ),
        );
      } else {
        fail(classify(err, tlsUp, endpoint.host));
      }
    });
    req.on('response', (res) => {
      readReply(res, request.maxReplyBytes, endpoint.host)
        .then((text) => finish(() => resolve({ status: res.statusCode ?? 0, text })))
        .catch((err: unknown) => fail(classify(err, true, endpoint.host)));
    });
  });
}

function readReply(res: IncomingMessage, max: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        res.destroy();
        reject(new TransportError('protocol', `the reply of ${host} exceeds ${max} bytes; nothing in it was counted as delivered`, { retryable: true }));
        return;
      }
      chunks.push(chunk);
    });
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
    res.on('aborted', () => reject(Object.assign(new Error('the connection was reset while reading the reply'), { code: 'ECONNRESET' })));
  });
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
