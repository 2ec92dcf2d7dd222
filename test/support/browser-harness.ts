// The browser harness: the built pages (dist/pages) served on http://localhost:PORT
// through the same pages handler Electron uses, opened in Debian's Chromium through
// playwright-core, with `window.agent` bound to a real Agent in this process (real audit
// store, real keychain, real directory) through the same handler table as the IPC router.
// WebAuthn works on http://localhost (never 127.0.0.1), so the Agent's policy origin is this server.
import { createReadStream, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from 'playwright-core';
import { Agent } from '../../main/agent';
import { agentHandlers, handleRequest, type Handlers } from '../../main/agent-handlers';
import type { Clock } from '../../main/platform/clock';
import { KeytarKeyStore } from '../../main/platform/keystore';
import { createAgentLogger } from '../../main/platform/logger';
import { defaultPaths, type AgentPaths } from '../../main/platform/paths';
import { answerPageRequest } from '../../main/pages/pages-handler';
import type { LockPresenter } from '../../main/session/ports';
import { uniqueService } from './audit-fixture';
import { RealTimeIdleSource } from './real-time-idle';
import { RecordingOsSession } from './session-doubles';

export const CHROMIUM = process.env.CWA_CHROMIUM ?? '/usr/bin/chromium';
export const PAGES_DIR = resolve(__dirname, '../../pages');

export function chromiumMissing(): string | null {
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CWA_CHROMIUM)`;
  if (!existsSync(join(PAGES_DIR, 'lock', 'main.js'))) return `the pages are not built (${PAGES_DIR}); run npm run build`;
  return null;
}

/** No windows: in the harness the page itself is the lock screen. */
class PageOnlyPresenter implements LockPresenter {
  async showLock(): Promise<void> {}
  async hideLock(): Promise<void> {}
  showWarning(): void {}
  hideWarning(): void {}
  requestFactor(): void {}
}

/** The harness's preload: the same window.agent shape as preload/index.ts, over a playwright binding. */
const INIT_SCRIPT = `(() => {
  const listeners = { lock: new Set(), enroll: new Set() };
  Object.defineProperty(window, '__cwaPush', { value: (kind, view) => { for (const l of listeners[kind]) l(view); } });
  const request = async (channel, payload) => {
    const r = await window.__cwaRequest(channel, payload);
    if (!r.ok) throw new Error(r.error);
    return r.reply;
  };
  const subscribe = (kind) => (listener) => { listeners[kind].add(listener); return () => listeners[kind].delete(listener); };
  Object.defineProperty(window, 'agent', { value: Object.freeze({ request, onLockView: subscribe('lock'), onEnrolView: subscribe('enroll') }) });
})();`;

export interface HarnessOptions {
  readonly label: string;
  /** Policy file content; auth.origin is set to the harness server. */
  readonly policy?: Record<string, unknown>;
  readonly platform?: NodeJS.Platform;
  readonly clock?: Clock;
  readonly viewport?: { readonly width: number; readonly height: number };
  /** false: the agent only, driven through its handler table (a second workstation in a test). */
  readonly browser?: boolean;
  /** Raw machine id (two harnesses in one test are two workstations). */
  readonly machineId?: string;
  /** How long a sign-in waits for the collector (AgentOptions.directoryAnswerMs). */
  readonly directoryAnswerMs?: number;
}

export interface RequestRecord {
  readonly channel: string;
  readonly ok: boolean;
  readonly at: number;
}

export class BrowserHarness {
  agent!: Agent;
  handlers!: Handlers;
  browser!: Browser;
  context!: BrowserContext;
  readonly idle = new RealTimeIdleSource();
  readonly os = new RecordingOsSession();
  /** What "copy for the help desk" put on the clipboard. */
  readonly clipboard: string[] = [];
  /** Every request that reached the handler table (channel and outcome only: no payload, no secret). */
  readonly requests: RequestRecord[] = [];
  private readonly pages = new Set<Page>();
  private readonly interceptors = new Map<string, (payload: unknown) => Promise<unknown>>();
  private extraServers: Server[] = [];
  /** When set, every request fails as if the agent did not answer (the page's own error screen). */
  unreachable = false;
  private server!: Server;
  private port = 0;
  readonly dir: string;
  readonly paths: AgentPaths;
  readonly keyStore: KeytarKeyStore;
  private readonly service: string;

  private constructor(private readonly opts: HarnessOptions) {
    this.dir = mkdtempSync(join(tmpdir(), `cwa-${opts.label}-`));
    this.service = uniqueService(opts.label);
    this.paths = defaultPaths('linux', { CWA_DATA_DIR: join(this.dir, 'data'), CWA_POLICY_FILE: join(this.dir, 'policy.json'), CWA_KEYCHAIN_SERVICE: this.service });
    this.keyStore = new KeytarKeyStore(this.service);
  }

  static async start(opts: HarnessOptions): Promise<BrowserHarness> {
    const h = new BrowserHarness(opts);
    try {
      await h.listen();
      h.writePolicy(opts.policy ?? {});
      await h.startAgent();
      if (opts.browser === false) return h;
      h.browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--disable-dev-shm-usage'],
      });
      h.context = await h.browser.newContext({ viewport: opts.viewport ?? { width: 1366, height: 768 }, reducedMotion: 'reduce' });
      return h;
    } catch (err) {
      await h.stop().catch(() => undefined);
      throw err;
    }
  }

  get origin(): string {
    return `http://localhost:${this.port}`;
  }

  writePolicy(policy: Record<string, unknown>): void {
    const auth = { ...((policy.auth as Record<string, unknown> | undefined) ?? {}), origin: this.origin };
    writeFileSync(this.paths.policyFile, JSON.stringify({ ...policy, auth }, null, 2), { mode: 0o600 });
  }

  /** Starts (or, after stopAgent, restarts) the Agent on the same data and keychain. */
  async startAgent(): Promise<void> {
    this.agent = await Agent.start({
      version: '0.0.0-harness',
      paths: this.paths,
      keyStore: this.keyStore,
      logger: createAgentLogger({ console: false }),
      machineId: this.opts.machineId ?? `harness-${this.opts.label}`,
      clock: this.opts.clock,
      platform: this.opts.platform ?? 'linux',
      ...(this.opts.directoryAnswerMs === undefined ? {} : { directoryAnswerMs: this.opts.directoryAnswerMs }),
      session: { idle: this.idle, presenter: new PageOnlyPresenter(), os: this.os },
    });
    this.handlers = agentHandlers(this.agent, { clipboard: (text) => this.clipboard.push(text) });
    this.agent.onLockView((view) => this.push('lock', view));
    this.agent.onEnrolView((view) => this.push('enroll', view));
  }

  async stopAgent(): Promise<void> {
    await this.agent.stop('harness restart');
  }

  /** Opens a page of the agent (`lock` or `enroll`) in a new tab, bound to the Agent. */
  async open(
    page: 'lock' | 'enroll' | 'status' = 'lock',
    opts: { origin?: string; query?: Readonly<Record<string, string>>; viewport?: { width: number; height: number } } = {},
  ): Promise<Page> {
    const p = await this.context.newPage();
    if (opts.viewport) await p.setViewportSize(opts.viewport);
    await p.exposeBinding('__cwaRequest', async (_source, channel: unknown, payload: unknown) => {
      if (this.unreachable) return { ok: false, error: 'the agent did not answer' };
      const intercept = this.interceptors.get(String(channel));
      if (intercept) {
        this.interceptors.delete(String(channel));
        payload = await intercept(payload);
      }
      const result = await handleRequest(this.handlers, channel, payload);
      this.requests.push({ channel: String(channel), ok: result.ok, at: performance.now() });
      return result;
    });
    await p.addInitScript(INIT_SCRIPT);
    this.pages.add(p);
    p.on('close', () => this.pages.delete(p));
    const search = new URLSearchParams(opts.query ?? {}).toString();
    await p.goto(`${opts.origin ?? this.origin}/${page}/index.html${search ? `?${search}` : ''}`);
    return p;
  }

  /** A CDP virtual FIDO2 authenticator (ctap2, USB, no resident keys) in the page's browser. */
  async addAuthenticator(page: Page, o: { userVerification?: boolean; presence?: boolean } = {}): Promise<{ cdp: CDPSession; id: string }> {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('WebAuthn.enable', { enableUI: false });
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'usb',
        hasResidentKey: false,
        hasUserVerification: o.userVerification ?? true,
        isUserVerified: o.userVerification ?? true,
        automaticPresenceSimulation: o.presence ?? true,
      },
    });
    return { cdp, id: authenticatorId };
  }

  /**
   * The next request on `channel` goes through `f` first (the test may hold it, keep a copy,
   * or change it, as a compromised page could) before it reaches the handler table.
   */
  intercept(channel: string, f: (payload: unknown) => Promise<unknown>): void {
    this.interceptors.set(channel, f);
  }

  /** Serves the same pages on a second localhost port: another origin, for the wrong-origin tests. */
  async otherOrigin(): Promise<string> {
    const server = createServer((req, res) => this.serve(req, res));
    this.extraServers.push(server);
    await new Promise<void>((r) => server.listen(0, 'localhost', () => r()));
    const addr = server.address();
    return `http://localhost:${typeof addr === 'object' && addr ? addr.port : 0}`;
  }

  /** A request straight to the agent's handler table, as a page would send it (no browser). */
  async request(channel: string, payload: unknown): Promise<unknown> {
    const r = await handleRequest(this.handlers, channel, payload);
    this.requests.push({ channel, ok: r.ok, at: performance.now() });
    if (!r.ok) throw new Error(r.error);
    return r.reply;
  }

  count(channel: string): number {
    return this.requests.filter((r) => r.channel === channel).length;
  }

  async stop(): Promise<void> {
    for (const p of [...this.pages]) await p.close().catch(() => undefined);
    await this.browser?.close().catch(() => undefined);
    await this.agent?.stop('harness stop').catch(() => undefined);
    for (const server of [this.server, ...this.extraServers]) await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    for (const a of ['audit-db-key', 'device-signing-key', 'directory-org-key']) await this.keyStore.delete(a).catch(() => false);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private push(kind: 'lock' | 'enroll', view: unknown): void {
    // Runs in the page (a string, so this file needs no DOM types).
    for (const p of this.pages) void p.evaluate(`window.__cwaPush && window.__cwaPush(${JSON.stringify(kind)}, ${JSON.stringify(view)})`).catch(() => undefined);
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    // Each server answers for the origin the browser used (a second one in the wrong-origin tests).
    const origin = `http://${req.headers.host ?? `localhost:${this.port}`}`;
    const answer = answerPageRequest(PAGES_DIR, origin, req.method ?? 'GET', `${origin}${req.url ?? '/'}`);
    res.writeHead(answer.status, answer.headers);
    if (answer.status !== 200 || req.method === 'HEAD') {
      res.end();
      return;
    }
    createReadStream(answer.file).on('error', () => res.destroy()).pipe(res);
  }

  private listen(): Promise<void> {
    this.server = createServer((req, res) => this.serve(req, res));
    return new Promise((resolveListen, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, 'localhost', () => {
        const addr = this.server.address();
        this.port = typeof addr === 'object' && addr ? addr.port : 0;
        resolveListen();
      });
    });
  }
}

/** Reads the screen id the lock or enrol page shows. */
export async function screenOf(page: Page): Promise<string> {
  return (await page.locator('#app').getAttribute('data-screen')) ?? '';
}

/** Waits until the page shows `screen` (the data-screen attribute). */
export async function waitForScreen(page: Page, screen: string, timeoutMs = 10_000): Promise<void> {
  try {
    await page.locator(`#app[data-screen="${screen}"]`).waitFor({ state: 'attached', timeout: timeoutMs });
  } catch {
    const shown = await page.locator('#app').getAttribute('data-screen').catch(() => '?');
    const text = await page.locator('#app').innerText().catch(() => '');
    throw new Error(`expected the ${screen} screen within ${timeoutMs} ms; the page shows ${shown ?? '?'}: ${text.replace(/\s+/g, ' ').slice(0, 300)}`);
  }
}

const lastKeyTime = new WeakMap<CDPSession, number>();

/**
 * Types a card number the way a keyboard-wedge reader does: trusted key events through
 * CDP whose timestamps are `gapMs` apart (Chromium carries them into KeyboardEvent.timeStamp),
 * then the terminator.
 */
export async function typeBurst(page: Page, cdp: CDPSession, text: string, gapMs: number, terminator: 'Enter' | 'Tab' | null = 'Enter'): Promise<void> {
  const keys = terminator ? [...text, terminator] : [...text];
  // Key times only move forward on a page, even when one burst follows another at once.
  const base = Math.max(Date.now() / 1000, (lastKeyTime.get(cdp) ?? 0) + gapMs / 1000);
  lastKeyTime.set(cdp, base + ((keys.length - 1) * gapMs) / 1000 + 0.001);
  for (const [i, key] of keys.entries()) {
    const timestamp = base + (i * gapMs) / 1000;
    const printable = key.length === 1;
    await cdp.send('Input.dispatchKeyEvent', {
      type: printable ? 'keyDown' : 'rawKeyDown',
      key,
      code: printable ? undefined : key,
      text: printable ? key : key === 'Enter' ? '\r' : undefined,
      windowsVirtualKeyCode: printable ? key.toUpperCase().charCodeAt(0) : key === 'Enter' ? 13 : 9,
      timestamp,
    });
    await cdp.send('Input.dispatchKeyEvent', { type: 'keyUp', key, timestamp: timestamp + 0.001 });
  }
}
