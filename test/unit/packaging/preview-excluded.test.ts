// The preview (npm start without Electron) is for development and demos only: it must never
// ship. Checked two ways: electron-builder's `files` patterns leave dist/preview out (and say
// so explicitly), and nothing the app does ship (main/, preload/) imports preview/, so no
// bundler or future pattern could pull it in through a dependency.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { minimatch } from 'minimatch';

const root = resolve(__dirname, '../../../..');

/** The `files:` block list of electron-builder.yml (plain or quoted scalars, comments skipped). */
function filesPatterns(yaml: string): string[] {
  const lines = yaml.split(/\r?\n/);
  const start = lines.findIndex((l) => /^files:\s*$/.test(l));
  assert.ok(start >= 0, 'electron-builder.yml has a top-level `files:` block list');
  const patterns: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (/^\s*(#.*)?$/.test(line)) continue;
    const item = /^\s+-\s+(.+?)\s*$/.exec(line);
    if (!item) break;
    const value = item[1]!;
    if (value.startsWith('"')) patterns.push(JSON.parse(value) as string);
    else if (value.startsWith("'")) patterns.push(value.slice(1, -1).replace(/''/g, "'"));
    else patterns.push(value.replace(/\s+#.*$/, ''));
  }
  return patterns;
}

/** Whether electron-builder would package `path`: the last pattern that matches decides (a `!` one excludes). */
function packaged(patterns: readonly string[], path: string): boolean {
  let included = false;
  for (const p of patterns) {
    if (p.startsWith('!')) {
      if (minimatch(path, p.slice(1), { dot: true })) included = false;
    } else if (minimatch(path, p, { dot: true })) {
      included = true;
    }
  }
  return included;
}

function walk(dir: string, keep: (file: string) => boolean): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...walk(full, keep));
    else if (keep(full)) out.push(full);
  }
  return out;
}

const patterns = filesPatterns(readFileSync(join(root, 'electron-builder.yml'), 'utf8'));
const previewPaths = [
  'dist/preview/main.js',
  'dist/preview/start-preview.js',
  'dist/preview/preview-server.js',
  'dist/preview/static/bridge.js',
  'preview/main.ts',
  'preview/static/bridge.js',
  'preview/static/index.html',
  ...walk(join(root, 'dist', 'preview'), () => true).map((f) => relative(root, f).split(sep).join('/')),
];

test('the packaged file list leaves the preview out, and says so explicitly', () => {
  // The check itself can tell a packaged file from one left out.
  for (const shipped of ['dist/main/agent.js', 'dist/main/index.js', 'dist/preload/index.js', 'dist/pages/lock/index.html', 'package.json']) {
    assert.equal(packaged(patterns, shipped), true, `${shipped} is packaged`);
  }
  for (const path of previewPaths) {
    assert.equal(packaged(patterns, path), false, `${path} must not be packaged`);
    const including = patterns.filter((p) => !p.startsWith('!') && minimatch(path, p, { dot: true }));
    assert.deepEqual(including, [], `no files pattern includes ${path}`);
  }
  assert.ok(
    patterns.some((p) => p.startsWith('!') && minimatch('dist/preview/main.js', p.slice(1), { dot: true }) && minimatch('dist/preview/static/x/y.js', p.slice(1), { dot: true })),
    'electron-builder.yml excludes dist/preview/** explicitly (belt and braces)',
  );
});

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm;

/** Every relative module specifier in `file`, resolved to a path. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(SPECIFIER)].map((m) => m[1]!).filter((s) => s.startsWith('.')).map((s) => resolve(dirname(file), s));
}

test('nothing that ships (main/, preload/, and their compiled code) imports the preview', () => {
  const sources = [...walk(join(root, 'main'), (f) => f.endsWith('.ts')), ...walk(join(root, 'preload'), (f) => f.endsWith('.ts'))];
  const compiled = [...walk(join(root, 'dist', 'main'), (f) => f.endsWith('.js')), ...walk(join(root, 'dist', 'preload'), (f) => f.endsWith('.js'))];
  assert.ok(sources.length > 20, 'the source tree was found');
  // The scan sees imports at all (it would otherwise pass on anything).
  assert.ok(importsOf(join(root, 'main', 'agent.ts')).some((p) => p === join(root, 'main', 'audit', 'open-buffer')));
  const offenders: string[] = [];
  for (const [files, previewDir] of [
    [sources, join(root, 'preview')],
    [compiled, join(root, 'dist', 'preview')],
  ] as const) {
    for (const file of files) {
      for (const target of importsOf(file)) {
        if (target === previewDir || target.startsWith(previewDir + sep)) offenders.push(`${relative(root, file)} → ${relative(root, target)}`);
      }
    }
  }
  assert.deepEqual(offenders, []);
  assert.equal(existsSync(join(root, 'dist', 'pages', 'preview')), false, 'the preview’s browser files are not among the packaged pages');
});
