// Transport 1: HTTPS with mutual TLS and an explicit acknowledgement. POST /v1/events with
// a batch; the collector answers {acceptedThrough}, or 409 {lastSeq, lastHash} to resync.
// Only the pinned CA is trusted, TLS 1.2 is the floor, and every failure is classified.
import type https from 'node:https';
import type { SealedEvent } from '../audit/event';
import { mutualTlsAgent, postOverMutualTls } from './mutual-tls-post';
import { TransportError, type SendOutcome, type SealedTransport } from './transport';
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
  /**
   * TLS 1.3: how long a send on a new, not resumed connection waits for the collector's
   * session ticket (its sign that it accepted this device's certificate) before the batch
   * leaves anyway; default 500 ms. Tests of a refusal give more: on a loaded machine the
   * refusal can come later.
   */
  readonly tls13AcceptGraceMs?: number;
}

const REJECTED_STATUSES = new Set([400, 403, 413, 422]);

export class HttpsTransport implements SealedTransport {
  readonly name = 'https';
  readonly acknowledges = true;
  readonly carriesSignatures = true;
  private readonly endpoint: URL;
  private readonly agent: https.Agent;
  private readonly maxReplyBytes: number;

  constructor(private readonly opts: HttpsTransportOptions) {
    this.endpoint = new URL(EVENTS_PATH, opts.url.endsWith('/') ? opts.url : `${opts.url}/`);
    if (this.endpoint.protocol !== 'https:') throw new Error(`the upstream URL must be https:// (got ${this.endpoint.protocol}); nothing is sent in clear`);
    this.maxReplyBytes = opts.maxReplyBytes ?? 64 * 1024;
    this.agent = mutualTlsAgent(opts);
  }

  async send(batch: readonly SealedEvent[], signal: AbortSignal): Promise<SendOutcome> {
    if (batch.length === 0) throw new Error('HttpsTransport.send: empty batch');
    const payload = Buffer.from(
      JSON.stringify({
        device: this.opts.device,
        keyId: this.opts.keyId,
        events: batch.map((e) => ({ seq: e.seq, body: e.body, hash: e.hash, sig: e.sig })),
      }),
      'utf8',
    );
    const reply = await postOverMutualTls(
      this.endpoint,
      this.agent,
      this.opts,
      {
        payload,
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        timeoutMs: this.opts.requestTimeoutMs,
        maxReplyBytes: this.maxReplyBytes,
        acceptGraceMs: this.opts.tls13AcceptGraceMs,
      },
      signal,
    );
    return interpret(reply.status, reply.text, this.endpoint.host);
  }

  close(): Promise<void> {
    this.agent.destroy();
    return Promise.resolve();
  }
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

/** Network and TLS failures are classified where the POST is made; re-exported for the lane's tests. */
export { classify } from './mutual-tls-post';
