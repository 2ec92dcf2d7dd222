// A policy JSON file as a policy source: the machine-wide policy file IT deploys, and on
// Linux and macOS the installer-values file beside it. Users cannot write either; a file
// other accounts could have changed, or that is not JSON, counts as unreadable (its last
// good reading stays in force). Changes are noticed by watching the file's folder.
import { createHash } from 'node:crypto';
import { watch, watchFile, unwatchFile, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { DisposableStore, toDisposable, type Disposable } from '../disposable';
import type { PolicySource, SourceName, SourceReading } from './sources';

export interface PolicyFileSourceOptions {
  readonly name: Extract<SourceName, 'machine-file' | 'installer'>;
  readonly path: string;
  /** Polling interval when the folder cannot be watched (it does not exist yet). */
  readonly pollMs?: number;
}

export class PolicyFileSource implements PolicySource {
  readonly name: PolicyFileSourceOptions['name'];
  readonly location: string;

  constructor(private readonly opts: PolicyFileSourceOptions) {
    this.name = opts.name;
    this.location = opts.path;
  }

  async read(): Promise<SourceReading> {
    const path = this.location;
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return { state: 'absent' };
      return { state: 'unreadable', why: `cannot be read (${code ?? String(err)})`, fix: `check that the agent's account may read ${path}` };
    }
    const unsafe = await writableByOthers(path);
    if (unsafe) return { state: 'unreadable', why: unsafe, fix: 'make the file writable by its owner only (chmod 644) and owned by root, and its folder writable by administrators only' };
    const parsed = parsePolicyJson(bytes);
    if (!parsed.ok) return { state: 'unreadable', why: parsed.why, fix: `fix the file; agentctl policy check ${path} shows every problem` };
    return { state: 'ok', document: parsed.document, origin: path, hash: createHash('sha256').update(bytes).digest('hex') };
  }

  /** Calls `changed` when the file may have changed (watching its folder, so replacing the file works). */
  watch(changed: () => void): Disposable {
    const store = new DisposableStore();
    const name = basename(this.location);
    const poll = (): void => {
      const listener = (): void => changed();
      watchFile(this.location, { persistent: false, interval: this.opts.pollMs ?? 2000 }, listener);
      store.add(toDisposable(() => unwatchFile(this.location, listener)));
      // The poller takes its baseline asynchronously: a file written meanwhile would look unchanged.
      changed();
    };
    let watcher: FSWatcher;
    try {
      watcher = watch(dirname(this.location), { persistent: false }, (_event, filename) => {
        if (filename === null || filename.toString() === name) changed();
      });
    } catch {
      poll();
      return store;
    }
    watcher.on('error', () => {
      watcher.close();
      if (!store.isDisposed) poll();
    });
    store.add(toDisposable(() => watcher.close()));
    // A change between the last read and the watch starting would otherwise go unseen.
    changed();
    return store;
  }
}

/** Policy JSON text (optional UTF-8 BOM) as a document; the schema is the merge's job. */
export function parsePolicyJson(bytes: Buffer | string): { ok: true; document: Record<string, unknown> } | { ok: false; why: string } {
  let json: unknown;
  try {
    json = JSON.parse((typeof bytes === 'string' ? bytes : bytes.toString('utf8')).replace(/^\uFEFF/, ''));
  } catch (err) {
    return { ok: false, why: `not valid JSON (${err instanceof Error ? err.message : String(err)})` };
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return { ok: false, why: 'the file must hold one JSON object: { "session": { … }, … }' };
  return { ok: true, document: json as Record<string, unknown> };
}

/**
 * A policy anyone can write is no policy: on POSIX the file must not be group- or
 * world-writable and its folder not world-writable without the sticky bit. (On Windows
 * the installer sets the folder's ACL; mode bits say nothing there.)
 */
export async function writableByOthers(path: string): Promise<string | null> {
  if (process.platform === 'win32') return null;
  try {
    const file = await stat(path);
    if ((file.mode & 0o022) !== 0) {
      return `the file can be changed by other accounts (mode ${(file.mode & 0o777).toString(8)})`;
    }
    const dir = await stat(dirname(path));
    if ((dir.mode & 0o002) !== 0 && (dir.mode & 0o1000) === 0) {
      return `the folder holding the file is writable by everyone (mode ${(dir.mode & 0o777).toString(8)})`;
    }
  } catch (err) {
    return `cannot check the file's permissions (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
  }
  return null;
}
