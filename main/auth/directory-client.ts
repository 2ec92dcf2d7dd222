// The agent's side of the shared directory: signed requests to the collector over the same
// mutual TLS as events (pinned CA, client certificate, TLS 1.2 floor) — pull changes since
// a version, follow the push stream, send an enrolment or revocation made here, report
// failures and successes for the organisation-wide lockout, check FIDO2 counters, fetch the
// organisation key. Every reply is checked against the wire schemas.
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { z } from 'zod';
import { toDisposable, type Disposable } from '../disposable';
import { signRequest, type RequestSigner } from '../forward/request-signature';
import { TransportError } from '../forward/transport';
import {
  AUTH_FAILURES_PATH,
  AUTH_SUCCESS_PATH,
  changeAcceptedSchema,
  changeRefusedSchema,
  counterReplySchema,
  DIRECTORY_CHANGES_PATH,
  DIRECTORY_PATH,
  DIRECTORY_STREAM_PATH,
  directoryPageSchema,
  FIDO_COUNTER_PATH,
  lockoutReplySchema,
  ORG_KEY_PATH,
  orgKeyReplySchema,
  type DirectoryChange,
  type DirectoryPage,
  type LockoutReply,
} from './directory-wire';

export interface DirectoryClientOptions {
  readonly url: string;
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  readonly servername?: string;
  readonly signer: RequestSigner;
  /** Deadline for one request (the push stream has none). */
  readonly timeoutMs?: number;
  readonly maxReplyBytes?: number;
}

export type ChangeResult = { readonly ok: true; readonly version: number } | { readonly ok: false; readonly reason: string; readonly message: string };

export class DirectoryClient {
  private readonly base: URL;
  private readonly agent: https.Agent;

  constructor(private readonly o: DirectoryClientOptions) {
    this.base = new URL(o.url.endsWith('/') ? o.url : `${o.url}/`);
    if (this.base.protocol !== 'https:') throw new Error('the collector URL must be https://');
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 4, minVersion: 'TLSv1.2', ca: o.ca, cert: o.cert, key: o.key, rejectUnauthorized: true, ...(o.servername ? { servername: o.servername } : {}) });
  }

  async pull(since: number): Promise<DirectoryPage> {
    return this.json('GET', `${DIRECTORY_PATH}?since=${since}`, null, directoryPageSchema, this.o.timeoutMs ?? 15_000);
  }

  async change(change: DirectoryChange): Promise<ChangeResult> {
    const { status, body } = await this.request('POST', DIRECTORY_CHANGES_PATH, Buffer.from(JSON.stringify(change)), this.o.timeoutMs ?? 10_000);
    if (status === 200) return { ok: true, version: parse(body, changeAcceptedSchema, status).version };
    if (status === 409 || status === 403 || status === 422) {
      const r = parse(body, changeRefusedSchema, status);
      return { ok: false, reason: r.reason, message: r.message };
    }
    throw httpError(status, body);
  }

  reportFailure(userId: string, kind: string, timeoutMs: number): Promise<LockoutReply> {
    return this.json('POST', AUTH_FAILURES_PATH, Buffer.from(JSON.stringify({ userId, kind })), lockoutReplySchema, timeoutMs);
  }

  async reportSuccess(userId: string, timeoutMs: number): Promise<void> {
    const { status, body } = await this.request('POST', AUTH_SUCCESS_PATH, Buffer.from(JSON.stringify({ userId })), timeoutMs);
    if (status !== 204 && status !== 200) throw httpError(status, body);
  }

  checkCounter(credentialId: string, counter: number, timeoutMs: number): Promise<{ ok: boolean; highest: number }> {
    return this.json('POST', FIDO_COUNTER_PATH, Buffer.from(JSON.stringify({ credentialId, counter })), counterReplySchema, timeoutMs);
  }

  orgKey(): Promise<{ key: string; keyId: string }> {
    return this.json('GET', ORG_KEY_PATH, null, orgKeyReplySchema, this.o.timeoutMs ?? 10_000);
  }

  /**
   * Follows the push stream: `onVersion` with every version the collector announces (the
   * first at once), `onState` when the stream connects or drops. It reconnects by itself
   * (full-jitter backoff) until disposed.
   */
  follow(onVersion: (version: number) => void, onState: (connected: boolean, error: string | null) => void): Disposable {
    let stopped = false;
    let current: ReturnType<typeof https.request> | null = null;
    let timer: NodeJS.Timeout | null = null;
    let failures = 0;
    const connect = (): void => {
      if (stopped) return;
      const url = this.url(DIRECTORY_STREAM_PATH);
      const req = https.request(url, { method: 'GET', agent: this.agent, headers: { accept: 'text/event-stream', ...signRequest(this.o.signer, 'GET', url.pathname + url.search, Buffer.alloc(0)) } });
      current = req;
      req.on('response', (res: IncomingMessage) => {
        if (res.statusCode !== 200) {
          let text = '';
          res.on('data', (c: Buffer) => (text = (text + c.toString('utf8')).slice(0, 2000)));
          res.on('end', () => retry(httpError(res.statusCode ?? 0, text).message));
          return;
        }
        failures = 0;
        onState(true, null);
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            const frame = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = frame.split('\n').find((l) => l.startsWith('data: '));
            if (!frame.split('\n').includes('event: version') || !data) continue;
            const v = Number((JSON.parse(data.slice(6)) as { version?: unknown }).version);
            if (Number.isSafeInteger(v) && v >= 0) onVersion(v);
          }
          if (buffer.length > 64 * 1024) res.destroy();
        });
        res.on('end', () => retry('the collector closed the directory stream'));
        res.on('error', (err) => retry(err.message));
      });
      req.on('error', (err) => retry(classify(err).message));
      req.end();
    };
    const retry = (why: string): void => {
      current = null;
      if (stopped) return;
      onState(false, why);
      failures++;
      const delay = Math.random() * Math.min(30_000, 500 * 2 ** Math.min(failures, 6));
      timer = setTimeout(connect, delay);
    };
    connect();
    return toDisposable(() => {
      stopped = true;
      if (timer) clearTimeout(timer);
      (current as ReturnType<typeof https.request> | null)?.destroy();
    });
  }

  close(): void {
    this.agent.destroy();
  }

  private async json<T extends z.ZodType>(method: string, path: string, body: Buffer | null, schema: T, timeoutMs: number): Promise<z.output<T>> {
    const r = await this.request(method, path, body ?? Buffer.alloc(0), timeoutMs);
    if (r.status !== 200) throw httpError(r.status, r.body);
    return parse(r.body, schema, r.status);
  }

  /** A path of the collector's API under the configured base URL. */
  private url(path: string): URL {
    return new URL(path.slice(1), this.base);
  }

  private request(method: string, path: string, body: Buffer, timeoutMs: number): Promise<{ status: number; body: string }> {
    const url = this.url(path);
    return new Promise((resolve, reject) => {
      const req = https.request(url, {
        method,
        agent: this.agent,
        headers: {
          accept: 'application/json',
          ...(body.length > 0 ? { 'content-type': 'application/json', 'content-length': body.length } : {}),
          ...signRequest(this.o.signer, method, url.pathname + url.search, body),
        },
      });
      const deadline = setTimeout(() => {
        req.destroy();
        reject(new TransportError('timeout', `the collector did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
          if (text.length > (this.o.maxReplyBytes ?? 64 * 1024 * 1024)) req.destroy(new Error('reply too large'));
        });
        res.on('end', () => {
          clearTimeout(deadline);
          resolve({ status: res.statusCode ?? 0, body: text });
        });
      });
      req.on('error', (err) => {
        clearTimeout(deadline);
        reject(classify(err));
      });
      req.end(body.length > 0 ? body : undefined);
    });
  }
}

function parse<T extends z.ZodType>(text: string, schema: T, status: number): z.output<T> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new TransportError('protocol', `the collector answered ${status} with something that is not JSON`, { retryable: true });
  }
  const r = schema.safeParse(json);
  if (!r.success) throw new TransportError('protocol', `the collector's ${status} reply does not follow the contract: ${r.error.issues[0]?.path.join('.') ?? ''} ${r.error.issues[0]?.message ?? ''}`, { retryable: true });
  return r.data;
}

function httpError(status: number, body: string): TransportError {
  let detail = '';
  try {
    const j = JSON.parse(body) as { reason?: string; message?: string };
    detail = `${j.reason ?? ''}${j.message ? `: ${j.message}` : ''}`;
  } catch {
    detail = body.slice(0, 200);
  }
  return new TransportError(status === 403 ? 'rejected' : 'http-status', `the collector answered ${status}${detail ? ` (${detail})` : ''}`, { retryable: status >= 500, status });
}

function classify(err: Error & { code?: string }): TransportError {
  if (err instanceof TransportError) return err;
  const code = err.code ?? '';
  const kind = /CERT|SELF_SIGNED|HOSTNAME|ERR_SSL|TLS/.test(code) || /alert|certificate/i.test(err.message) ? 'tls' : /ENOTFOUND|EAI_/.test(code) ? 'dns' : 'connect';
  return new TransportError(kind, `${kind === 'tls' ? 'TLS with the collector failed' : 'cannot reach the collector'}: ${err.message}`, { retryable: true, cause: err });
}
