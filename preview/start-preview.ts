// The preview (development and demos; never packaged): the real Agent following a real
// collector in this process (SQLite, a throwaway PKI, mutual TLS), a few synthetic people
// enrolled with badge and PIN, and the lock, status and enrol pages served to a browser on
// http://localhost:PORT/<token>/. The folder is emptied at every start: nothing carries over.
import { randomBytes, randomInt } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { startCollector, type CollectorServer } from '../collector/server';
import { TestPki } from '../collector/demo-pki';
import { CollectorStore } from '../collector/store/collector-store';
import { SqliteDb } from '../collector/store/sqlite';
import { Agent, readAgentVersion } from '../main/agent';
import { agentHandlers, handleRequest } from '../main/agent-handlers';
import { DB_KEY_ACCOUNT } from '../main/audit/store';
import { DIRECTORY_KEY_ACCOUNT, directoryKeysFrom } from '../main/auth/directory-key';
import { hashPin } from '../main/auth/pin-hash';
import { DEVICE_KEY_ACCOUNT } from '../main/platform/device-identity';
import { KeytarKeyStore } from '../main/platform/keystore';
import { createAgentLogger } from '../main/platform/logger';
import { defaultPaths } from '../main/platform/paths';
import type { LockPresenter, OsSession } from '../main/session/ports';
import { DemoClock, DemoIdleSource } from './demo-time';
import { DEMO_USERS, type DemoUser } from './demo-users';
import { PreviewServer, type DemoReply, type PreviewBackend } from './preview-server';

/** The preview keeps its keys apart from a development agent's and from an installed one's. */
export const PREVIEW_KEYCHAIN_SERVICE = 'clinical-workstation-agent-preview';
/** Written into the folder so that a start never empties a folder the preview did not make. */
const MARKER = '.cwa-preview';
const FOLLOW_TIMEOUT_MS = 30_000;

export interface PreviewOptions {
  /** The preview's own folder (emptied at start): agent data, policy, PKI, collector database, log. */
  readonly dir: string;
  /** undefined: 4780, or any free port when it is taken; 0: any free port; else exactly that port. */
  readonly port?: number;
  readonly keychainService?: string;
  /** The built pages (default dist/pages beside this file's folder). */
  readonly pagesDir?: string;
  /** The preview's browser files (default preview/static in the source tree). */
  readonly staticDir?: string;
  readonly users?: readonly DemoUser[];
  /** Also remove the folder and the keychain entries on close (tests); otherwise they stay until the next start. */
  readonly removeOnClose?: boolean;
}

export interface Preview {
  /** The address to open: http://localhost:PORT/<token>/ */
  readonly url: string;
  readonly origin: string;
  readonly token: string;
  readonly port: number;
  readonly users: readonly DemoUser[];
  readonly agent: Agent;
  readonly server: PreviewServer;
  readonly logFile: string;
  close(): Promise<void>;
}

/** The lock page is the page the person has open: no windows to show or hide. */
class BrowserTabPresenter implements LockPresenter {
  async showLock(): Promise<void> {}
  async hideLock(): Promise<void> {}
  showWarning(): void {}
  hideWarning(): void {}
  requestFactor(): void {}
}

/** Signing out is the agent's own (the shared-clinical default); the preview never locks or logs off this machine. */
class NoOsSession implements OsSession {
  async lock(): Promise<void> {}
  async logoff(): Promise<void> {}
  async run(): Promise<void> {}
}

const tapSchema = z.strictObject({
  page: z.enum(['lock', 'enroll']),
  /** A demo user's card, a card tapped before, any other card number, or "new" for a blank one. */
  badge: z.union([z.literal('new'), z.string().regex(/^[0-9A-Za-z]{4,64}$/, 'a card number is 4 to 64 letters or digits')]),
});
const noArgs = z.strictObject({});

export async function startPreview(opts: PreviewOptions): Promise<Preview> {
  const dir = resolve(opts.dir);
  emptyPreviewFolder(dir);
  const users = opts.users ?? DEMO_USERS;
  const service = opts.keychainService ?? PREVIEW_KEYCHAIN_SERVICE;
  const keyStore = new KeytarKeyStore(service);
  const forgetKeys = async () => {
    for (const account of [DB_KEY_ACCOUNT, DEVICE_KEY_ACCOUNT, DIRECTORY_KEY_ACCOUNT]) await keyStore.delete(account).catch(() => false);
  };
  // The database is new, so keys of an earlier preview are of no use to it.
  await forgetKeys();

  const undo: (() => Promise<unknown>)[] = [];
  const closeAll = async () => {
    for (const f of undo.reverse()) await f().catch(() => undefined);
    undo.length = 0;
  };
  try {
    const server = await PreviewServer.listen({
      pagesDir: opts.pagesDir ?? resolve(__dirname, '../pages'),
      staticDir: opts.staticDir ?? resolve(__dirname, '../../preview/static'),
      port: opts.port,
    });
    undo.push(() => server.close());

    // The collector every workstation would share, with a PKI made now (valid a year, so
    // status shows no expiry warning) and the organisation's directory key.
    const pki = new TestPki(mkdir(join(dir, 'pki')));
    const ca = pki.createCa('preview-ca', 365);
    const serverCert = pki.issue(ca, 'preview-collector', { kind: 'server', dns: ['localhost'], ips: ['127.0.0.1'], days: 365 });
    const clientCert = pki.issue(ca, 'preview-workstation', { kind: 'client', days: 365 });
    chmodSync(clientCert.keyPath, 0o600);
    const store = await CollectorStore.open(new SqliteDb(join(dir, 'collector.db')));
    undo.push(() => store.close());
    const orgKey = randomBytes(32);
    const collector: CollectorServer = await startCollector({ tls: { ca: ca.cert, cert: serverCert.cert, key: serverCert.key }, store, orgKey, port: 0, host: '127.0.0.1', pollMs: 500 });
    undo.push(() => collector.close());

    // The people, enrolled at the collector as IT's collector-admin would.
    const keys = directoryKeysFrom(orgKey);
    for (const u of users) {
      const version = await store.enrol({ userId: u.id, profile: { displayName: u.displayName, roles: [...u.roles] }, badgeToken: keys.badgeToken(u.badge), pinVerifier: await hashPin(u.pin, keys.pinPepper) });
      await store.audit({ actor: 'admin:preview', action: 'user.add', subject: u.id, details: { roles: [...u.roles], version } });
    }

    // The workstation: the real Agent, its pages' origin this server's.
    const data = mkdir(join(dir, 'agent'));
    const paths = defaultPaths(process.platform, { CWA_DATA_DIR: data, CWA_POLICY_FILE: join(dir, 'policy.json'), CWA_KEYCHAIN_SERVICE: service });
    const writePolicy = (policy: Record<string, unknown>) => writeFileSync(paths.policyFile, JSON.stringify(policy, null, 2), { mode: 0o600 });
    writePolicy({ auth: { origin: server.origin } });
    const clock = new DemoClock();
    const idle = new DemoIdleSource(clock);
    const logFile = join(data, 'agent.log');
    const agent = await Agent.start({
      version: `${readAgentVersion()}-preview`,
      paths,
      keyStore,
      logger: createAgentLogger({ logDir: data, console: false }),
      machineId: `preview-${randomBytes(8).toString('hex')}`,
      clock,
      session: { idle, presenter: new BrowserTabPresenter(), os: new NoOsSession() },
    });
    undo.push(() => agent.stop('preview stop'));

    // Registered at the collector like any workstation, then told to follow it.
    const meta = agent.store.deviceMeta();
    await store.registerDevice({ deviceId: meta.device, publicKeyPem: meta.publicKeyPem, label: 'preview workstation' });
    writePolicy({
      auth: { origin: server.origin },
      forwarding: {
        https: { url: collector.url.replace('127.0.0.1', 'localhost'), caFile: ca.certPath, clientCertFile: clientCert.certPath, clientKey: { source: 'file', path: clientCert.keyPath } },
      },
    });
    await until(() => {
      const s = agent.status().auth;
      return s.directory.connected && s.directoryKey.ok && s.enrolledUsers === users.length;
    }, `the preview's agent did not follow its collector and its ${users.length} people within ${FOLLOW_TIMEOUT_MS / 1000} s; see ${logFile}`);

    const handlers = agentHandlers(agent);
    const lockSub = agent.onLockView((view) => server.broadcast('lock', view));
    const enrolSub = agent.onEnrolView((view) => server.broadcast('enroll', view));
    undo.push(async () => {
      lockSub.dispose();
      enrolSub.dispose();
    });
    const otherBadges: string[] = [];

    const backend: PreviewBackend = {
      handlers,
      activity: () => idle.activity(),
      demoState: () => ({
        users: users.map((u) => ({ id: u.id, displayName: u.displayName, role: u.role, badge: u.badge, pin: u.pin })),
        otherBadges: [...otherBadges],
        warnAfterSeconds: agent.policy().session.warnAfterSeconds,
      }),
      async demo(action, body): Promise<DemoReply> {
        if (action === 'tap') {
          const parsed = tapSchema.safeParse(body);
          if (!parsed.success) return { status: 400, body: { ok: false, error: parsed.error.issues[0]?.message ?? 'invalid tap' } };
          idle.activity();
          let badge = parsed.data.badge;
          if (badge === 'new') badge = `00${String(randomInt(10_000_000, 99_999_999))}`;
          if (!users.some((u) => u.badge === badge) && !otherBadges.includes(badge)) {
            otherBadges.unshift(badge);
            otherBadges.splice(6);
          }
          // What the page's reader classifier sends for a burst at reader speed (10 ms a key, then Enter).
          const burst = { value: badge, burstMs: badge.length * 10, maxGapMs: 10 };
          const result = await handleRequest(handlers, parsed.data.page === 'lock' ? 'lock:badge' : 'enroll:badge', burst);
          if (!result.ok) return { status: 400, body: { ok: false, error: result.error } };
          return { status: 200, body: { ok: true, badge, screen: (result.reply as { screen?: string }).screen ?? null } };
        }
        if (!noArgs.safeParse(body).success) return { status: 400, body: { ok: false, error: 'this demo action takes no arguments' } };
        if (action === 'idle') {
          // Nobody at the workstation until the warning is due (or, while it shows, the lock):
          // the clock skips ahead, a second past the deadline, and the engine judges from there.
          const session = agent.status().session;
          const skipped = session !== null && ['unlocked', 'warning', 'emergency'].includes(session.phase);
          if (session && skipped) {
            const policy = agent.policy().session;
            const dueMs = (session.phase === 'warning' ? policy.lockAfterSeconds : policy.warnAfterSeconds) * 1000 + 1000;
            clock.skip(dueMs - Math.min(idle.idleMs(), session.idleSeconds * 1000));
            await agent.dispatch({ type: 'tick', idleMs: idle.idleMs() });
          }
          return { status: 200, body: { ok: true, skipped, phase: agent.status().session?.phase ?? null } };
        }
        await agent.dispatch({ type: 'manual-lock', via: 'tray' });
        return { status: 200, body: { ok: true, phase: agent.status().session?.phase ?? null } };
      },
    };
    server.attach(backend);

    let closing: Promise<void> | null = null;
    return {
      url: server.url,
      origin: server.origin,
      token: server.token,
      port: server.listeningPort,
      users,
      agent,
      server,
      logFile,
      close() {
        closing ??= (async () => {
          await closeAll();
          if (opts.removeOnClose) {
            await forgetKeys();
            rmSync(dir, { recursive: true, force: true });
          }
        })();
        return closing;
      },
    };
  } catch (err) {
    await closeAll();
    if (opts.removeOnClose) await forgetKeys();
    throw err;
  }
}

/** Empties the preview's folder, refusing any folder that is not empty and not the preview's own. */
function emptyPreviewFolder(dir: string): void {
  if (existsSync(dir)) {
    const entries = readdirSync(dir);
    if (entries.length > 0 && !entries.includes(MARKER)) throw new Error(`${dir} is not a preview folder (no ${MARKER} in it); the preview empties its folder at every start, so give it a new one`);
    rmSync(dir, { recursive: true, force: true });
  }
  mkdir(dir);
  writeFileSync(join(dir, MARKER), 'The preview (npm start without Electron) empties this folder at every start.\n');
}

function mkdir(path: string): string {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  return path;
}

async function until(done: () => boolean, failure: string): Promise<void> {
  const deadline = Date.now() + FOLLOW_TIMEOUT_MS;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(failure);
    await new Promise((r) => setTimeout(r, 50));
  }
}
