// Signatures of a long chain checked on every core while the caller walks it: records that
// passed the structural checks (order, links, content hash) are queued here in order, sent
// to the SignaturePool in chunks, and confirmed in order, so the first bad signature found
// is the first in the chain and the caller learns of good records only once confirmed.
// A chain shorter than one chunk is checked inline: no worker is started for it.
import { availableParallelism } from 'node:os';
import { verify, type KeyObject } from 'node:crypto';
import { SignaturePool } from './signature-pool';

export interface SignedRecord {
  readonly seq: number;
  /** Hex SHA-256 chain hash. */
  readonly hash: string;
  /** Base64 Ed25519 signature over the hash. */
  readonly sig: string;
}

export interface SignatureStreamOptions<R extends SignedRecord> {
  readonly publicKey: KeyObject;
  /** Called with each record whose signature verified, in order. */
  readonly onVerified?: (record: R) => void;
  readonly chunkSize?: number;
  /** Worker threads (default: every core). */
  readonly workers?: number;
}

export interface SignatureStreamResult<R extends SignedRecord> {
  /** Records confirmed, in order, before the first bad one. */
  readonly verified: number;
  /** The first record whose signature does not verify, if any. */
  readonly bad: R | null;
}

const DEFAULT_CHUNK = 512;

export class SignatureStream<R extends SignedRecord> {
  private chunk: R[] = [];
  private readonly inFlight: { readonly records: R[]; readonly firstBad: Promise<number> }[] = [];
  private pool: SignaturePool | null = null;
  private verified = 0;
  private bad: R | null = null;
  private readonly chunkSize: number;
  private readonly workers: number;

  constructor(private readonly opts: SignatureStreamOptions<R>) {
    this.chunkSize = opts.chunkSize ?? DEFAULT_CHUNK;
    this.workers = Math.max(1, opts.workers ?? availableParallelism());
  }

  /** Queues one record; false once a bad signature has been found (stop feeding). */
  add(record: R): boolean {
    if (this.bad) return false;
    this.chunk.push(record);
    if (this.chunk.length >= this.chunkSize) this.submit();
    return true;
  }

  /** More chunks wait than keep every core busy (two per worker): drain() before adding more. */
  get backlogged(): boolean {
    return this.inFlight.length > this.workers * 2;
  }

  /** Waits until the backlog is down to what keeps every core busy; false once a bad signature was found. */
  async drain(): Promise<boolean> {
    while (this.backlogged && !this.bad) await this.settleOldest();
    return this.bad === null;
  }

  /** Checks what is queued and reports the first bad signature. Releases the workers. */
  async finish(): Promise<SignatureStreamResult<R>> {
    try {
      if (this.pool === null) {
        // Never reached a full chunk: inline, in order.
        for (const r of this.chunk) {
          if (this.bad) break;
          if (signatureOk(r, this.opts.publicKey)) this.confirm(r);
          else this.bad = r;
        }
        this.chunk = [];
      } else if (this.chunk.length > 0) {
        this.submit();
      }
      while (this.inFlight.length > 0) await this.settleOldest();
      return { verified: this.verified, bad: this.bad };
    } finally {
      this.dispose();
    }
  }

  /** Releases the workers without waiting (after an error in the caller). */
  dispose(): void {
    this.pool?.dispose();
    this.pool = null;
  }

  private submit(): void {
    const records = this.chunk;
    this.chunk = [];
    this.pool ??= new SignaturePool(this.workers);
    const firstBad = this.pool.firstBad({ publicKey: this.opts.publicKey, items: records.map((r) => [r.hash, r.sig] as const) });
    // Settled in order by settleOldest; until then a rejection must not go unhandled.
    firstBad.catch(() => undefined);
    this.inFlight.push({ records, firstBad });
  }

  private async settleOldest(): Promise<void> {
    const oldest = this.inFlight.shift()!;
    const firstBad = await oldest.firstBad;
    if (this.bad) return;
    const good = firstBad < 0 ? oldest.records.length : firstBad;
    for (let i = 0; i < good; i++) this.confirm(oldest.records[i]!);
    if (firstBad >= 0) this.bad = oldest.records[firstBad]!;
  }

  private confirm(record: R): void {
    this.verified++;
    this.opts.onVerified?.(record);
  }
}

function signatureOk(r: SignedRecord, publicKey: KeyObject): boolean {
  try {
    return verify(null, Buffer.from(r.hash, 'hex'), publicKey, Buffer.from(r.sig, 'base64'));
  } catch {
    return false;
  }
}
