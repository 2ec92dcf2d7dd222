// The machine-wide policy file: loaded at start, reloaded when it changes. A bad file
// never replaces a good policy: the last valid one (or the defaults) stays, each bad field
// is reported with its path and reason, and both outcomes go to the audit log.
import { createHash } from 'node:crypto';
import { watch, watchFile, unwatchFile, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { AuditRecorder } from '../audit/recorder';
import { DisposableStore, toDisposable, type Disposable } from '../disposable';
import { defaultPaths } from '../platform/paths';
import { DEFAULT_AGENT_POLICY, parsePolicyText, type AgentPolicy } from './schema';

export const DEFAULTS_SOURCE = 'built-in defaults';

export interface PolicySnapshot {
  readonly policy: AgentPolicy;
  /** The file the policy in force came from, or DEFAULTS_SOURCE. */
  readonly source: string;
  /** SHA-256 (hex) of the bytes of the file in force; null for the defaults. */
  readonly hash: string | null;
  /** Why the latest file was rejected (`path: reason` per field); empty once a file loads. */
  readonly errors: readonly string[];
}

export interface PolicyFileOptions {
  /** Defaults to the per-OS machine path (CWA_POLICY_FILE overrides it). */
  readonly path?: string;
  readonly recorder: AuditRecorder;
  /** A new policy took effect (not called when a reload finds the same bytes). */
  readonly onChange?: (snapshot: PolicySnapshot) => void;
  /** A file was rejected; the snapshot still holds the policy in force. */
  readonly onRejected?: (snapshot: PolicySnapshot) => void;
  /** The audit log could not record a policy event. */
  readonly onError?: (err: Error) => void;
  /** Editors write a file in several steps; reload once they are done. */
  readonly debounceMs?: number;
  /** Polling interval when the folder cannot be watched (it does not exist yet). */
  readonly pollMs?: number;
}

export class PolicyFile implements Disposable {
  readonly path: string;
  private snapshot: PolicySnapshot = { policy: DEFAULT_AGENT_POLICY, source: DEFAULTS_SOURCE, hash: null, errors: [] };
  private readonly disposables = new DisposableStore();
  private loading: Promise<PolicySnapshot> | null = null;
  private reloadRequested = false;
  private lastRejectedHash: string | null = null;
  private loadedOnce = false;
  private debounce: Disposable | null = null;

  constructor(private readonly opts: PolicyFileOptions) {
    this.path = opts.path ?? defaultPaths().policyFile;
  }

  get current(): PolicySnapshot {
    return this.snapshot;
  }

  /** Reads and applies the file now; concurrent calls share one read. Never throws. */
  load(): Promise<PolicySnapshot> {
    if (this.loading) {
      this.reloadRequested = true;
      return this.loading;
    }
    const run = async (): Promise<PolicySnapshot> => {
      try {
        do {
          this.reloadRequested = false;
          await this.loadOnce();
        } while (this.reloadRequested);
      } finally {
        this.loading = null;
      }
      return this.snapshot;
    };
    this.loading = run();
    return this.loading;
  }

  /** Reloads whenever the file changes (watching its folder, so replacing the file works). */
  watch(): void {
    if (this.disposables.isDisposed) throw new Error('PolicyFile.watch() after dispose()');
    const name = basename(this.path);
    let watcher: FSWatcher;
    try {
      watcher = watch(dirname(this.path), { persistent: false }, (_event, filename) => {
        if (filename === null || filename.toString() === name) this.scheduleReload();
      });
    } catch {
      this.pollFile();
      return;
    }
    watcher.on('error', () => {
      watcher.close();
      if (!this.disposables.isDisposed) this.pollFile();
    });
    this.disposables.add(toDisposable(() => watcher.close()));
    // A change between the last load() and the watch starting would otherwise go unseen.
    this.scheduleReload();
  }

  dispose(): void {
    this.disposables.dispose();
  }

  private pollFile(): void {
    const listener = (): void => this.scheduleReload();
    watchFile(this.path, { persistent: false, interval: this.opts.pollMs ?? 2000 }, listener);
    this.disposables.add(toDisposable(() => unwatchFile(this.path, listener)));
    // The poller takes its baseline asynchronously: a file written meanwhile would look unchanged.
    this.scheduleReload();
  }

  private scheduleReload(): void {
    if (this.disposables.isDisposed) return;
    if (this.debounce) this.disposables.delete(this.debounce);
    const timer = setTimeout(() => {
      this.debounce = null;
      void this.load();
    }, this.opts.debounceMs ?? 200);
    this.debounce = this.disposables.add(toDisposable(() => clearTimeout(timer)));
  }

  private async loadOnce(): Promise<void> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return this.accept(DEFAULT_AGENT_POLICY, DEFAULTS_SOURCE, null);
      return this.reject(null, [`(file): cannot be read (${code ?? String(err)}); check that the agent's account may read ${this.path}`]);
    }
    const hash = createHash('sha256').update(bytes).digest('hex');
    const unsafe = await writableByOthers(this.path);
    if (unsafe) return this.reject(hash, [`(file): ${unsafe}`]);
    const parsed = parsePolicyText(bytes.toString('utf8'));
    if (parsed.ok) return this.accept(parsed.policy, this.path, hash);
    return this.reject(hash, parsed.errors);
  }

  private async accept(policy: AgentPolicy, source: string, hash: string | null): Promise<void> {
    this.lastRejectedHash = null;
    const same = this.loadedOnce && this.snapshot.source === source && this.snapshot.hash === hash;
    this.loadedOnce = true;
    if (same) {
      if (this.snapshot.errors.length > 0) this.snapshot = { ...this.snapshot, errors: [] };
      return;
    }
    this.snapshot = { policy, source, hash, errors: [] };
    await this.audit({
      action: 'policy.loaded',
      method: 'policy-file',
      details: { source, hash, sessionProfile: policy.session.profile, allowExtendedTimeouts: policy.session.allowExtendedTimeouts },
    });
    this.opts.onChange?.(this.snapshot);
  }

  private async reject(hash: string | null, errors: readonly string[]): Promise<void> {
    this.loadedOnce = true;
    const repeated = hash !== null && hash === this.lastRejectedHash;
    this.lastRejectedHash = hash;
    this.snapshot = { ...this.snapshot, errors };
    if (repeated) return;
    await this.audit({
      action: 'policy.rejected',
      method: 'policy-file',
      details: {
        source: this.path,
        hash,
        inForce: this.snapshot.source,
        inForceHash: this.snapshot.hash,
        errors: errors.slice(0, 64).map((e) => e.slice(0, 1024)),
      },
    });
    this.opts.onRejected?.(this.snapshot);
  }

  private async audit(input: Parameters<AuditRecorder['record']>[0]): Promise<void> {
    try {
      await this.opts.recorder.record(input);
    } catch (err) {
      this.opts.onError?.(err instanceof Error ? err : new Error(String(err)));
    }
  }
}

/**
 * A policy anyone can write is no policy: on POSIX the file must not be group- or
 * world-writable and its folder not world-writable without the sticky bit. (On Windows
 * the installer sets the folder's ACL; mode bits say nothing there.)
 */
async function writableByOthers(path: string): Promise<string | null> {
  if (process.platform === 'win32') return null;
  try {
    const file = await stat(path);
    if ((file.mode & 0o022) !== 0) {
      return `the policy file can be changed by other accounts (mode ${(file.mode & 0o777).toString(8)}); IT: make it writable by its owner only (chmod 644) and owned by root`;
    }
    const dir = await stat(dirname(path));
    if ((dir.mode & 0o002) !== 0 && (dir.mode & 0o1000) === 0) {
      return `the folder holding the policy file is writable by everyone (mode ${(dir.mode & 0o777).toString(8)}); IT: restrict it to administrators`;
    }
  } catch (err) {
    return `cannot check the policy file's permissions (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
  }
  return null;
}
