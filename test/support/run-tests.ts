// Runs every compiled test file (dist/test/**/*.test.js) with node:test, streams the spec
// report, and ends with the plain summary line `N passed, N failed, N skipped`.
// Usage: node dist/test/support/run-tests.js [substring-filter ...]
import { run } from 'node:test';
import { spec } from 'node:test/reporters';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const testRoot = resolve(__dirname, '..');
const sourceRoot = resolve(__dirname, '../../../test');

function findTests(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...findTests(full));
    else if (name.endsWith('.test.js')) out.push(full);
  }
  return out.sort();
}

const filters = process.argv.slice(2);
const files = findTests(testRoot)
  // A compiled test whose source was moved or deleted is stale output, not a test.
  .filter((f) => existsSync(join(sourceRoot, relative(testRoot, f).replace(/\.js$/, '.ts'))))
  .filter((f) => filters.length === 0 || filters.some((needle) => relative(testRoot, f).includes(needle)));
if (files.length === 0) {
  console.error(`run-tests: no test file matches ${filters.join(' ') || '(all)'} under ${testRoot}`);
  process.exit(2);
}

let passed = 0;
let failed = 0;
let skipped = 0;
const stream = run({ files, concurrency: Number(process.env.CWA_TEST_CONCURRENCY ?? 3), timeout: 10 * 60_000 });
stream.on('test:pass', (data) => {
  // A skipped suite (e.g. the Electron tests where there is no binary) counts once, as skipped.
  if (data.details.type === 'suite') {
    if (data.skip) skipped++;
    return;
  }
  if (data.skip || data.todo) skipped++;
  else passed++;
});
stream.on('test:fail', (data) => {
  if (data.details.type === 'suite') return;
  failed++;
});
const reporter = stream.compose(new spec());
reporter.pipe(process.stdout);
// After the reporter's own summary has been written, so this is the last line of the run.
reporter.on('end', () => {
  console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
  process.exitCode = failed > 0 || passed === 0 ? 1 : 0;
});
