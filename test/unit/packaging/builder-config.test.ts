// electron-builder.yml as electron-builder itself reads it: the configuration passes its
// schema (a wrong key fails a packaging run only on the build machine, too late), and the
// Electron fuses that make the packaged app refuse to be used as a generic Node or Chromium
// are flipped at package time (electron-builder's `electronFuses`, applied right after
// packing and before signing: the afterPack step, without a hand-written hook).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { DebugLogger } from 'builder-util';
import { validateConfiguration } from 'app-builder-lib/out/util/config/config';
import { loadBuilderConfig } from '../../support/electron-builder-probe';

const ROOT = resolve(__dirname, '../../../..');



test('electron-builder accepts the configuration, and the fuses are flipped', async () => {
  // app-builder-lib is electron-builder's own library: the same loader and schema a packaging run uses.
  const config = await loadBuilderConfig(ROOT);
  await validateConfiguration(config, new DebugLogger(false));
  assert.equal(config.asar, true);
  assert.deepEqual(config.electronFuses, {
    // ELECTRON_RUN_AS_NODE would turn the signed binary into a plain Node for anyone.
    runAsNode: false,
    enableCookieEncryption: true,
    // NODE_OPTIONS and --inspect would let a local user inject code into the main process.
    enableNodeOptionsEnvironmentVariable: false,
    enableNodeCliInspectArguments: false,
    // Only the packaged, integrity-checked app.asar is ever loaded.
    enableEmbeddedAsarIntegrityValidation: true,
    onlyLoadAppFromAsar: true,
    grantFileProtocolExtraPrivileges: false,
  });
});
