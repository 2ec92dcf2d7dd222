// The preview's web server: the agent's pages for an ordinary browser on this machine. Bound
// to 127.0.0.1 only; everything lives under a random token, and a request without it gets a
// bare 404. Host must be the preview's own (DNS rebinding), and every POST must come from the
// preview's own origin as JSON (cross-site forms and scripts). Requests go through the same
// handler table as Electron's IPC router; views go back over server-sent events.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { handleRequest, type Handlers } from '../main/agent-handlers';
import { answerPageRequest, PAGES_CSP } from '../main/pages/pages-handler';
import { previewPageHtml, withConnectSelf } from './page-injection';

/** The port the preview tries first, so its address stays the same between runs. */
export const DEFAULT_PREVIEW_PORT = 4780;
const HOST = '127.0.0.1';
/** The largest request body: a WebAuthn registration response is well below this. */
export const MAX_BODY_BYTES = 64 * 1024;
const MAX_STREAMS = 32;
const KEEPALIVE_MS = 15_000;

const BASE_HEADERS = {
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
} as const;

const PAGE_HEADERS = {
  ...BASE_HEADERS,
  'content-security-policy': withConnectSelf(PAGES_CSP),
  'permissions-policy': 'publickey-credentials-get=(self), publickey-credentials-create=(self), camera=(), microphone=(), geolocation=()',
} as const;

/** The preview's own browser files (read once at start: no file path ever comes from a URL). */
const ASSETS = {
  'bridge.js': 'text/javascript; charset=utf-8',
  'demo.js': 'text/javascript; charset=utf-8',
  'preview.css': 'text/css; charset=utf-8',
} as const;
type AssetName = keyof typeof ASSETS;

/** What a demo button asks for; the body was parsed as JSON and is validated by the backend. */
export type DemoAction = 'tap' | 'idle' | 'lock';

export interface DemoReply {
  readonly status: 200 | 400;
  readonly body: Readonly<Record<string, unknown>>;
}

/** What the server serves once the agent is up. */
export interface PreviewBackend {
  readonly handlers: Handlers;
  /** A person did something on the lock or enrol page (the preview's idle source). */
  activity(): void;
  /** The demo panel's data: users with badge and PIN, badges tapped so far. */
  demoState(): Readonly<Record<string, unknown>>;
  demo(action: DemoAction, body: unknown): Promise<DemoReply>;
}

export type ViewKind = 'lock' | 'enroll';

export interface PreviewServerOptions {
  /** The built pages (dist/pages). */
  readonly pagesDir: string;
  /** index.html, bridge.js, demo.js, preview.css. */
  readonly staticDir: string;
  /** undefined: DEFAULT_PREVIEW_PORT, or any free port when it is taken; 0: any free port; else exactly that one. */
  readonly port?: number;
}

export class PreviewServer {
  readonly token = randomBytes(32).toString('base64url');
  private readonly tokenDigest = digest(this.token);
  private backend: PreviewBackend | null = null;
  private readonly streams = new Set<ServerResponse>();
  private readonly sockets = new Set<Socket>();
  private readonly assets: ReadonlyMap<AssetName, Buffer>;
  private readonly indexHtml: Buffer;
  private keepalive: NodeJS.Timeout | null = null;
  private port = 0;

  private constructor(
    private readonly server: Server,
    private readonly opts: PreviewServerOptions,
  ) {
    this.assets = new Map((Object.keys(ASSETS) as AssetName[]).map((name) => [name, readFileSync(join(opts.staticDir, name))]));
    this.indexHtml = readFileSync(join(opts.staticDir, 'index.html'));
  }

  /** Listens on 127.0.0.1 (never another interface); serves 503 to valid requests until attach(). */
  static async listen(opts: PreviewServerOptions): Promise<PreviewServer> {
    const server = createServer();
    const preview = new PreviewServer(server, opts);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => void preview.handle(req, res));
    server.on('connection', (socket: Socket) => {
      preview.sockets.add(socket);
      socket.on('close', () => preview.sockets.delete(socket));
    });
    if (opts.port === undefined) {
      try {
        preview.port = await listenOn(server, DEFAULT_PREVIEW_PORT);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
        preview.port = await listenOn(server, 0);
      }
    } else {
      try {
        preview.port = await listenOn(server, opts.port);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new Error(`port ${opts.port} on ${HOST} is in use; set CWA_PREVIEW_PORT to another port, or to 0 for any free one`);
        throw err;
      }
    }
    preview.keepalive = setInterval(() => {
      for (const s of preview.streams) s.write(': keepalive\n\n');
    }, KEEPALIVE_MS);
    preview.keepalive.unref();
    return preview;
  }

  get listeningPort(): number {
    return this.port;
  }

  /** The origin pages are served on: localhost (WebAuthn refuses an IP address), though bound to 127.0.0.1. */
  get origin(): string {
    return `http://localhost:${this.port}`;
  }

  /** The address to open, token included. */
  get url(): string {
    return `${this.origin}/${this.token}/`;
  }

  /** The socket address (for the test that proves it is loopback only). */
  address(): { readonly address: string; readonly port: number } {
    const a = this.server.address();
    if (a === null || typeof a === 'string') throw new Error('the preview server is not listening');
    return { address: a.address, port: a.port };
  }

  attach(backend: PreviewBackend): void {
    this.backend = backend;
  }

  /** A view for every open page (the lock page listens to `lock`, the enrol page to `enroll`). */
  broadcast(kind: ViewKind, view: unknown): void {
    const frame = `event: ${kind}\ndata: ${JSON.stringify(view)}\n\n`;
    for (const s of this.streams) s.write(frame);
  }

  async close(): Promise<void> {
    if (this.keepalive) clearInterval(this.keepalive);
    this.keepalive = null;
    for (const s of this.streams) s.end();
    this.streams.clear();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  // ------------------------------------------------------------------ requests

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      await this.route(req, res);
    } catch {
      // Never a stack trace or a path in a reply.
      if (!res.headersSent) bare(res, 500);
      else res.destroy();
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // DNS rebinding: a foreign name that resolves to 127.0.0.1 is not this preview.
    if (req.headers.host !== `localhost:${this.port}`) {
      send(res, 421, { 'content-type': 'text/plain; charset=utf-8' }, `Open the preview at the address printed in the terminal (http://localhost:${this.port}/…).\n`);
      return;
    }
    let path: string;
    try {
      path = new URL(req.url ?? '/', this.origin).pathname;
    } catch {
      bare(res, 404);
      return;
    }
    const [, first = '', ...rest] = path.split('/');
    if (!this.tokenMatches(first)) {
      bare(res, 404);
      return;
    }
    if (rest.length === 0) {
      send(res, 301, { location: `/${this.token}/` });
      return;
    }
    const sub = `/${rest.join('/')}`;
    const method = req.method ?? 'GET';
    const read = method === 'GET' || method === 'HEAD';

    if (sub.startsWith('/api/') || sub.startsWith('/demo/')) {
      if (sub === '/demo/state') {
        if (!read) return void bare(res, 405, { allow: 'GET, HEAD' });
        return void this.json(res, 200, this.backend ? this.backend.demoState() : { users: [], badges: [] }, method === 'HEAD');
      }
      if (method !== 'POST') return void bare(res, 405, { allow: 'POST' });
      return void (await this.post(req, res, sub));
    }
    if (!read) return void bare(res, 405, { allow: 'GET, HEAD' });
    if (sub === '/') return void send(res, 200, { ...PAGE_HEADERS, 'content-type': 'text/html; charset=utf-8' }, method === 'HEAD' ? undefined : this.indexHtml);
    if (sub === '/events') return void this.events(req, res);
    if (sub.startsWith('/preview/')) {
      const name = sub.slice('/preview/'.length) as AssetName;
      const body = Object.prototype.hasOwnProperty.call(ASSETS, name) ? this.assets.get(name) : undefined;
      if (!body) return void bare(res, 404);
      return void send(res, 200, { ...BASE_HEADERS, 'content-type': ASSETS[name] }, method === 'HEAD' ? undefined : body);
    }
    if (/^\/(lock|status|enroll)$/.test(sub)) return void send(res, 301, { location: `/${this.token}${sub}/` });
    await this.page(res, method, sub.endsWith('/') ? `${sub}index.html` : sub);
  }

  /** The agent's own pages through the same pages handler as Electron; HTML gets the bridge. */
  private async page(res: ServerResponse, method: string, sub: string): Promise<void> {
    const answer = answerPageRequest(this.opts.pagesDir, this.origin, method, `${this.origin}${sub}`);
    if (answer.status !== 200) {
      bare(res, answer.status === 301 ? 404 : answer.status);
      return;
    }
    const headers: Record<string, string> = { ...answer.headers };
    if (headers['content-security-policy'] !== undefined) headers['content-security-policy'] = withConnectSelf(headers['content-security-policy']);
    if (answer.headers['content-type']?.startsWith('text/html')) {
      const html = previewPageHtml(await readFile(answer.file, 'utf8'));
      send(res, 200, headers, method === 'HEAD' ? undefined : html);
      return;
    }
    res.writeHead(200, headers);
    if (method === 'HEAD') {
      res.end();
      return;
    }
    createReadStream(answer.file)
      .on('error', () => res.destroy())
      .pipe(res);
  }

  /** Server-sent events: the views the agent publishes, to every open page. */
  private events(req: IncomingMessage, res: ServerResponse): void {
    if (this.streams.size >= MAX_STREAMS) {
      bare(res, 503);
      return;
    }
    res.writeHead(200, { ...BASE_HEADERS, 'content-type': 'text/event-stream; charset=utf-8' });
    res.write('retry: 2000\n\n');
    this.streams.add(res);
    req.on('close', () => this.streams.delete(res));
  }

  private async post(req: IncomingMessage, res: ServerResponse, sub: string): Promise<void> {
    // A POST comes from a page of this preview or from nowhere: a cross-site form or script
    // (even one that learnt the token) carries another Origin; a simple form cannot send JSON.
    const origin = req.headers.origin;
    const site = req.headers['sec-fetch-site'];
    if (origin !== this.origin || (site !== undefined && site !== 'same-origin')) {
      bare(res, 403);
      return;
    }
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/json') {
      bare(res, 415);
      return;
    }
    const body = await readBody(req);
    if (body === 'too-large') {
      res.setHeader('connection', 'close');
      bare(res, 413);
      return;
    }
    let payload: unknown;
    try {
      payload = JSON.parse(body.toString('utf8'));
    } catch {
      bare(res, 400);
      return;
    }
    const backend = this.backend;
    if (!backend) {
      bare(res, 503);
      return;
    }
    if (sub.startsWith('/api/')) {
      const channel = sub.slice('/api/'.length);
      if (/^(lock|enroll):/.test(channel)) backend.activity();
      this.json(res, 200, await handleRequest(backend.handlers, channel, payload));
      return;
    }
    const action = sub.slice('/demo/'.length);
    if (action !== 'tap' && action !== 'idle' && action !== 'lock') {
      bare(res, 404);
      return;
    }
    const reply = await backend.demo(action, payload);
    this.json(res, reply.status, reply.body);
  }

  private json(res: ServerResponse, status: number, body: unknown, head = false): void {
    send(res, status, { ...BASE_HEADERS, 'content-type': 'application/json; charset=utf-8' }, head ? undefined : JSON.stringify(body));
  }

  private tokenMatches(candidate: string): boolean {
    // Digests of equal length, compared in constant time: the answer's timing says nothing of the token.
    return timingSafeEqual(digest(candidate), this.tokenDigest);
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

function listenOn(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, HOST, () => {
      server.off('error', onError);
      const a = server.address();
      resolve(typeof a === 'object' && a !== null ? a.port : port);
    });
  });
}

function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > MAX_BODY_BYTES) return Promise.resolve('too-large');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners('data');
        req.resume();
        resolve('too-large');
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, headers: Readonly<Record<string, string>>, body?: string | Buffer): void {
  const length = body === undefined ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  res.writeHead(status, { ...headers, 'content-length': String(length) });
  res.end(body);
}

/** A status and nothing else: no body, no hint of what is behind it. */
function bare(res: ServerResponse, status: number, headers: Readonly<Record<string, string>> = {}): void {
  send(res, status, { 'cache-control': 'no-store', ...headers });
}
