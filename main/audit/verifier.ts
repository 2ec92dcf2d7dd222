// The offline verifier: walks sealed events in order and names the first one that is
// not what the device signed — gap, duplicate, reordering, chain break, altered content,
// wrong device key, bad signature — or a tail cut off before a known last event.
// The same ChainVerifier runs in `agentctl verify`, in the export check and in the
// reference receiver.
import { verify, type KeyObject } from 'node:crypto';
import { chainHash } from './seal';
import type { SignaturePool } from './signature-pool';
import { GENESIS_HASH } from './event';

export type VerifyReason =
  | 'malformed'
  | 'duplicate'
  | 'reordered'
  | 'gap'
  | 'chain-break'
  | 'hash-mismatch'
  | 'wrong-device'
  | 'wrong-device-key'
  | 'bad-signature'
  | 'truncated-tail'
  | 'diverged';

export interface VerifyProblem {
  readonly seq: number;
  readonly reason: VerifyReason;
  readonly message: string;
}

/** One event as seen by the verifier. Without `body` (an export read without its key)
 * the content hash cannot be recomputed; the envelope's `prevHash` is used for linkage. */
export interface VerifiableRecord {
  readonly seq: number;
  readonly hash: string;
  readonly sig: string;
  readonly body?: string;
  readonly prevHash?: string;
  readonly keyId?: string;
}

export interface ChainPosition {
  readonly seq: number;
  readonly hash: string;
}

export interface ChainVerifierOptions {
  readonly publicKey: KeyObject;
  readonly keyId: string;
  /** When set, every event must name this device. */
  readonly device?: string;
  /** The position before the first record: {0, GENESIS} for a full chain, the purge anchor
   * for a database whose oldest rows were deleted, or null to accept any start (partial export). */
  readonly start: ChainPosition | null;
  /** A position known from elsewhere (receiver, earlier export): the chain must reach it with this hash. */
  readonly expectLast?: ChainPosition;
  /** Check everything but the signatures (verifyBatch checks those in parallel). */
  readonly skipSignatures?: boolean;
}

const HEX64 = /^[0-9a-f]{64}$/;

export class ChainVerifier {
  private lastSeq: number | null;
  private lastHash: string | null;
  private firstSeq: number | null = null;
  private verified = 0;
  private contentChecked = 0;
  private problem: VerifyProblem | null = null;
  private expectSeen = false;
  /**
   * A record that skipped ahead of the next seq: a gap, unless the record after it is one of
   * the skipped ones, which makes it events out of order (two swapped events). The verdict
   * waits for that next record, or for settle()/finish().
   */
  private skippedAhead: { readonly seq: number; readonly gap: VerifyProblem } | null = null;

  constructor(private readonly opts: ChainVerifierOptions) {
    this.lastSeq = opts.start?.seq ?? null;
    this.lastHash = opts.start?.hash ?? null;
  }

  /** Checks the next record; returns (and keeps) the first problem. After a problem, later records are ignored. */
  push(rec: VerifiableRecord): VerifyProblem | null {
    if (this.problem) return this.problem;
    if (this.skippedAhead) {
      const early = this.skippedAhead;
      this.skippedAhead = null;
      const expected = (this.lastSeq ?? 0) + 1;
      this.problem =
        Number.isSafeInteger(rec.seq) && rec.seq >= expected && rec.seq < early.seq
          ? { seq: early.seq, reason: 'reordered', message: `seq ${early.seq} comes before seq ${rec.seq}: the events are out of order after seq ${expected - 1}` }
          : early.gap;
      return this.problem;
    }
    const p = this.check(rec);
    if (p?.reason === 'gap') {
      this.skippedAhead = { seq: rec.seq, gap: p };
      return null;
    }
    if (p) {
      this.problem = p;
      return p;
    }
    if (this.firstSeq === null) this.firstSeq = rec.seq;
    this.lastSeq = rec.seq;
    this.lastHash = rec.hash;
    this.verified++;
    return null;
  }

  /** The verdict so far, with a record that skipped ahead and has no successor taken as a gap. */
  settle(): VerifyProblem | null {
    if (!this.problem && this.skippedAhead) this.problem = this.skippedAhead.gap;
    this.skippedAhead = null;
    return this.problem;
  }

  /** How many records verified (before the first problem). */
  get verifiedCount(): number {
    return this.verified;
  }

  /** Ends the walk: reports a truncated tail against `expectLast` (or the export trailer). */
  finish(expectLast: ChainPosition | undefined = this.opts.expectLast): VerifyResult {
    this.settle();
    if (!this.problem && expectLast && !this.expectSeen) {
      const endSeq = this.lastSeq ?? 0;
      if (endSeq < expectLast.seq) {
        this.problem = {
          seq: endSeq + 1,
          reason: 'truncated-tail',
          message: `the chain ends at seq ${endSeq}, but seq ${expectLast.seq} (hash ${expectLast.hash.slice(0, 16)}…) is known to exist: events ${endSeq + 1}..${expectLast.seq} are missing`,
        };
      } else if (endSeq === expectLast.seq && this.lastHash !== expectLast.hash) {
        this.problem = { seq: endSeq, reason: 'diverged', message: `seq ${endSeq} has hash ${this.lastHash}, expected ${expectLast.hash}` };
      }
    }
    return {
      ok: this.problem === null,
      verified: this.verified,
      contentChecked: this.contentChecked,
      firstSeq: this.firstSeq,
      last: this.lastSeq === null || this.lastHash === null ? null : { seq: this.lastSeq, hash: this.lastHash },
      problem: this.problem,
    };
  }

  private check(rec: VerifiableRecord): VerifyProblem | null {
    const seq = rec.seq;
    if (!Number.isSafeInteger(seq) || seq < 1) return { seq: Number(seq) || 0, reason: 'malformed', message: `invalid seq ${String(seq)}` };
    if (typeof rec.hash !== 'string' || !HEX64.test(rec.hash)) return { seq, reason: 'malformed', message: 'hash is not 64 lowercase hex digits' };
    if (this.lastSeq !== null) {
      if (seq === this.lastSeq) return { seq, reason: 'duplicate', message: `seq ${seq} appears twice` };
      if (seq < this.lastSeq) return { seq, reason: 'reordered', message: `seq ${seq} comes after seq ${this.lastSeq}` };
      if (seq > this.lastSeq + 1) {
        return { seq, reason: 'gap', message: `events ${this.lastSeq + 1}..${seq - 1} are missing (seq ${seq} follows ${this.lastSeq})` };
      }
    }

    let prevHash = rec.prevHash;
    let keyId = rec.keyId;
    if (rec.body !== undefined) {
      let event: Record<string, unknown>;
      try {
        const parsed: unknown = JSON.parse(rec.body);
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
        event = parsed as Record<string, unknown>;
      } catch (err) {
        return { seq, reason: 'malformed', message: `event body is not JSON: ${(err as Error).message}` };
      }
      if (event.seq !== seq) {
        return { seq, reason: 'reordered', message: `the row at seq ${seq} holds the event signed as seq ${String(event.seq)}` };
      }
      if (typeof event.prevHash !== 'string' || !HEX64.test(event.prevHash)) return { seq, reason: 'malformed', message: 'prevHash missing or not hex' };
      if (prevHash !== undefined && prevHash !== event.prevHash) {
        return { seq, reason: 'chain-break', message: 'the envelope prevHash differs from the signed event' };
      }
      prevHash = event.prevHash;
      if (typeof event.keyId !== 'string') return { seq, reason: 'malformed', message: 'keyId missing' };
      if (keyId !== undefined && keyId !== event.keyId) return { seq, reason: 'wrong-device-key', message: 'the envelope keyId differs from the signed event' };
      keyId = event.keyId;
      if (this.opts.device !== undefined && event.device !== this.opts.device) {
        return { seq, reason: 'wrong-device', message: `event names device ${String(event.device)}, expected ${this.opts.device}` };
      }
    }
    if (prevHash === undefined) return { seq, reason: 'malformed', message: 'no prevHash to link the chain' };
    if (this.lastHash !== null && prevHash !== this.lastHash) {
      return {
        seq,
        reason: 'chain-break',
        message: `prevHash ${prevHash.slice(0, 16)}… does not match the hash of seq ${this.lastSeq ?? 0} (${this.lastHash.slice(0, 16)}…)`,
      };
    }
    if (this.lastSeq === null && this.lastHash === null && seq === 1 && prevHash !== GENESIS_HASH) {
      return { seq, reason: 'chain-break', message: 'seq 1 does not start from the genesis hash' };
    }
    if (rec.body !== undefined) {
      // rec.hash is 64 lowercase hex digits (checked above): compared as text.
      if (chainHash(prevHash, rec.body, 'hex') !== rec.hash) {
        return { seq, reason: 'hash-mismatch', message: `the content of seq ${seq} was altered after it was sealed (hash does not match)` };
      }
      this.contentChecked++;
    }
    if (keyId !== undefined && keyId !== this.opts.keyId) {
      return { seq, reason: 'wrong-device-key', message: `seq ${seq} names key ${keyId}, but the device key is ${this.opts.keyId}` };
    }
    if (!this.opts.skipSignatures && !signatureOk(Buffer.from(rec.hash, 'hex'), this.opts.publicKey, rec.sig)) return badSignature(seq);
    if (this.opts.expectLast && seq === this.opts.expectLast.seq) {
      this.expectSeen = true;
      if (rec.hash !== this.opts.expectLast.hash) {
        return { seq, reason: 'diverged', message: `seq ${seq} has hash ${rec.hash}, but ${this.opts.expectLast.hash} was known` };
      }
    }
    return null;
  }
}

function signatureOk(hash: Buffer, publicKey: KeyObject, sig: string): boolean {
  try {
    return verify(null, hash, publicKey, Buffer.from(sig, 'base64'));
  } catch {
    return false;
  }
}

export function badSignature(seq: number): VerifyProblem {
  return { seq, reason: 'bad-signature', message: `the signature of seq ${seq} is not the device key's` };
}

/** The Ed25519 check on the libuv thread pool (every core), resolving false for any error. */
function signatureOkAsync(hash: Buffer, publicKey: KeyObject, sig: string): Promise<boolean> {
  return new Promise((resolve) => {
    try {
      verify(null, hash, publicKey, Buffer.from(sig, 'base64'), (err, ok) => resolve(!err && ok));
    } catch {
      resolve(false);
    }
  });
}

/**
 * Verifies a batch that continues the chain from `opts.start`, with the signatures checked
 * in parallel on the thread pool: the same verdict and message as pushing the records
 * through a ChainVerifier one by one (for one record, structure and hash come before the
 * signature). Returns how many records verified before the first problem.
 */
export async function verifyBatch(
  records: readonly VerifiableRecord[],
  opts: ChainVerifierOptions,
  /** Worker threads for the signatures (else the libuv thread pool). */
  pool?: SignaturePool,
): Promise<{ readonly verified: number; readonly problem: VerifyProblem | null }> {
  const structural = new ChainVerifier({ ...opts, skipSignatures: true });
  for (const rec of records) if (structural.push(rec)) break;
  const firstStructural = structural.settle();
  // Records verify in order until the first problem, so those before it are a prefix.
  const checkedUpTo = structural.verifiedCount;
  // Signatures of the records before the structural problem, and of that record itself
  // only if its structure was fine (it was not): so only [0, checkedUpTo).
  const toCheck = records.slice(0, checkedUpTo);
  const badIndex = pool
    ? await pool.firstBad({ publicKey: opts.publicKey, items: toCheck.map((r) => [r.hash, r.sig] as const) })
    : (await Promise.all(toCheck.map((r) => signatureOkAsync(Buffer.from(r.hash, 'hex'), opts.publicKey, r.sig)))).indexOf(false);
  if (badIndex >= 0) return { verified: badIndex, problem: badSignature(records[badIndex]!.seq) };
  return { verified: checkedUpTo, problem: firstStructural };
}

export interface VerifyResult {
  readonly ok: boolean;
  readonly verified: number;
  /** Records whose content hash was recomputed (0 for an export read without its key). */
  readonly contentChecked: number;
  readonly firstSeq: number | null;
  readonly last: ChainPosition | null;
  readonly problem: VerifyProblem | null;
}
