// The layering rule of DESIGN.md is enforced by ESLint: these run the project's own config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { ESLint } from 'eslint';

const root = resolve(__dirname, '../../../..');
const eslint = new ESLint({ cwd: root });

async function restrictedImportErrors(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: resolve(root, filePath) });
  return (result?.messages ?? [])
    .filter((m) => m.ruleId === 'no-restricted-imports' || m.ruleId === '@typescript-eslint/no-restricted-imports')
    .map((m) => m.message);
}

const electronImport = "import { app } from 'electron';\nexport const a = app;\n";

test('core code may not import electron', async () => {
  for (const file of ['main/agent.ts', 'main/audit/store-x.ts', 'main/session/engine-x.ts', 'main/cli/x.ts']) {
    const errors = await restrictedImportErrors(electronImport, file);
    assert.equal(errors.length, 1, `${file}: ${errors.join()}`);
    assert.match(errors[0]!, /Only main\/index\.ts, main\/shell\/\*\* and preload\/\*\* may import electron/);
  }
  const [viaRequire] = await eslint.lintText("const e = require('electron');\nexport default e;\n", { filePath: resolve(root, 'main/audit/x.ts') });
  assert.ok(viaRequire?.messages.some((m) => m.ruleId === '@typescript-eslint/no-require-imports'), 'require() is refused outright in TypeScript');
  assert.equal((await restrictedImportErrors("import { ipcMain } from 'electron/main';\nexport const i = ipcMain;\n", 'main/forward/x.ts')).length, 1);
});

test('the Electron layer may import electron', async () => {
  for (const file of ['main/index.ts', 'main/shell/tray.ts', 'preload/index.ts']) {
    assert.deepEqual(await restrictedImportErrors(electronImport, file), [], file);
  }
});

test('the renderer imports no Node module, no electron, and only types from preload/contract', async () => {
  assert.equal((await restrictedImportErrors("import { readFileSync } from 'node:fs';\nexport const r = readFileSync;\n", 'renderer/lock/lock.ts')).length, 1);
  assert.equal((await restrictedImportErrors("import * as cp from 'child_process';\nexport const c = cp;\n", 'renderer/lock/lock.ts')).length, 1);
  assert.equal((await restrictedImportErrors(electronImport, 'renderer/status/status.ts')).length, 1);
  assert.equal((await restrictedImportErrors("import { AuditStore } from '../../main/audit/store';\nexport const s = AuditStore;\n", 'renderer/status/status.ts')).length, 1);
  assert.deepEqual(await restrictedImportErrors("import type { AgentApi } from '../../preload/contract';\nexport type A = AgentApi;\n", 'renderer/lock/lock.ts'), []);
  assert.equal((await restrictedImportErrors("import { CHANNELS } from '../../preload/contract';\nexport const c = CHANNELS;\n", 'renderer/lock/lock.ts')).length, 1);
});
