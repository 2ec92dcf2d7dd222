// What the installers would contain, per platform, as electron-builder itself computes it: its
// own file matchers and node-module collector run over the real project (dist/ after the build,
// the production node_modules), through electron-builder's packaging run stopped before packing.
// The app ships its compiled main, preload and pages with their production dependencies, and
// nothing else: no tests, preview, collector (nor its PostgreSQL client), benchmarks, sources,
// source maps, keys or certificates. native-reg (Windows registry) ships only its prebuilt binary
// for the Windows architecture packaged, and no binary at all for macOS and Linux. Nothing that
// ships imports the preview, so no future pattern or bundler could pull it in.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, type Stats } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { walk } from 'builder-util';
import type { Packager, PlatformPackager, PlatformSpecificBuildOptions } from 'app-builder-lib';
import { FileMatcher, getFileMatchers } from 'app-builder-lib/out/fileMatcher';
import { computeFileSets, type ResolvedFileSet } from 'app-builder-lib/out/util/appFileCopier';
import type { Minimatch } from 'minimatch';
import { PROJECT_ROOT, probePackager, type ProbeArch, type ProbePlatform } from '../../support/electron-builder-probe';

const root = PROJECT_ROOT;

// Internal to app-builder-lib (no declarations), but what its packaging run calls to choose the files.
interface FileMatcherInternals {
  getMainFileMatchers(
    appDir: string,
    destination: string,
    macroExpander: (pattern: string) => string,
    platformSpecificBuildOptions: PlatformSpecificBuildOptions,
    platformPackager: PlatformPackager<PlatformSpecificBuildOptions>,
    outDir: string,
    isElectronCompile: boolean,
  ): FileMatcher[];
  getNodeModuleFileMatcher(appDir: string, destination: string, macroExpander: (pattern: string) => string, platformSpecificBuildOptions: PlatformSpecificBuildOptions, packager: Packager): FileMatcher;
}
interface AppFileCopierInternals {
  computeNodeModuleFileSets(platformPackager: PlatformPackager<PlatformSpecificBuildOptions>, mainMatcher: FileMatcher): Promise<ResolvedFileSet[]>;
}
const requireHere = createRequire(__filename);
const { getMainFileMatchers, getNodeModuleFileMatcher } = requireHere('app-builder-lib/out/fileMatcher') as FileMatcherInternals;
const { computeNodeModuleFileSets } = requireHere('app-builder-lib/out/util/appFileCopier') as AppFileCopierInternals;

interface Packaged {
  /** Paths inside the app (app.asar and its unpacked part), e.g. dist/main/index.js, node_modules/zod/package.json. */
  readonly app: readonly string[];
  /** Paths inside the resources folder beside the app (extraResources), e.g. policy/agent-policy.json. */
  readonly resources: readonly string[];
  /** Whether electron-builder would package the node module file at `path` (relative to the app), were it there. */
  readonly wouldPackageModuleFile: (path: string) => boolean;
}

const posix = (p: string): string => p.split(sep).join('/');

/** The files of `sets`, as paths below `destination`. */
function filesOf(sets: readonly ResolvedFileSet[], destination: string): string[] {
  return sets.flatMap((set) =>
    set.files.filter((f) => set.metadata.get(f)?.isDirectory() === false).map((f) => posix(relative(destination, join(set.destination, relative(set.src, f))))),
  );
}

/** The app and resource files electron-builder would package for `platform`/`arch`, computed the way its packaging run does. */
function packaged(platform: ProbePlatform, arch: ProbeArch): Promise<Packaged> {
  return probePackager(platform, arch, async ({ info, packager, options }) => {
    const matcherOptions = packager.createGetFileMatchersOptions(options.outDir, options.arch, options.platformSpecificBuildOptions);
    const { macroExpander } = matcherOptions;
    const resourcesDir = packager.getResourcesDir(options.appOutDir);
    const appDir = join(resourcesDir, 'app');
    const extraResources = getFileMatchers(packager.config, 'extraResources', resourcesDir, matcherOptions) ?? [];
    const extraFiles = getFileMatchers(packager.config, 'extraFiles', options.appOutDir, matcherOptions) ?? [];
    // As in its copyAppFiles: what goes beside the app is not also packed into it.
    const excludePatterns: Minimatch[] = [];
    for (const m of [...extraResources, ...extraFiles]) m.computeParsedPatterns(excludePatterns, info.projectDir);
    const main = getMainFileMatchers(info.appDir, appDir, macroExpander, options.platformSpecificBuildOptions, packager, options.outDir, false);
    if (excludePatterns.length > 0) for (const m of main) m.excludePatterns = excludePatterns;
    const moduleMatcher = getNodeModuleFileMatcher(info.appDir, appDir, macroExpander, options.platformSpecificBuildOptions, info);
    const sets = [...(await computeFileSets(main, null, packager, false)), ...(await computeNodeModuleFileSets(packager, moduleMatcher))];

    const resources: string[] = [];
    for (const m of [...extraResources, ...extraFiles]) {
      const to = posix(relative(resourcesDir, m.to));
      if (statSync(m.from).isFile()) {
        resources.push(to);
        continue;
      }
      if (m.isEmpty() || m.containsOnlyIgnore()) m.prependPattern('**/*');
      const filter = m.createFilter();
      for (const f of await walk(m.from, filter)) if (statSync(f).isFile()) resources.push(posix(join(to, relative(m.from, f))));
    }

    const wouldPackageModuleFile = (path: string): boolean => {
      const [, name, ...rest] = path.split('/');
      const moduleDir = join(info.appDir, 'node_modules', name!);
      const filter = new FileMatcher(moduleDir, appDir, macroExpander, moduleMatcher.patterns).createFilter();
      // The node-module copier names each file by its path inside the app, as here.
      const stat = { isDirectory: () => false, isFile: () => true, moduleFullFilePath: `node_modules/${name}/${rest.join('/')}` } as unknown as Stats;
      return filter(join(moduleDir, ...rest), stat);
    };
    return { app: filesOf(sets, appDir), resources, wouldPackageModuleFile };
  });
}

/** What must never ship, each with what it is. */
const NEVER: readonly (readonly [RegExp, string])[] = [
  [/^dist\/test\//, 'a test'],
  [/^(dist\/)?preview\//, 'the preview'],
  [/^dist\/pages\/preview\//, "the preview's browser files"],
  [/^(dist\/)?collector\//, 'the collector'],
  [/^node_modules\/(pg|pg-[^/]+|pgpass|postgres-[^/]+)\//, "the collector's PostgreSQL client"],
  [/^(dist\/)?bench\//, 'a benchmark'],
  [/^(main|preload|renderer|test|scripts|build)\//, 'a source or build file'],
  [/^(?!package\.json$)[^/]+\.(ts|md|yml|yaml|json|json5)$/, 'a project file other than package.json'],
  [/\.map$/, 'a source map'],
  [/\.(pem|key|p12|pfx|crt|cer|der|csr|p7b|jks|keystore|p8|gpg|asc)$/i, 'a key or certificate'],
  [/(^|\/)\.env(\.[^/]*)?$/, 'an environment file'],
  [/(^|\/)(id_rsa|id_ed25519|\.npmrc|\.git-credentials)$/, 'a credential'],
  [/\.tsbuildinfo$/, "TypeScript's build state"],
];

const TARGETS: readonly (readonly [ProbePlatform, ProbeArch])[] = [
  ['win', 'x64'],
  ['win', 'arm64'],
  ['mac', 'arm64'],
  ['linux', 'x64'],
];

const results = new Map<string, Packaged>();
const of = (platform: ProbePlatform, arch: ProbeArch): Packaged => results.get(`${platform}-${arch}`)!;

before(async () => {
  assert.ok(existsSync(join(root, 'dist', 'main', 'index.js')), 'dist/ is built (npm run build) before this test');
  for (const [platform, arch] of TARGETS) results.set(`${platform}-${arch}`, await packaged(platform, arch));
});

describe('the files electron-builder packages', () => {
  for (const [platform, arch] of TARGETS) {
    it(`${platform} ${arch}: the compiled app and its production dependencies`, () => {
      const { app } = of(platform, arch);
      for (const file of [
        'package.json',
        'dist/main/index.js',
        'dist/main/agent.js',
        'dist/preload/index.js',
        'dist/pages/lock/index.html',
        'dist/pages/lock/main.js',
        'node_modules/keytar/package.json',
        'node_modules/better-sqlite3-multiple-ciphers/package.json',
        'node_modules/zod/package.json',
      ]) {
        assert.ok(app.includes(file), `${file} is packaged for ${platform} ${arch}`);
      }
      // Every production dependency of package.json is there (the collector's PostgreSQL client aside).
      const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
      for (const dep of Object.keys(pkg.dependencies).filter((d) => d !== 'pg')) {
        assert.ok(app.includes(`node_modules/${dep}/package.json`), `the dependency ${dep} is packaged for ${platform} ${arch}`);
      }
    });

    it(`${platform} ${arch}: no tests, preview, collector, benchmarks, sources, source maps, keys or certificates`, () => {
      const { app, resources } = of(platform, arch);
      const offenders = [...app.map((f) => ['app', f] as const), ...resources.map((f) => ['resources', f] as const)].flatMap(([where, file]) =>
        NEVER.filter(([pattern]) => pattern.test(file)).map(([, what]) => `${where}/${file}: ${what}`),
      );
      assert.deepEqual(offenders, []);
      // The check itself can tell: the tree has each kind of file it refuses.
      for (const present of ['dist/test', 'dist/preview', 'dist/collector', 'test', 'preview', 'collector', 'node_modules/pg']) {
        assert.ok(existsSync(join(root, present)), `${present} exists in the project, so leaving it out is tested`);
      }
      assert.ok(existsSync(join(root, 'dist', 'main', 'index.js.map')), 'dist/ has source maps, so leaving them out is tested');
    });
  }

  it('the policy templates ship beside the app, not inside it', () => {
    for (const [platform, arch] of TARGETS) {
      const { app, resources } = of(platform, arch);
      assert.ok(resources.some((f) => f.startsWith('policy/')), `policy templates in the resources for ${platform} ${arch}`);
      assert.ok(!app.some((f) => f.startsWith('build/')));
    }
    assert.ok(of('mac', 'arm64').resources.includes('LaunchAgents/org.clinicalworkstation.agent.plist'), 'the LaunchAgent is sealed in the macOS bundle');
  });

  it('excludes the preview explicitly too (belt and braces)', () => {
    const yaml = readFileSync(join(root, 'electron-builder.yml'), 'utf8');
    assert.match(yaml, /^\s+- "!dist\/preview\/\*\*"$/m);
  });
});

describe('native-reg (the Windows registry, in-process)', () => {
  const prebuilds = (files: readonly string[]): string[] => files.filter((f) => f.startsWith('node_modules/native-reg/') && f.endsWith('.node'));

  it('ships on Windows with the prebuilt binary for the architecture packaged, and no other', () => {
    assert.deepEqual(prebuilds(of('win', 'x64').app), ['node_modules/native-reg/prebuilds/win32-x64/node.napi.node']);
    assert.deepEqual(prebuilds(of('win', 'arm64').app), ['node_modules/native-reg/prebuilds/win32-arm64/node.napi.node']);
    assert.ok(existsSync(join(root, 'node_modules/native-reg/prebuilds/win32-ia32/node.napi.node')), 'the other binaries exist, so leaving them out is tested');
  });

  it('ships no binary to macOS or Linux, but its JavaScript, which loads native code only on Windows', () => {
    for (const platform of ['mac', 'linux'] as const) {
      const { app } = of(platform, platform === 'mac' ? 'arm64' : 'x64');
      assert.deepEqual(prebuilds(app), [], `no native-reg binary for ${platform}`);
      assert.ok(app.includes('node_modules/native-reg/lib/index.js') && app.includes('node_modules/native-reg/package.json'), `require('native-reg') still resolves on ${platform}`);
    }
    assert.match(readFileSync(join(root, 'node_modules/native-reg/lib/index.js'), 'utf8'), /var native = isWindows && require\('node-gyp-build'\)/);
  });

  it('leaves out what a packaging rebuild would leave in its build folder, and its sources, everywhere', () => {
    for (const [platform, arch] of TARGETS) {
      const { app, wouldPackageModuleFile } = of(platform, arch);
      assert.equal(wouldPackageModuleFile('node_modules/native-reg/build/Release/reg.node'), false, `native-reg's build/ is left out for ${platform}`);
      assert.equal(wouldPackageModuleFile('node_modules/native-reg/lib/index.js'), true, 'the probe can tell a packaged file');
      assert.deepEqual(app.filter((f) => f.startsWith('node_modules/native-reg/src/')), []);
    }
  });

  // The Node headers scripts/setup.sh builds native modules against (no header download).
  const nodeDir = '/usr';
  const nodeHeaders = join(nodeDir, 'include', 'node', 'node.h');
  const skipBuild = !existsSync(nodeHeaders) ? `no Node headers at ${nodeHeaders}` : spawnSync('make', ['--version']).error ? 'make is not installed' : false;

  it("compiles to an empty module off Windows, which is what electron-builder's rebuild does on macOS and Linux", { skip: skipBuild }, () => {
    // Its binding.gyp lists reg.cc only for Windows; node-addon-api is found where npm ci puts it.
    const work = mkdtempSync(join(tmpdir(), 'cwa-native-reg-'));
    try {
      const moduleDir = join(work, 'node_modules', 'native-reg');
      cpSync(join(root, 'node_modules', 'native-reg'), moduleDir, { recursive: true });
      symlinkSync(join(root, 'node_modules', 'node-addon-api'), join(work, 'node_modules', 'node-addon-api'), 'dir');
      const nodeGyp = requireHere.resolve('node-gyp/bin/node-gyp.js');
      const built = spawnSync(process.execPath, [nodeGyp, 'rebuild', `--nodedir=${nodeDir}`], { cwd: moduleDir, encoding: 'utf8', timeout: 120_000 });
      const output = `${built.stdout}\n${built.stderr}`;
      assert.equal(built.status, 0, `node-gyp rebuild failed:\n${output}`);
      assert.deepEqual(readdirSync(join(moduleDir, 'build', 'Release')).filter((f) => f.endsWith('.node')), ['reg.node']);
      assert.ok(!output.includes('reg.o'), 'no source of native-reg was compiled off Windows');
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm;

/** Every relative module specifier in `file`, resolved to a path. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(SPECIFIER)].map((m) => m[1]!).filter((s) => s.startsWith('.')).map((s) => resolve(dirname(file), s));
}

function sourceFiles(dir: string, keep: (file: string) => boolean): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...sourceFiles(full, keep));
    else if (keep(full)) out.push(full);
  }
  return out;
}

it('nothing that ships (main/, preload/, and their compiled code) imports the preview', () => {
  const sources = [...sourceFiles(join(root, 'main'), (f) => f.endsWith('.ts')), ...sourceFiles(join(root, 'preload'), (f) => f.endsWith('.ts'))];
  const compiled = [...sourceFiles(join(root, 'dist', 'main'), (f) => f.endsWith('.js')), ...sourceFiles(join(root, 'dist', 'preload'), (f) => f.endsWith('.js'))];
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
});
