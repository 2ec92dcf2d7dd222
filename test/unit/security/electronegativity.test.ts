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

/**
 * The report as SARIF: electronegativity writes its CSV report with two concurrent async
 * writes (the header truncating, the rows appending), which now and then lose rows; the
 * SARIF report is one write.
 */
const sarifSchema = z.object({
  runs: z
    .array(
      z.object({
        results: z.array(
          z.object({
            ruleId: z.string(),
            message: z.object({ text: z.string() }),
            locations: z
              .array(z.object({ physicalLocation: z.object({ artifactLocation: z.object({ uri: z.string() }), region: z.object({ startLine: z.number(), startColumn: z.number() }) }) }))
              .min(1),
          }),
        ),
      }),
    )
    .length(1),
});

test('electronegativity: every finding over main/, preload/ and renderer/ is allow-listed with a reason', { timeout: 180_000 }, async () => {
  const allow = allowSchema.parse(JSON.parse(readFileSync(ALLOW_FILE, 'utf8')));
  const work = mkdtempSync(join(tmpdir(), 'cwa-eneg-'));
  try {
    const app = join(work, 'app');
    for (const dir of ['main', 'preload', 'renderer']) cpSync(join(ROOT, dir), join(app, dir), { recursive: true });
    cpSync(join(ROOT, 'package.json'), join(app, 'package.json'));
    const electron = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies.electron!;
    const report = join(work, 'report.sarif');
    const cli = require.resolve('@doyensec/electronegativity/dist/index.js');
    await promisify(execFile)(
      process.execPath,
      [cli, '-i', app, '-r', '-v', 'false', '-e', electron.replace(/^[^\d]*/, ''), '-o', report],
      { cwd: work, timeout: 170_000, maxBuffer: 16 << 20 },
    );
    const results = sarifSchema.parse(JSON.parse(readFileSync(report, 'utf8'))).runs[0]!.results;
    const findings = results
      .map((r) => {
        const { artifactLocation, region } = r.locations[0]!.physicalLocation;
        // Findings about no file in particular (a global check) carry the URI file:///.
        const file = artifactLocation.uri === 'file:///' ? 'N/A' : artifactLocation.uri.replace(/\\/g, '/');
        return { check: r.ruleId, file, location: `${region.startLine}:${region.startColumn}`, description: r.message.text };
      })
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
