// Self-contained, encrypted audit export (JSON lines). Anyone can check signatures, chain
// and completeness offline with the device public key in its header; event content is
// sealed to a recipient X25519 key (the auditor's), so the file carries no readable event.
//
//   {"type":"cwa-audit-export", v, device, keyId, publicKey, exportedAt, from:{seq,hash}, encryption:{…}}
//   {"seq", "prevHash", "hash", "sig", "keyId", "ct"}        one per event (ct = AES-256-GCM of the body)
//   {"type":"end", count, last:{seq,hash}, envelopes, sig}    device-signed trailer: a cut-off or re-linked file shows
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  verify,
  type KeyObject,
} from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { z } from 'zod';
import { canonicalJson } from './canonical-json';
import { keyIdOf } from '../platform/device-identity';
import type { DeviceIdentity } from '../platform/device-identity';
import type { AuditStore, ChainPoint } from './store';
import { SignatureStream } from './signature-stream';
import { badSignature, ChainVerifier, type VerifyResult } from './verifier';

export const EXPORT_TYPE = 'cwa-audit-export';
const ALG = 'X25519-HKDF-SHA256-A256GCM';

export class ExportError extends Error {
  override name = 'ExportError';
}

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const headerSchema = z.object({
  type: z.literal(EXPORT_TYPE),
  v: z.literal(1),
  device: z.string().min(1),
  keyId: z.string(),
  publicKey: z.string().includes('PUBLIC KEY'),
  exportedAt: z.string(),
  from: z.object({ seq: z.number().int().nonnegative(), hash: hex64 }),
  encryption: z.object({ alg: z.literal(ALG), ephemeralPublicKey: z.string(), recipientKeyId: z.string() }),
});
const lineSchema = z.object({
  seq: z.number().int().positive(),
  prevHash: hex64,
  hash: hex64,
  sig: z.string(),
  keyId: z.string(),
  ct: z.string(),
});
const trailerSchema = z.object({
  type: z.literal('end'),
  count: z.number().int().nonnegative(),
  last: z.object({ seq: z.number().int().nonnegative(), hash: hex64 }),
  /** SHA-256 over every line's `seq:prevHash:hash:keyId\n`: signs the envelopes' order and linkage too. */
  envelopes: hex64,
  sig: z.string(),
});
export type ExportHeader = z.infer<typeof headerSchema>;
type EventLine = z.infer<typeof lineSchema>;

const HEX64 = /^[0-9a-f]{64}$/;

/** lineSchema's rules, without building a parse result: true only for a line it accepts. */
function isEventLine(v: unknown): v is EventLine {
  if (v === null || typeof v !== 'object') return false;
  const l = v as Record<string, unknown>;
  return (
    typeof l.seq === 'number' &&
    Number.isSafeInteger(l.seq) &&
    l.seq > 0 &&
    typeof l.prevHash === 'string' &&
    HEX64.test(l.prevHash) &&
    typeof l.hash === 'string' &&
    HEX64.test(l.hash) &&
    typeof l.sig === 'string' &&
    typeof l.keyId === 'string' &&
    typeof l.ct === 'string'
  );
}

function fileKey(shared: Buffer, ephemeralSpki: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, ephemeralSpki, 'cwa-audit-export/v1', 32));
}

/** The 96-bit GCM nonce of an event: 4 zero bytes, then seq (big-endian); into `into` when given (the cipher copies it). */
function nonceFor(seq: number, into: Buffer = Buffer.alloc(12)): Buffer {
  into.writeUInt32BE(0, 0);
  into.writeBigUInt64BE(BigInt(seq), 4);
  return into;
}

function trailerDigest(header: ExportHeader, count: number, last: ChainPoint, envelopes: string): Buffer {
  return createHash('sha256')
    .update(canonicalJson({ type: 'end', count, last, envelopes, device: header.device, exportedAt: header.exportedAt, from: header.from }))
    .digest();
}

const envelopeLine = (seq: number, prevHash: string, hash: string, keyId: string): string => `${seq}:${prevHash}:${hash}:${keyId}\n`;

export function loadX25519PublicKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw new ExportError(`The recipient key is not a PEM public key: ${(err as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'x25519') {
    throw new ExportError(`The recipient key must be X25519 (got ${key.asymmetricKeyType ?? 'unknown'}). Make one with: openssl genpkey -algorithm X25519 -out auditor.pem && openssl pkey -in auditor.pem -pubout -out auditor.pub.pem`);
  }
  return key;
}

export interface ExportOptions {
  readonly out: string;
  /** First seq to export (default: the oldest stored). */
  readonly sinceSeq?: number;
  readonly recipient: KeyObject;
  readonly identity: DeviceIdentity;
}

export interface ExportSummary {
  readonly count: number;
  readonly from: ChainPoint;
  readonly last: ChainPoint;
  readonly out: string;
}

/** Writes the export to `out` atomically (temp file + fsync + rename). */
export function writeExport(store: AuditStore, opts: ExportOptions): ExportSummary {
  const meta = store.deviceMeta();
  const since = Math.max(opts.sinceSeq ?? 0, store.anchor().seq + 1);
  let from: ChainPoint = store.anchor();
  if (since > store.anchor().seq + 1) {
    const before = store.readAfter(since - 2, 1)[0];
    if (!before || before.seq !== since - 1) throw new ExportError(`seq ${since - 1} is not in the buffer; choose --since between ${store.anchor().seq + 1} and ${store.head().seq}`);
    from = { seq: before.seq, hash: before.hash };
  }
  const eph = generateKeyPairSync('x25519');
  const ephSpki = eph.publicKey.export({ type: 'spki', format: 'der' });
  const key = fileKey(diffieHellman({ privateKey: eph.privateKey, publicKey: opts.recipient }), ephSpki);
  const header: ExportHeader = {
    type: EXPORT_TYPE,
    v: 1,
    device: meta.device,
    keyId: meta.keyId,
    publicKey: meta.publicKeyPem,
    exportedAt: new Date().toISOString(),
    from,
    encryption: { alg: ALG, ephemeralPublicKey: ephSpki.toString('base64'), recipientKeyId: keyIdOf(opts.recipient) },
  };
  const tmp = `${opts.out}.partial`;
  const fd = openSync(tmp, 'w', 0o600);
  let count = 0;
  let last = from;
  const envelopes = createHash('sha256');
  try {
    writeSync(fd, `${JSON.stringify(header)}\n`);
    let chunk: string[] = [];
    for (const e of store.iterate(since)) {
      const cipher = createCipheriv('aes-256-gcm', key, nonceFor(e.seq));
      cipher.setAAD(Buffer.from(`${e.seq}:${e.hash}`));
      const ct = Buffer.concat([cipher.update(e.body, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      // The envelope carries the prevHash the device signed, so a tampered buffer stays visible.
      const prevHash = (JSON.parse(e.body) as { prevHash: string }).prevHash;
      chunk.push(JSON.stringify({ seq: e.seq, prevHash, hash: e.hash, sig: e.sig, keyId: meta.keyId, ct: ct.toString('base64') }));
      envelopes.update(envelopeLine(e.seq, prevHash, e.hash, meta.keyId));
      last = { seq: e.seq, hash: e.hash };
      count++;
      if (chunk.length >= 1000) {
        writeSync(fd, `${chunk.join('\n')}\n`);
        chunk = [];
      }
    }
    if (chunk.length > 0) writeSync(fd, `${chunk.join('\n')}\n`);
    const envelopesHex = envelopes.digest('hex');
    const sig = opts.identity.sign(trailerDigest(header, count, last, envelopesHex)).toString('base64');
    writeSync(fd, `${JSON.stringify({ type: 'end', count, last, envelopes: envelopesHex, sig })}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, opts.out);
  return { count, from, last, out: opts.out };
}

export interface VerifyExportOptions {
  /** The auditor's X25519 private key: with it, event content is decrypted and re-hashed. */
  readonly identity?: KeyObject;
  /** The device public key as registered elsewhere (receiver, enrolment): the export must be signed by it. */
  readonly expectedDeviceKey?: KeyObject;
  readonly expectLast?: ChainPoint;
  /** Called with each decrypted event body (only with `identity`). */
  readonly onEvent?: (body: string) => void;
}

export interface ExportVerifyResult extends VerifyResult {
  readonly header: ExportHeader | null;
  readonly contentKeyUsed: boolean;
}

/**
 * The file's lines, a large read at a time (no promise per line: this runs once per event).
 * A line break is \n, with an optional \r before it.
 */
async function* lineBatches(path: string): AsyncGenerator<string[]> {
  // Reads of 256 KB straight from the file (a read stream's machinery costs about as much
  // CPU per event as the reads themselves); the buffer is reused, so the unfinished last
  // line is copied out of it. A batch's lines stay alive until the caller has walked them
  // all, and what is alive when the young generation is collected gets copied: 256 KB of
  // lines is far below the young generation.
  const file = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 18);
    let rest: Buffer | null = null;
    for (;;) {
      const { bytesRead } = await file.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      const data: Buffer = rest ? Buffer.concat([rest, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
      const lines: string[] = [];
      let start = 0;
      for (let nl = data.indexOf(10, start); nl !== -1; nl = data.indexOf(10, start)) {
        lines.push(data.toString('utf8', start, nl > start && data[nl - 1] === 13 ? nl - 1 : nl));
        start = nl + 1;
      }
      rest = start < data.length ? Buffer.from(data.subarray(start)) : null;
      yield lines;
    }
    if (rest) yield [rest.toString('utf8', 0, rest[rest.length - 1] === 13 ? rest.length - 1 : rest.length)];
  } finally {
    await file.close();
  }
}

interface CheckedRecord {
  readonly seq: number;
  readonly hash: string;
  readonly sig: string;
  readonly body: string | undefined;
}

/**
 * Verifies an export file line by line (constant memory): order, links and content on this
 * thread, the Ed25519 signatures on every core (SignatureStream), with the verdict of a
 * one-by-one walk — the first problem in chain order, a bad signature included.
 */
export async function verifyExport(path: string, opts: VerifyExportOptions = {}): Promise<ExportVerifyResult> {
  // Large reads: the file is walked once, start to end.
  let header: ExportHeader | null = null;
  let verifier: ChainVerifier | null = null;
  let signatures: SignatureStream<CheckedRecord> | null = null;
  let lastConfirmed: ChainPoint | null = null;
  let key: Buffer | null = null;
  let publicKey: KeyObject | null = null;
  let trailer: z.infer<typeof trailerSchema> | null = null;
  let lineNo = 0;
  let early: VerifyResult | null = null;
  const envelopes = createHash('sha256');
  const nonce = Buffer.alloc(12);
  const fail = (seq: number, reason: 'malformed' | 'wrong-device-key' | 'hash-mismatch', message: string): VerifyResult => ({
    ok: false,
    verified: 0,
    contentChecked: 0,
    firstSeq: null,
    last: null,
    problem: { seq, reason, message },
  });
  try {
    lines: for await (const batch of lineBatches(path)) {
      for (const line of batch) {
        lineNo++;
        if (line.trim() === '') continue;
        let json: unknown;
        try {
          json = JSON.parse(line);
        } catch {
          early = fail(0, 'malformed', `line ${lineNo} is not JSON (the file is damaged or cut in the middle of a line)`);
          break lines;
        }
        if (header === null) {
          const h = headerSchema.safeParse(json);
          if (!h.success) {
            early = fail(0, 'malformed', `line 1 is not a ${EXPORT_TYPE} header: ${h.error.issues[0]?.path.join('.')}: ${h.error.issues[0]?.message}`);
            break lines;
          }
          header = h.data;
          publicKey = createPublicKey(header.publicKey);
          if (keyIdOf(publicKey) !== header.keyId) {
            early = fail(0, 'wrong-device-key', 'the header keyId does not match its public key');
            break lines;
          }
          if (opts.expectedDeviceKey && keyIdOf(opts.expectedDeviceKey) !== header.keyId) {
            early = fail(0, 'wrong-device-key', `the export is signed with key ${header.keyId}, not the registered device key ${keyIdOf(opts.expectedDeviceKey)}`);
            break lines;
          }
          if (opts.identity) {
            const ephSpki = Buffer.from(header.encryption.ephemeralPublicKey, 'base64');
            const eph = createPublicKey({ key: ephSpki, format: 'der', type: 'spki' });
            key = fileKey(diffieHellman({ privateKey: opts.identity, publicKey: eph }), ephSpki);
          }
          verifier = new ChainVerifier({ publicKey, keyId: header.keyId, device: header.device, start: header.from, expectLast: opts.expectLast, skipSignatures: true });
          signatures = new SignatureStream<CheckedRecord>({
            publicKey,
            onVerified: (r) => {
              lastConfirmed = { seq: r.seq, hash: r.hash };
              if (r.body !== undefined) opts.onEvent?.(r.body);
            },
          });
          continue;
        }
        if (trailer !== null) {
          early = fail(trailer.last.seq + 1, 'malformed', `line ${lineNo} follows the end trailer`);
          break lines;
        }
        if ((json as { type?: unknown }).type === 'end') {
          const t = trailerSchema.safeParse(json);
          if (!t.success) {
            early = fail(0, 'malformed', `line ${lineNo}: malformed end trailer`);
            break lines;
          }
          trailer = t.data;
          continue;
        }
        // The common case checked by hand (this runs once per event); anything else goes
        // through the schema, whose message names what is wrong.
        const l = isEventLine(json) ? { success: true as const, data: json } : lineSchema.safeParse(json);
        if (!l.success) {
          early = fail(0, 'malformed', `line ${lineNo}: ${l.error.issues[0]?.path.join('.')}: ${l.error.issues[0]?.message}`);
          break lines;
        }
        const rec = l.data;
        let body: string | undefined;
        if (key) {
          try {
            const ct = Buffer.from(rec.ct, 'base64');
            const d = createDecipheriv('aes-256-gcm', key, nonceFor(rec.seq, nonce));
            d.setAAD(Buffer.from(`${rec.seq}:${rec.hash}`));
            d.setAuthTag(ct.subarray(ct.length - 16));
            const plain = d.update(ct.subarray(0, ct.length - 16));
            d.final();
            body = plain.toString('utf8');
          } catch {
            early = fail(rec.seq, 'hash-mismatch', `seq ${rec.seq}: the encrypted content does not decrypt with this identity (altered, or another recipient's export)`);
            break lines;
          }
        }
        const verifiedBefore = verifier!.verifiedCount;
        const problem = verifier!.push({ seq: rec.seq, hash: rec.hash, sig: rec.sig, prevHash: rec.prevHash, keyId: rec.keyId, body });
        if (problem) break lines;
        // A record that skipped ahead waits for the next line's verdict (gap or reordered): never passed on.
        if (verifier!.verifiedCount === verifiedBefore) continue;
        envelopes.update(envelopeLine(rec.seq, rec.prevHash, rec.hash, rec.keyId));
        // The body waits for its signature only when someone will be given it: queued records
        // outlive the garbage collector's young generation, and bodies are most of their bytes.
        if (!signatures!.add({ seq: rec.seq, hash: rec.hash, sig: rec.sig, body: opts.onEvent ? body : undefined })) break lines;
        if (signatures!.backlogged) await signatures!.drain();
      }
    }
  } catch (err) {
    signatures?.dispose();
    throw err;
  }
  // Every problem found on this thread lies after the records queued for their signatures:
  // a bad signature among those comes first in the chain.
  const signed = signatures ? await signatures.finish() : null;
  if (signed?.bad) {
    const structural = verifier!.finish();
    return {
      ok: false,
      verified: signed.verified,
      contentChecked: key ? signed.verified + 1 : 0,
      firstSeq: structural.firstSeq,
      last: lastConfirmed ?? header!.from,
      problem: badSignature(signed.bad.seq),
      header,
      contentKeyUsed: key !== null,
    };
  }
  if (early) return { ...early, header, contentKeyUsed: key !== null };
  if (!header || !verifier) return { ...fail(0, 'malformed', 'the file is empty: no export header'), header, contentKeyUsed: false };
  const partial = verifier.finish();
  if (!partial.ok) return { ...partial, header, contentKeyUsed: key !== null };
  if (trailer === null) {
    const endSeq = partial.last?.seq ?? header.from.seq;
    return {
      ...partial,
      ok: false,
      problem: { seq: endSeq + 1, reason: 'truncated-tail', message: `the export ends after seq ${endSeq} without its signed end trailer: the file was cut short` },
      header,
      contentKeyUsed: key !== null,
    };
  }
  const trailerOk = verify(null, trailerDigest(header, trailer.count, trailer.last, trailer.envelopes), publicKey!, Buffer.from(trailer.sig, 'base64'));
  const last = partial.last ?? header.from;
  if (!trailerOk) {
    return { ...partial, ok: false, problem: { seq: trailer.last.seq, reason: 'bad-signature', message: 'the end trailer is not signed by the device key' }, header, contentKeyUsed: key !== null };
  }
  if (trailer.last.seq !== last.seq || trailer.last.hash !== last.hash || trailer.count !== partial.verified) {
    const missingFrom = last.seq + 1;
    return {
      ...partial,
      ok: false,
      problem: {
        seq: missingFrom,
        reason: 'truncated-tail',
        message: `the trailer says the export ends at seq ${trailer.last.seq} with ${trailer.count} events, but the file ends at seq ${last.seq} with ${partial.verified}`,
      },
      header,
      contentKeyUsed: key !== null,
    };
  }
  if (envelopes.digest('hex') !== trailer.envelopes) {
    return {
      ...partial,
      ok: false,
      problem: {
        seq: partial.firstSeq ?? header.from.seq + 1,
        reason: 'reordered',
        message: 'the event lines are not in the order, or do not link, the way the device signed them (envelopes were rewritten); verify with --identity to name the first altered seq',
      },
      header,
      contentKeyUsed: key !== null,
    };
  }
  return { ...partial, header, contentKeyUsed: key !== null };
}

export function loadX25519PrivateKey(pem: string): KeyObject {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'x25519') throw new ExportError(`the identity must be an X25519 private key (got ${key.asymmetricKeyType ?? 'unknown'})`);
  return key;
}
