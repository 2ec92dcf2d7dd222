// agentctl diagnostics --out FILE.zip: one file the help desk attaches to a ticket (a .zip
// opens natively on Windows). It is written owner-only, under a temporary name first so a
// half-written bundle never carries the final name, and never over an existing file
// unless --force. What goes in, and what never does: diagnostics-collect.ts.
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, createWriteStream, existsSync, openSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ZipFile } from 'yazl';
import type { KeyStore } from '../platform/keystore';
import type { AgentPaths } from '../platform/paths';
import { CommandUsageError, countOption, parseCommandArgs, withUsage, type CommandIo } from './command-usage';
import { collectDiagnostics, type BundleFile } from './diagnostics-collect';

export const DIAGNOSTICS_USAGE = `  diagnostics --out FILE.zip [--force] [--log-lines N] [--events N]
                                   A bundle for the help desk: status, effective policy (redacted), versions,
                                   certificates, audit buffer and directory stats, the last session events and
                                   log lines, the last errors. No patient data, names, badge numbers, PINs or
                                   keys. Works with the agent stopped. --force replaces an existing FILE.`;

export class BundleWriteError extends Error {}

/** Why a bundle cannot be written at `out`, in words for the person at the keyboard. */
function writeProblem(out: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  const dir = dirname(out);
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return `cannot write ${out}: permission denied in ${dir}. Choose a folder you can write to (your home folder or desktop).`;
    case 'ENOENT':
      return `cannot write ${out}: the folder ${dir} does not exist.`;
    case 'ENOTDIR':
      return `cannot write ${out}: part of ${dir} is a file, not a folder.`;
    case 'EROFS':
      return `cannot write ${out}: ${dir} is on a read-only disk.`;
    case 'ENOSPC':
      return `cannot write ${out}: the disk is full.`;
    default:
      return `cannot write ${out}: ${code ?? (err as Error).message}`;
  }
}

/** Checks the target before minutes of collecting: a usage problem, an existing file, a folder. */
function checkTarget(out: string, force: boolean): void {
  if (!/\.zip$/i.test(out)) throw new CommandUsageError(`--out must name a .zip file (got "${basename(out)}")`);
  let existing: ReturnType<typeof statSync> | null = null;
  try {
    existing = statSync(out);
  } catch {
    // absent: fine
  }
  if (existing?.isDirectory()) throw new BundleWriteError(`${out} is a folder: give a file name, e.g. ${resolve(out, 'diagnostics.zip')}`);
  if (existing && !force) throw new BundleWriteError(`${out} already exists: pass --force to replace it, or choose another name.`);
}

/**
 * Creates the bundle's temporary file beside `out` (owner-only), so an unwritable folder is
 * reported before minutes of collecting; writeBundle fills it and moves it into place.
 */
export function reserveBundleFile(out: string): string {
  const tmp = `${out}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    closeSync(openSync(tmp, 'wx', 0o600));
  } catch (err) {
    throw new BundleWriteError(writeProblem(out, err));
  }
  return tmp;
}

/** Writes the zip into `tmp` (from reserveBundleFile), then renames it to `out`; owner-only (0600) on POSIX. */
export async function writeBundle(tmp: string, out: string, files: readonly BundleFile[], opts: { readonly force: boolean; readonly folder: string; readonly mtime: Date }): Promise<void> {
  try {
    const zip = new ZipFile();
    for (const f of files) zip.addBuffer(Buffer.from(f.text, 'utf8'), `${opts.folder}/${f.name}`, { mtime: opts.mtime, mode: 0o100600 });
    zip.end();
    await pipeline(zip.outputStream, createWriteStream(tmp, { flags: 'w', mode: 0o600 }));
    if (!opts.force && existsSync(out)) throw new BundleWriteError(`${out} appeared while the bundle was written: pass --force to replace it, or choose another name.`);
    renameSync(tmp, out);
    if (process.platform !== 'win32') chmodSync(out, 0o600);
  } catch (err) {
    throw err instanceof BundleWriteError ? err : new BundleWriteError(writeProblem(out, err));
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // moved into place already
    }
  }
}

export function runDiagnosticsCommand(args: readonly string[], io: CommandIo, paths: AgentPaths, keyStore: KeyStore): Promise<number> {
  return withUsage(io, DIAGNOSTICS_USAGE, async () => {
    const values = parseCommandArgs(args, {
      out: { type: 'string' },
      force: { type: 'boolean', default: false },
      'log-lines': { type: 'string' },
      events: { type: 'string' },
    });
    if (!values.out) throw new CommandUsageError('diagnostics needs --out FILE.zip (where to write the bundle)');
    const out = resolve(values.out);
    const logLines = countOption('log-lines', values['log-lines'], 1000, 20_000);
    const historyEvents = countOption('events', values.events, 50, 1000);
    try {
      checkTarget(out, values.force);
      const tmp = reserveBundleFile(out);
      const now = new Date();
      let bundle;
      try {
        bundle = await collectDiagnostics({ paths, keyStore, logLines, historyEvents, nowMs: now.getTime() });
      } catch (err) {
        unlinkSync(tmp);
        throw err;
      }
      const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
      const folder = `cwa-diagnostics-${bundle.device ? bundle.device.slice(0, 12) : 'unknown-device'}-${stamp}`;
      await writeBundle(tmp, out, bundle.files, { force: values.force, folder, mtime: now });
      io.out(`wrote ${out} (${bundle.files.length} files, ${statSync(out).size} bytes) for device ${bundle.device ?? 'unknown'}; agent ${bundle.agentRunning ? 'running' : 'not running'}`);
      for (const p of bundle.problems) io.out(`  not collected: ${p}`);
      return 0;
    } catch (err) {
      if (!(err instanceof BundleWriteError)) throw err;
      io.err(`agentctl: ${err.message}`);
      return 2;
    }
  });
}
