// The last good reading of each policy source, kept in the agent's data folder so that a
// restart while a source cannot be read (a registry error, a half-written file) still
// enforces what IT set there, instead of falling back to looser defaults.
//
// Plain JSON is fine: policy is not secret (IT publishes it in GPOs and profiles), and
// this file is only a fallback, used for a source while that source errors; it never
// overrides a source that can be read or that is absent. It is written owner-only in the
// data folder, which only the agent's account can write.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { writableByOthers } from './policy-file';
import { readRejectionSchema, sourceNameSchema, type ReadRejection, type SourceName } from './sources';

export interface CachedReading {
  readonly origin: string;
  readonly hash: string;
  /** When it was read (RFC 3339). */
  readonly readAt: string;
  readonly document: unknown;
  readonly rejected: readonly ReadRejection[];
}

const cachedReadingSchema = z.object({
  origin: z.string(),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  readAt: z.string(),
  document: z.unknown(),
  rejected: z.array(readRejectionSchema).default([]),
});

const cacheFileSchema = z.object({
  version: z.literal(1),
  sources: z.partialRecord(sourceNameSchema, cachedReadingSchema),
});

export class PolicyCache {
  constructor(readonly path: string) {}

  /** The cached readings; empty when there is no cache. A damaged or unsafe cache is ignored (with the reason). */
  async load(): Promise<{ readings: Map<SourceName, CachedReading>; problem: string | null }> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return { readings: new Map(), problem: code === 'ENOENT' ? null : `the policy cache ${this.path} cannot be read (${code ?? String(err)})` };
    }
    const unsafe = await writableByOthers(this.path);
    if (unsafe) return { readings: new Map(), problem: `the policy cache ${this.path} is ignored: ${unsafe}` };
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return { readings: new Map(), problem: `the policy cache ${this.path} is damaged (not JSON) and is ignored` };
    }
    const parsed = cacheFileSchema.safeParse(json);
    if (!parsed.success) return { readings: new Map(), problem: `the policy cache ${this.path} is damaged and is ignored` };
    const readings = new Map<SourceName, CachedReading>();
    for (const [name, reading] of Object.entries(parsed.data.sources)) if (reading) readings.set(name as SourceName, reading);
    return { readings, problem: null };
  }

  /** Replaces the cache atomically (write, then rename), owner-only. */
  async save(readings: ReadonlyMap<SourceName, CachedReading>): Promise<void> {
    if (readings.size === 0) {
      await rm(this.path, { force: true });
      return;
    }
    const body = { version: 1 as const, sources: Object.fromEntries(readings) };
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await writeFile(tmp, `${JSON.stringify(body, null, 1)}\n`, { mode: 0o600 });
      await rename(tmp, this.path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }
}
