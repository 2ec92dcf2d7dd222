// The policy in force, from every source IT can use: reads them all at start and again
// when one changes (file watches; a poll for the registry and managed preferences; an
// explicit reload()), merges them per setting (effective-policy.ts), and audits what was
// loaded and what was rejected. A source that cannot be read keeps its last good reading
// (also across restarts, through the policy cache), so security settings stay enforced.
import { createHash } from 'node:crypto';
import type { AuditRecorder } from '../audit/recorder';
import { DisposableStore, toDisposable, type Disposable } from '../disposable';
import { mergePolicy, rejectionLine, type SourceDocument } from './effective-policy';
import type { CachedReading, PolicyCache } from './policy-cache';
import { DEFAULTS_SOURCE, type PolicyStatus, type SourceState } from './policy-status';
import type { AgentPolicy } from './schema';
import { precedenceOf, readSource, SOURCE_LABELS, type PolicySource, type SourceName } from './sources';

export interface PolicySnapshot extends PolicyStatus {
  readonly policy: AgentPolicy;
}

export interface PolicyLoaderOptions {
  readonly sources: readonly PolicySource[];
  readonly recorder: AuditRecorder;
  /** Where the last good reading of each source is kept across restarts; null: memory only. */
  readonly cache?: PolicyCache | null;
  /** The effective policy changed (also called once for the first load). */
  readonly onChange?: (snapshot: PolicySnapshot) => void;
  /** New rejections or an unreadable source; the snapshot holds what is in force. */
  readonly onRejected?: (snapshot: PolicySnapshot) => void;
  /** The audit log or the cache failed. */
  readonly onError?: (err: Error) => void;
  /** Editors write a file in several steps; reload once they are done. */
  readonly debounceMs?: number;
  /** How often every source is read again (the registry and managed preferences cannot be watched here). */
  readonly pollMs?: number;
  readonly now?: () => number;
}

const DEFAULT_POLL_MS = 60_000;

export class PolicyLoader implements Disposable {
  private snapshot: PolicySnapshot;
  private readonly sources: readonly PolicySource[];
  private readonly disposables = new DisposableStore();
  private loading: Promise<PolicySnapshot> | null = null;
  private reloadRequested = false;
  private loadedOnce = false;
  private lastGood: Map<SourceName, CachedReading> | null = null;
  private auditedInputs: string | null = null;
  private auditedErrors = '';
  private debounce: Disposable | null = null;

  constructor(private readonly opts: PolicyLoaderOptions) {
    this.sources = [...opts.sources].sort((a, b) => precedenceOf(a.name) - precedenceOf(b.name));
    const merged = mergePolicy([]);
    this.snapshot = {
      policy: merged.policy,
      source: DEFAULTS_SOURCE,
      hash: null,
      errors: [],
      sources: this.sources.map((s) => ({ name: s.name, label: SOURCE_LABELS[s.name], location: s.location, state: 'absent', hash: null, why: null, fix: null, keptFrom: null })),
      effective: merged.settings,
      rejections: [],
    };
  }

  get current(): PolicySnapshot {
    return this.snapshot;
  }

  /** Reads every source and applies the result; concurrent calls share one read. Never throws. */
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

  /** The same as load(): for IT's "apply policy now" (agentctl, the tray). */
  reload(): Promise<PolicySnapshot> {
    return this.load();
  }

  /** Reloads when a watched source changes, and reads every source again each poll interval. */
  watch(): void {
    if (this.disposables.isDisposed) throw new Error('PolicyLoader.watch() after dispose()');
    for (const source of this.sources) if (source.watch) this.disposables.add(source.watch(() => this.scheduleReload()));
    const poll = setInterval(() => void this.load(), this.opts.pollMs ?? DEFAULT_POLL_MS);
    poll.unref();
    this.disposables.add(toDisposable(() => clearInterval(poll)));
  }

  dispose(): void {
    this.disposables.dispose();
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
    const lastGood = await this.lastGoodReadings();
    const readings = await Promise.all(this.sources.map(readSource));
    const documents: SourceDocument[] = [];
    const states: SourceState[] = [];
    const inForce: { name: SourceName; origin: string; hash: string }[] = [];
    let cacheChanged = false;
    const at = new Date((this.opts.now ?? Date.now)()).toISOString();
    this.sources.forEach((source, i) => {
      const reading = readings[i]!;
      const label = SOURCE_LABELS[source.name];
      const base = { name: source.name, label, location: source.location, why: null, fix: null, keptFrom: null };
      if (reading.state === 'ok') {
        const previous = lastGood.get(source.name);
        if (!previous || previous.hash !== reading.hash || previous.origin !== reading.origin) {
          lastGood.set(source.name, { origin: reading.origin, hash: reading.hash, readAt: at, document: reading.document, rejected: reading.rejected ?? [] });
          cacheChanged = true;
        }
        documents.push({ source: source.name, where: `${label} ${reading.origin}`, document: reading.document, rejected: reading.rejected });
        inForce.push({ name: source.name, origin: reading.origin, hash: reading.hash });
        states.push({ ...base, state: 'ok', hash: reading.hash });
      } else if (reading.state === 'absent') {
        // Absent means IT removed it: its policy goes, and so does the fallback copy.
        if (lastGood.delete(source.name)) cacheChanged = true;
        states.push({ ...base, state: 'absent', hash: null });
      } else {
        const kept = lastGood.get(source.name);
        if (kept) {
          documents.push({ source: source.name, where: `${label} ${kept.origin} (as read at ${kept.readAt})`, document: kept.document, rejected: kept.rejected });
          inForce.push({ name: source.name, origin: kept.origin, hash: kept.hash });
        }
        states.push({ ...base, state: 'unreadable', hash: kept?.hash ?? null, why: reading.why, fix: reading.fix ?? null, keptFrom: kept?.readAt ?? null });
      }
    });
    if (cacheChanged && this.opts.cache) await this.opts.cache.save(lastGood).catch((err: unknown) => this.fail(err));

    const merged = mergePolicy(documents);
    const previous = this.snapshot;
    const policyChanged = !this.loadedOnce || JSON.stringify(merged.policy) !== JSON.stringify(previous.policy);
    const errors = [
      ...states.filter((s) => s.state === 'unreadable').map((s) => `(${s.label} ${s.location}): ${s.why}; ${s.keptFrom ? `the policy read from it at ${s.keptFrom} stays in force` : 'the other sources and the defaults apply'}`),
      ...merged.rejections.map(rejectionLine),
    ];
    const next: PolicySnapshot = {
      policy: policyChanged ? merged.policy : previous.policy,
      source: inForce.length === 0 ? DEFAULTS_SOURCE : inForce.length === 1 ? inForce[0]!.origin : inForce.map((s) => `${SOURCE_LABELS[s.name]} ${s.origin}`).join(' + '),
      hash: inForce.length === 0 ? null : inForce.length === 1 ? inForce[0]!.hash : createHash('sha256').update(inForce.map((s) => `${s.name}=${s.hash}`).join('\n')).digest('hex'),
      errors,
      sources: states,
      effective: merged.settings,
      rejections: merged.rejections,
    };
    this.loadedOnce = true;

    // Audit first, then let the policy take effect: the log never lags what is enforced.
    const inputs = inForce.map((s) => `${s.name}=${s.hash}`).join(',');
    if (policyChanged || inputs !== this.auditedInputs) {
      this.auditedInputs = inputs;
      await this.audit({
        action: 'policy.loaded',
        method: 'policy-sources',
        details: {
          source: next.source.slice(0, 1024),
          hash: next.hash,
          sources: states.map((s) => `${s.name}=${s.state}${s.hash ? `:${s.hash}` : ''}`),
          sessionProfile: next.policy.session.profile,
          allowExtendedTimeouts: next.policy.session.allowExtendedTimeouts,
          rejectedSettings: merged.rejections.length,
        },
      });
    }
    const errorsKey = errors.join('\n');
    const newlyRejected = errors.length > 0 && errorsKey !== this.auditedErrors;
    this.auditedErrors = errorsKey;
    if (newlyRejected) {
      await this.audit({
        action: 'policy.rejected',
        method: 'policy-sources',
        details: {
          source: [...new Set([...merged.rejections.map((r) => r.source), ...states.filter((s) => s.state === 'unreadable').map((s) => s.name)])].join(','),
          hash: next.hash,
          inForce: next.source.slice(0, 1024),
          inForceHash: next.hash,
          sources: states.map((s) => `${s.name}=${s.state}${s.hash ? `:${s.hash}` : ''}`),
          errors: errors.slice(0, 64).map((e) => e.slice(0, 1024)),
        },
      });
    }
    this.snapshot = next;
    if (policyChanged) this.opts.onChange?.(next);
    if (newlyRejected) this.opts.onRejected?.(next);
  }

  private async lastGoodReadings(): Promise<Map<SourceName, CachedReading>> {
    if (!this.lastGood) {
      const loaded = this.opts.cache ? await this.opts.cache.load() : { readings: new Map<SourceName, CachedReading>(), problem: null };
      this.lastGood = loaded.readings;
      if (loaded.problem) this.fail(new Error(loaded.problem));
    }
    return this.lastGood;
  }

  private fail(err: unknown): void {
    this.opts.onError?.(err instanceof Error ? err : new Error(String(err)));
  }

  private async audit(input: Parameters<AuditRecorder['record']>[0]): Promise<void> {
    try {
      await this.opts.recorder.record(input);
    } catch (err) {
      this.fail(err);
    }
  }
}

/** The effective policy from one read of the sources (agentctl's offline commands); no audit, no cache. */
export async function readEffectivePolicy(sources: readonly PolicySource[]): Promise<AgentPolicy> {
  const documents: SourceDocument[] = [];
  for (const source of sources) {
    const reading = await readSource(source);
    if (reading.state === 'ok') documents.push({ source: source.name, where: `${SOURCE_LABELS[source.name]} ${reading.origin}`, document: reading.document, rejected: reading.rejected });
  }
  return mergePolicy(documents).policy;
}
