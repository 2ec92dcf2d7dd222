// Bundles each renderer page with esbuild: one ES module per page (renderer/<page>/main.ts →
// dist/pages/<page>/main.js) with @simplewebauthn/browser inside, no Node and no
// Electron (platform browser: a Node import fails the build), no source maps; HTML and CSS
// are copied beside it.
import { build } from 'esbuild';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'renderer');
const out = join(root, 'dist', 'pages');

const pages = readdirSync(src).filter((d) => existsSync(join(src, d, 'main.ts')));
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

await build({
  entryPoints: Object.fromEntries(pages.map((p) => [`${p}/main`, join(src, p, 'main.ts')])),
  outdir: out,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome120'],
  sourcemap: false,
  minify: false,
  legalComments: 'none',
  logLevel: 'warning',
  tsconfig: join(src, 'tsconfig.json'),
});

function copyAssets(dir) {
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) copyAssets(full);
    else if (/\.(html|css|svg|png)$/.test(name)) {
      const dest = join(out, relative(src, full));
      mkdirSync(dirname(dest), { recursive: true });
      cpSync(full, dest);
    }
  }
}
copyAssets(src);
console.log(`renderer: ${pages.join(', ')} → ${relative(root, out)}`);
