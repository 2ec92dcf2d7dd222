// Runs electron-builder's own Packager over this project for one platform and architecture, as
// a packaging run would (electron-builder.yml read and validated, app info, platform options),
// and stops where it would start packing: the probe gets the real platform packager and pack
// options instead. Packaging tests use it to ask electron-builder itself which files it would
// package and which WiX project it would write, without the Electron download, WiX or fpm.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { Arch, log } from 'builder-util';
import { LinuxPackager, MacPackager, Packager, Platform, WinPackager, type PlatformPackager, type PlatformSpecificBuildOptions } from 'app-builder-lib';
import type { DoPackOptions } from 'app-builder-lib/out/platformPackager';
import { getConfig } from 'app-builder-lib/out/util/config/config';
import type { Configuration } from 'electron-builder';

export const PROJECT_ROOT = resolve(__dirname, '../../..');

export type ProbePlatform = 'linux' | 'mac' | 'win';
export type ProbeArch = 'x64' | 'arm64';

export interface ProbeContext {
  readonly info: Packager;
  readonly packager: PlatformPackager<PlatformSpecificBuildOptions>;
  readonly options: DoPackOptions<PlatformSpecificBuildOptions>;
  /** An empty folder of the probe's own, removed afterwards. */
  readonly scratch: string;
}

const PLATFORMS = {
  linux: { platform: Platform.LINUX, packager: LinuxPackager },
  mac: { platform: Platform.MAC, packager: MacPackager },
  win: { platform: Platform.WINDOWS, packager: WinPackager },
} as const;

/**
 * Runs `work` with electron-builder's log captured instead of printed: its log goes to
 * stdout, which in a test file is the test runner's channel to its parent (a line written
 * there mid-message corrupts the report). What it logged is added to an error.
 */
async function withBuilderLogCaptured<T>(work: (logged: () => string) => Promise<T>): Promise<T> {
  const logger = log as unknown as { stream: NodeJS.WritableStream };
  const original = logger.stream;
  let logged = '';
  logger.stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logged += chunk.toString();
      done();
    },
  });
  try {
    return await work(() => logged);
  } catch (err) {
    if (err instanceof Error) err.message += `\nelectron-builder said:\n${logged}`;
    throw err;
  } finally {
    logger.stream = original;
  }
}

/** electron-builder.yml as electron-builder's own loader reads it (its log kept out of the report). */
export function loadBuilderConfig(projectDir: string = PROJECT_ROOT): Promise<Configuration> {
  return withBuilderLogCaptured(() => getConfig(projectDir, null, null));
}

/**
 * `probe`'s answer, computed inside electron-builder's packaging run for `platform` and `arch`
 * at the point where it would pack. electron-builder's log is kept out of the test report and
 * added to the error when the run fails.
 */
export async function probePackager<T>(platform: ProbePlatform, arch: ProbeArch, probe: (ctx: ProbeContext) => Promise<T>): Promise<T> {
  const { platform: target, packager: PlatformPackagerClass } = PLATFORMS[platform];
  const scratch = mkdtempSync(join(tmpdir(), 'cwa-builder-probe-'));
  let answered = false;
  let answer: T | undefined;
  let logged = (): string => '';
  try {
    await withBuilderLogCaptured(async (log) => {
      logged = log;
      const info = new Packager({
        projectDir: PROJECT_ROOT,
        // The `dir` target builds nothing of its own; the output folder is a scratch one.
        targets: target.createTarget('dir', arch === 'x64' ? Arch.x64 : Arch.arm64),
        config: { directories: { output: join(scratch, 'out') } },
        platformPackagerFactory: (packagerInfo) => {
          const helper = new PlatformPackagerClass(packagerInfo) as unknown as PlatformPackager<PlatformSpecificBuildOptions>;
          Object.assign(helper, {
            doPack: async (options: DoPackOptions<PlatformSpecificBuildOptions>) => {
              answer = await probe({ info: packagerInfo, packager: helper, options, scratch });
              answered = true;
            },
            packageInDistributableFormat: () => undefined,
          });
          return helper;
        },
      });
      await info.build();
    });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  if (!answered) throw new Error(`electron-builder never reached packing for ${platform} ${arch}:\n${logged()}`);
  return answer as T;
}
