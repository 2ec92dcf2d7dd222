// Ed25519 signature checks on worker threads, one per core: the collector verifies many
// devices' batches at once, and the offline verifier walks long chains. Each job is one
// key and a list of (hash, signature); the answer is the index of the first that does not
// verify (or -1). Keys travel as KeyObjects: parsed once, in the caller.
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { KeyObject } from 'node:crypto';
import type { Disposable } from '../disposable';

export interface SignatureJob {
  /** The device public key (a KeyObject crosses to the worker without being parsed again). */
  readonly publicKey: KeyObject;
  /** Hashes (hex) and their signatures (base64), in order. */
  readonly items: readonly (readonly [string, string])[];
}

interface Pending {
  readonly resolve: (firstBad: number) => void;
  readonly reject: (err: Error) => void;
}

interface Slot {
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
}

export class SignaturePool implements Disposable {
  private readonly slots: Slot[] = [];
  private next = 0;
  private id = 0;
  private disposed = false;

  constructor(size = availableParallelism()) {
    for (let i = 0; i < Math.max(1, size); i++) this.slots.push(this.spawn());
  }

  /** Resolves with the index of the first item whose signature does not verify, or -1. */
  firstBad(job: SignatureJob): Promise<number> {
    if (this.disposed) return Promise.reject(new Error('the signature pool is closed'));
    if (job.items.length === 0) return Promise.resolve(-1);
    // The slot with the least outstanding work (ties: round robin).
    let slot = this.slots[this.next++ % this.slots.length]!;
    for (const s of this.slots) if (s.pending.size < slot.pending.size) slot = s;
    const id = ++this.id;
    // One buffer of (32-byte hash, 64-byte signature) pairs, moved to the worker without a copy.
    const packed = Buffer.allocUnsafe(job.items.length * 96);
    job.items.forEach(([hash, sig], i) => {
      packed.write(hash, i * 96, 32, 'hex');
      const s = Buffer.from(sig, 'base64');
      if (s.length === 64) s.copy(packed, i * 96 + 32);
      else packed.fill(0, i * 96 + 32, i * 96 + 96);
    });
    const ab = packed.buffer.slice(packed.byteOffset, packed.byteOffset + packed.byteLength);
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ id, key: job.publicKey, pairs: ab }, [ab]);
    });
  }

  dispose(): void {
    this.disposed = true;
    for (const s of this.slots) {
      for (const p of s.pending.values()) p.reject(new Error('the signature pool was closed'));
      s.pending.clear();
      void s.worker.terminate();
    }
  }

  private spawn(): Slot {
    const worker = new Worker(join(__dirname, 'signature-worker.js'));
    worker.unref();
    const slot: Slot = { worker, pending: new Map() };
    worker.on('message', (m: { id: number; firstBad?: number; error?: string }) => {
      const p = slot.pending.get(m.id);
      if (!p) return;
      slot.pending.delete(m.id);
      if (m.error !== undefined) p.reject(new Error(m.error));
      else p.resolve(m.firstBad ?? -1);
    });
    worker.on('error', (err) => {
      for (const p of slot.pending.values()) p.reject(err);
      slot.pending.clear();
      // A crashed worker is replaced; the jobs it held were rejected above.
      if (!this.disposed) this.slots[this.slots.indexOf(slot)] = this.spawn();
    });
    return slot;
  }
}
