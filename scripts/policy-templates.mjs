// Writes the policy templates IT loads (ADMX/ADML, .mobileconfig, JSON Schema, annotated
// reference) into build/policy/ from the compiled generator, main/policy/templates.ts.
// Run `npm run policy-templates` (it compiles first) after changing the policy schema; the
// templates test fails until the checked-in files match the schema again.
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'build', 'policy');
const { policyTemplateFiles } = createRequire(import.meta.url)(join(root, 'dist', 'main', 'policy', 'templates.js'));

for (const { path, text } of await policyTemplateFiles()) {
  const target = join(outDir, path);
  let before = null;
  try {
    before = readFileSync(target, 'utf8');
  } catch {
    // not written yet
  }
  if (before === text) {
    console.log(`unchanged  build/policy/${path}`);
    continue;
  }
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, text);
  console.log(`${before === null ? 'created' : 'updated'}    build/policy/${path}`);
}
