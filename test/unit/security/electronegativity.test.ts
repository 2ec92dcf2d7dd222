// Electronegativity (Doyensec's Electron security checker) over what ships: main/, preload/
// and renderer/. Zero findings, or each one in the checked-in allow-list with its reason;
// an allow-list entry that no longer matches anything fails too, so the list stays honest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';

const ROOT = resolve(__dirname, '../../../..');
const ALLOW_FILE = join(ROOT, 'test/unit/security/electronegativity-allow.json');
const allowSchema = z.object({
  ignoredChecks: z.record(z.string(), z.string().min(20)),
  allowed: z.array(z.strictObject({ check: z.string(), file: z.string(), reason: z.string().min(20) })),
});

/** One CSV row of electronegativity's report: issue, severity, confidence, filename, location, sample, description, url. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  const endField = (): void => {
    row.push(field.trim());
    field = '';
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') endField();
    else if (c === '\n') {
      endField();
      rows.push(row);
      row = [];
    } else if (c !== '\r') field += c;
  }
  if (field.trim() || row.length) rows.push([...row, field.trim()]);
  return rows;
}

test('electronegativity: every finding over main/, preload/ and renderer/ is allow-listed with a reason', { timeout: 180_000 }, async () => {
  const allow = allowSchema.parse(JSON.parse(readFileSync(ALLOW_FILE, 'utf8')));
  const work = mkdtempSync(join(tmpdir(), 'cwa-eneg-'));
  try {
    const app = join(work, 'app');
    for (const dir of ['main', 'preload', 'renderer']) cpSync(join(ROOT, dir), join(app, dir), { recursive: true });
    cpSync(join(ROOT, 'package.json'), join(app, 'package.json'));
    const electron = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies.electron!;
    const report = join(work, 'report.csv');
    const cli = require.resolve('@doyensec/electronegativity/dist/index.js');
    await promisify(execFile)(
      process.execPath,
      [cli, '-i', app, '-r', '-v', 'false', '-e', electron.replace(/^[^\d]*/, ''), '-o', report],
      { cwd: work, timeout: 170_000, maxBuffer: 16 << 20 },
    );
    const rows = parseCsv(readFileSync(report, 'utf8')).slice(1).filter((r) => r.length > 3);
    const findings = rows
      .map((r) => ({ check: r[0]!, file: r[3]!.replace(/\\/g, '/'), location: r[4]!, description: r[6]! }))
      .filter((f) => !(f.check in allow.ignoredChecks));
    const key = (f: { check: string; file: string }) => `${f.check} ${f.file}`;
    const allowed = new Set(allow.allowed.map(key));
    const unexplained = findings.filter((f) => !allowed.has(key(f))).map((f) => `${f.check} at ${f.file}:${f.location}: ${f.description}`);
    assert.deepEqual(unexplained, [], 'findings not in the allow-list: fix them, or add each with its reason');
    const seen = new Set(findings.map(key));
    const stale = allow.allowed.filter((a) => !seen.has(key(a))).map(key);
    assert.deepEqual(stale, [], 'allow-list entries that match no finding any more: remove them');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
