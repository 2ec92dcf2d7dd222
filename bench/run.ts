// `npm run bench`: runs every bench/*.bench.ts module in turn and prints one JSON object
// per line ({name, value, unit, ceiling?, ratio?}). Figures, not pass/fail.
// Each module runs in a process of its own: no figure is measured on a heap, handles or
// caches another bench left behind (a 100,000-event drain leaves about 150 MB of garbage,
// which V8 collects whenever it decides, possibly during the next bench's timed runs).
// Usage: node dist/bench/run.js [substring-filter ...]
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchResult } from './result';

const MODULE_FLAG = '--module';

type BenchFn = (emit: (r: BenchResult) => void) => Promise<void>;

/** Runs one bench module in this process; exit code 1 if it threw. */
async function runModule(file: string): Promise<void> {
  // A CommonJS module's `export default` arrives as namespace.default.default.
  const ns = (await import(join(__dirname, file))) as { default: BenchFn | { default: BenchFn } };
  const fn = typeof ns.default === 'function' ? ns.default : ns.default.default;
  try {
    await fn((r) => console.log(JSON.stringify(r)));
  } catch (err) {
    console.log(JSON.stringify({ name: benchName(file), error: err instanceof Error ? err.message : String(err) }));
    process.exitCode = 1;
  }
}

/** Runs one bench module in a child process (same Node flags and environment); resolves with its exit code. */
function runChild(file: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, __filename, MODULE_FLAG, file], { stdio: 'inherit' });
    child.once('error', (err) => {
      console.log(JSON.stringify({ name: benchName(file), error: `could not start: ${err.message}` }));
      resolve(1);
    });
    child.once('exit', (code, signal) => {
      if (signal !== null) console.log(JSON.stringify({ name: benchName(file), error: `killed by ${signal}` }));
      resolve(code ?? 1);
    });
  });
}

function benchName(file: string): string {
  return file.replace(/\.bench\.js$/, '');
}

async function main(): Promise<void> {
  if (process.argv[2] === MODULE_FLAG) {
    await runModule(process.argv[3]!);
    // Done: a handle a bench left open must not keep its process (and so the run) waiting.
    process.stdout.write('', () => process.exit());
    return;
  }
  const filters = process.argv.slice(2);
  const modules = readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.js'))
    .filter((f) => filters.length === 0 || filters.some((needle) => f.includes(needle)))
    .sort();
  let failures = 0;
  for (const file of modules) {
    if ((await runChild(file)) !== 0) failures++;
  }
  process.exitCode = failures > 0 ? 1 : 0;
}

void main();
