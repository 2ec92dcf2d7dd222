// `npm run bench`: runs every bench/*.bench.ts module in turn and prints one JSON object
// per line ({name, value, unit, ceiling?, ratio?}). Figures, not pass/fail.
// Usage: node dist/bench/run.js [substring-filter ...]
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchResult } from './result';

async function main(): Promise<void> {
  const filters = process.argv.slice(2);
  const modules = readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.js'))
    .filter((f) => filters.length === 0 || filters.some((needle) => f.includes(needle)))
    .sort();
  let failures = 0;
  for (const file of modules) {
    type BenchFn = (emit: (r: BenchResult) => void) => Promise<void>;
    // A CommonJS module's `export default` arrives as namespace.default.default.
    const ns = (await import(join(__dirname, file))) as { default: BenchFn | { default: BenchFn } };
    const fn = typeof ns.default === 'function' ? ns.default : ns.default.default;
    try {
      await fn((r) => console.log(JSON.stringify(r)));
    } catch (err) {
      failures++;
      console.log(JSON.stringify({ name: file.replace(/\.bench\.js$/, ''), error: err instanceof Error ? err.message : String(err) }));
    }
  }
  process.exitCode = failures > 0 ? 1 : 0;
}

void main();
