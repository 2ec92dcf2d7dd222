// Electron end-to-end (Playwright _electron): the packaged shape of the app (sandboxed lock
// window per display on http://localhost, the preload bridge, the idle warning window, the
// status socket the tray reads, the single instance opening the status window). Runs
// wherever an Electron binary exists (or ELECTRON_OVERRIDE_DIST_PATH points at one) and is
// reported as skipped, with the reason, where it does not. Everything here that can run in
// Chromium is covered there too (test/e2e).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { _electron as electron, type ElectronApplication, type Page } from 'playwright-core';
import { runAgentctl } from '../../main/cli/agentctl';
import { defaultPaths } from '../../main/platform/paths';
import { KeytarKeyStore } from '../../main/platform/keystore';
import { readStatus } from '../../main/status/status-server';
import { uniqueService } from '../support/audit-fixture';
import { typeBurst } from '../support/browser-harness';
import { DANA, eventually } from '../support/lock-driver';

const root = resolve(__dirname, '../../..');

function electronBinary(): { path: string | null; why: string } {
  try {
    // The electron package resolves ELECTRON_OVERRIDE_DIST_PATH itself.
    const p = require('electron') as unknown as string; // eslint-disable-line @typescript-eslint/no-require-imports
    if (!existsSync(p)) return { path: null, why: `no Electron binary at ${p}` };
    if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return { path: null, why: 'no display (run under xvfb-run)' };
    return { path: p, why: '' };
  } catch (err) {
    return { path: null, why: `no Electron binary (${(err as Error).message.split('\n')[0]}); set ELECTRON_OVERRIDE_DIST_PATH to run these tests` };
  }
}

const bin = electronBinary();

interface Running {
  readonly app: ElectronApplication;
  readonly env: Record<string, string>;
}

/** The agent quits only on SIGTERM or OS shutdown (a user's quit is refused), so the test stops it that way. */
async function stop(app: ElectronApplication): Promise<void> {
  const child = app.process();
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

async function lockWindows(app: ElectronApplication): Promise<Page[]> {
  return app.windows().filter((w) => /\/lock\/index\.html$/.test(w.url()));
}

describe('the Electron tray app', { skip: bin.path ? false : bin.why }, () => {
  let dataDir = '';
  let service = '';
  let running: Running;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'cwa-electron-'));
    service = uniqueService('electron');
    const env = { CWA_DATA_DIR: dataDir, CWA_POLICY_FILE: join(dataDir, 'policy.json'), CWA_KEYCHAIN_SERVICE: service };
    writeFileSync(env.CWA_POLICY_FILE, JSON.stringify({ session: { warnAfterSeconds: 3, lockAfterSeconds: 8 } }));
    // IT enrols the first user the way it would on a real workstation.
    const answers = [DANA.badge, DANA.pin, DANA.pin];
    const added = await runAgentctl(['user', 'add', '--id', DANA.id, '--name', DANA.displayName, '--role', 'enroller'], {
      out: () => undefined,
      err: (l) => assert.fail(l),
      env,
      ask: async () => answers.shift() ?? '',
    });
    assert.equal(added, 0);
    const app = await electron.launch({ executablePath: bin.path!, args: [root, '--no-sandbox'], env: { ...process.env, ...env } as Record<string, string> });
    running = { app, env };
  });

  after(async () => {
    if (running) await stop(running.app);
    for (const a of ['audit-db-key', 'device-signing-key', 'directory-org-key']) await new KeytarKeyStore(service).delete(a).catch(() => false);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts locked: one sandboxed lock window per display on http://localhost, the bridge and no Node', async () => {
    const { app } = running;
    const page = await app.firstWindow();
    await page.waitForLoadState('domcontentloaded');
    const displays = await app.evaluate(({ screen }) => screen.getAllDisplays().length);
    const windows = await eventually(async () => ((await lockWindows(app)).length === displays ? lockWindows(app) : null), `${displays} lock windows`, 15_000);
    for (const w of windows) {
      assert.match(w.url(), /^http:\/\/localhost\/lock\/index\.html$/);
      assert.equal(await w.evaluate(() => typeof (globalThis as { agent?: unknown }).agent), 'object');
      assert.equal(await w.evaluate(() => typeof (globalThis as { require?: unknown }).require), 'undefined');
      assert.equal(await w.evaluate(() => typeof (globalThis as { process?: unknown }).process), 'undefined');
    }
    await page.locator('#app[data-screen="locked"]').waitFor();
  });

  it('a badge and a PIN unlock it, every lock window goes, and the status socket (what the tray reads) says unlocked', async () => {
    const { app, env } = running;
    const [page] = await lockWindows(app);
    assert.ok(page);
    // A reader burst (10 ms per key), then a person typing the PIN (150 ms per key): trusted
    // key events through CDP with those timestamps, as the Chromium tests type them, so that
    // a loaded machine's delays between keys cannot turn the badge into typing.
    const cdp = await page.context().newCDPSession(page);
    await typeBurst(page, cdp, DANA.badge, 10);
    await page.locator('#app[data-screen="pin"]').waitFor();
    await typeBurst(page, cdp, DANA.pin, 150);
    await cdp.detach();
    await eventually(async () => (await lockWindows(app)).length === 0, 'every lock window gone', 15_000);
    const paths = defaultPaths(process.platform, env);
    const status = (await readStatus(paths.statusSocket)) as { session: { phase: string; owner: string } };
    assert.equal(status.session.phase, 'unlocked');
    assert.equal(status.session.owner, DANA.id);
  });

  it('left idle: the corner warning window counts down without taking focus, then the lock windows return', async () => {
    const { app } = running;
    const warning = await eventually(() => app.windows().find((w) => w.url().endsWith('/lock/index.html?window=warning')), 'the warning window', 20_000);
    await warning.locator('#app[data-screen="warning"]').waitFor({ timeout: 20_000 });
    const focused = await app.evaluate(({ BrowserWindow }) => BrowserWindow.getFocusedWindow()?.webContents.getURL() ?? null);
    assert.ok(focused === null || !focused.includes('window=warning'), 'the warning window took focus');
    await eventually(async () => (await lockWindows(app)).length > 0, 'the lock windows back', 20_000);
  });

  it('a second launch exits and opens the status window of the running agent', async () => {
    const { app, env } = running;
    const second = await electron.launch({ executablePath: bin.path!, args: [root, '--no-sandbox'], env: { ...process.env, ...env } as Record<string, string> }).catch(() => null);
    if (second) await new Promise<void>((r) => (second.process().exitCode !== null ? r() : second.process().once('exit', () => r())));
    const status = await eventually(() => app.windows().find((w) => w.url().endsWith('/status/index.html')), 'the status window', 15_000);
    await status.locator('#app[data-screen^="status"]').waitFor();
  });
});
