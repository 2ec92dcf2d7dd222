// Electron end-to-end (Playwright _electron): runs wherever an Electron binary exists
// (or ELECTRON_OVERRIDE_DIST_PATH points at one) and is reported as skipped, with the
// reason, where it does not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { _electron as electron } from 'playwright-core';
import { uniqueService } from '../support/audit-fixture';

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

test('the app starts locked: a sandboxed lock window from http://localhost (in-process) with the preload bridge and no Node', async (t) => {
  const bin = electronBinary();
  if (!bin.path) {
    t.skip(bin.why);
    return;
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'cwa-electron-'));
  const app = await electron.launch({
    executablePath: bin.path,
    args: [root, '--no-sandbox'],
    env: { ...process.env, CWA_DATA_DIR: dataDir, CWA_POLICY_FILE: join(dataDir, 'policy.json'), CWA_KEYCHAIN_SERVICE: uniqueService('electron') } as Record<string, string>,
  });
  try {
    const page = await app.firstWindow();
    await page.waitForLoadState('domcontentloaded');
    assert.match(page.url(), /^http:\/\/localhost\/lock\/index\.html$/);
    assert.equal(await page.evaluate(() => typeof (globalThis as { agent?: unknown }).agent), 'object');
    assert.equal(await page.evaluate(() => typeof (globalThis as { require?: unknown }).require), 'undefined');
    assert.equal(await page.evaluate(() => typeof (globalThis as { process?: unknown }).process), 'undefined');
    assert.equal(await page.textContent('h1'), 'This workstation is locked');
  } finally {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
