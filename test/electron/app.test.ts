// Electron end-to-end (Playwright _electron): runs wherever an Electron binary exists
// (or ELECTRON_OVERRIDE_DIST_PATH points at one) and is reported as skipped, with the
// reason, where it does not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { _electron as electron } from 'playwright-core';
import { runAgentctl } from '../../main/cli/agentctl';
import { KeytarKeyStore } from '../../main/platform/keystore';
import { uniqueService } from '../support/audit-fixture';
import { DANA } from '../support/lock-driver';

const root = resolve(__dirname, '../../..');

function electronBinary(): { path: string | null; why: string } {
  try {
    // The electron package resolves ELECTRON_OVERRIDE_DIST_PATH itself.
    const p = require('electron') as unknown as string; // eslint-disable-line @typescript-eslint/no-require-imports
    return existsSync(p) ? { path: p, why: '' } : { path: null, why: `no Electron binary at ${p}` };
  } catch (err) {
    return { path: null, why: `no Electron binary (${(err as Error).message.split('\n')[0]}); set ELECTRON_OVERRIDE_DIST_PATH to run this test` };
  }
}

test('the app starts locked (sandboxed lock window on http://localhost, preload bridge, no Node); a badge and a PIN unlock it and the window goes', async (t) => {
  const bin = electronBinary();
  if (!bin.path) {
    t.skip(bin.why);
    return;
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'cwa-electron-'));
  const service = uniqueService('electron');
  const env = { CWA_DATA_DIR: dataDir, CWA_POLICY_FILE: join(dataDir, 'policy.json'), CWA_KEYCHAIN_SERVICE: service };
  // IT enrols the first user the way it would on a real workstation.
  const answers = [DANA.badge, DANA.pin, DANA.pin];
  const added = await runAgentctl(['user', 'add', '--id', DANA.id, '--name', DANA.displayName, '--role', 'enroller'], {
    out: () => undefined,
    err: (l) => assert.fail(l),
    env,
    ask: async () => answers.shift() ?? '',
  });
  assert.equal(added, 0);
  const app = await electron.launch({ executablePath: bin.path, args: [root, '--no-sandbox'], env: { ...process.env, ...env } as Record<string, string> });
  try {
    const page = await app.firstWindow();
    await page.waitForLoadState('domcontentloaded');
    assert.match(page.url(), /^http:\/\/localhost\/lock\/index\.html$/);
    assert.equal(await page.evaluate(() => typeof (globalThis as { agent?: unknown }).agent), 'object');
    assert.equal(await page.evaluate(() => typeof (globalThis as { require?: unknown }).require), 'undefined');
    assert.equal(await page.evaluate(() => typeof (globalThis as { process?: unknown }).process), 'undefined');
    await page.locator('#app[data-screen="locked"]').waitFor();
    // A reader burst (5 ms per key), then a person typing the PIN.
    await page.keyboard.type(DANA.badge, { delay: 5 });
    await page.keyboard.press('Enter');
    await page.locator('#app[data-screen="pin"]').waitFor();
    await page.keyboard.type(DANA.pin, { delay: 150 });
    await page.keyboard.press('Enter');
    await page.waitForEvent('close');
    assert.equal(app.windows().length, 0, 'every lock window is gone once unlocked');
  } finally {
    await app.close();
    for (const a of ['audit-db-key', 'device-signing-key', 'directory-org-key']) await new KeytarKeyStore(service).delete(a).catch(() => false);
    rmSync(dataDir, { recursive: true, force: true });
  }
});
