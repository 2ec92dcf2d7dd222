// Transport 3: a FHIR R4 audit repository. Each batch is a `transaction` Bundle of
// AuditEvent resources (main/audit/formats/fhir-audit-event.ts), POSTed to the server's
// base URL over mutual TLS. Each entry is a conditional create keyed on the event id, so a
// resend after a timeout or a lost response finds the resource instead of making another.
//
// An event counts as delivered only when the transaction-response says its entry was
// created (201) or already there (200). When the server refuses a Bundle for one entry
// (4xx), the events before that entry are sent on their own so that they still arrive, and
// the refused one is reported with its seq (TransportError.refusedSeq): the forwarder
// never skips it, raises a continuity alarm, and retries it with backoff; nothing after it
// is sent to this upstream until the server takes it.
import type https from 'node:https';
import { z } from 'zod';
import { parseEventBody, type AuditEvent, type SealedEvent } from '../audit/event';
import { fhirTransactionBundle, type FhirAuditSource } from '../audit/formats/fhir-audit-event';
import { mutualTlsAgent, postOverMutualTls } from './mutual-tls-post';
import { TransportError, type SendOutcome, type SealedTransport } from './transport';

export interface FhirTransportOptions {
  /** The FHIR server's base URL (https://host:port/path); Bundles are POSTed to it. */
  readonly url: string;
  /** The pinned CA (PEM): the only trust anchor, the system store is not used. */
  readonly ca: string | Buffer;
  /** This device's client certificate chain and key (PEM). */
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  readonly servername?: string | undefined;
  /** Whole request deadline: connect, TLS, upload, reply. */
  readonly requestTimeoutMs: number;
  /** Most entries in one transaction; a longer batch is acknowledged in part and the rest sent next. */
  readonly maxEntries: number;
  readonly source: FhirAuditSource;
  /** Default: 1 MB, or 16 KB per entry when more (a server may return whole resources despite return=minimal). */
  readonly maxReplyBytes?: number;
}

/** Statuses by which a server refuses the content of a Bundle (one entry, or its size): look for the entry. */
const CONTENT_REFUSALS = new Set([400, 409, 412, 413, 422]);
/** Statuses that concern the whole lane (credentials, address): no entry is to blame. */
const LANE_REFUSALS = new Set([401, 403, 404, 405, 406, 415]);

const FHIR_JSON = 'application/fhir+json';

const operationOutcomeSchema = z.looseObject({
  resourceType: z.literal('OperationOutcome'),
  issue: z
    .array(
      z.looseObject({
        severity: z.string().optional(),
        code: z.string().optional(),
        diagnostics: z.string().optional(),
        details: z.looseObject({ text: z.string().optional() }).optional(),
        expression: z.array(z.string()).optional(),
        location: z.array(z.string()).optional(),
      }),
    )
    .default([]),
});
type OperationOutcome = z.infer<typeof operationOutcomeSchema>;

const transactionResponseSchema = z.looseObject({
  resourceType: z.literal('Bundle'),
  type: z.literal('transaction-response'),
  entry: z
    .array(
      z.looseObject({
        response: z.looseObject({
          status: z.string().regex(/^\d{3}\b/, 'a response status starts with the 3-digit HTTP code'),
          location: z.string().optional(),
          outcome: z.unknown().optional(),
        }),
      }),
    )
    .default([]),
});

export class FhirTransport implements SealedTransport {
  readonly name = 'fhir';
  readonly acknowledges = true;
  readonly carriesSignatures = true;
  private readonly endpoint: URL;
  private readonly agent: https.Agent;
  private readonly maxReplyBytes: number;
  /**
   * The AuditEvent (logical id) the server named for each event this lane saw stored,
   * bounded: a 200 naming one already tied to another event means the server's conditional
   * create matched something else (it does not search by the event's identifier).
   */
  private readonly stored = new Map<string, number>();

  constructor(private readonly opts: FhirTransportOptions) {
    this.endpoint = new URL(opts.url);
    if (this.endpoint.protocol !== 'https:') throw new Error(`the FHIR server URL must be https:// (got ${this.endpoint.protocol}); nothing is sent in clear`);
    if (!Number.isSafeInteger(opts.maxEntries) || opts.maxEntries < 1) throw new Error('FhirTransport: maxEntries must be a positive integer');
    this.maxReplyBytes = opts.maxReplyBytes ?? Math.max(1024 * 1024, opts.maxEntries * 16 * 1024);
    this.agent = mutualTlsAgent(opts);
  }

  /**
   * The transport a FhirPolicy (main/forward/fhir-policy.ts) describes; credentials come
   * from loadTlsCredentials(policy, keyStore) in main/forward/tls-credentials.ts.
   */
  static fromPolicy(
    policy: {
      readonly url: string;
      readonly servername?: string | undefined;
      readonly requestTimeoutMs: number;
      readonly maxEntries: number;
      readonly enterpriseSiteId?: string | undefined;
    },
    credentials: { readonly ca: string; readonly cert: string; readonly key: string },
    source: Omit<FhirAuditSource, 'enterpriseSiteId'>,
  ): FhirTransport {
    return new FhirTransport({
      url: policy.url,
      servername: policy.servername,
      ...credentials,
      requestTimeoutMs: policy.requestTimeoutMs,
      maxEntries: policy.maxEntries,
      source: { ...source, ...(policy.enterpriseSiteId === undefined ? {} : { enterpriseSiteId: policy.enterpriseSiteId }) },
    });
  }

  async send(batch: readonly SealedEvent[], signal: AbortSignal): Promise<SendOutcome> {
    signal.throwIfAborted();
    if (batch.length === 0) throw new TransportError('protocol', 'An empty batch was given to the FHIR transport.', { retryable: false });
    const part = batch.slice(0, this.opts.maxEntries);
    // Parse before touching the network: a bad stored event is not a network problem.
    const events = part.map((sealed) => {
      try {
        return parseEventBody(sealed.body);
      } catch (err) {
        throw new TransportError(
          'protocol',
          `audit event seq ${sealed.seq} cannot be read back from the buffer (${err instanceof Error ? err.message : String(err)}); the FHIR lane cannot pass it. Run \`agentctl verify\` on the buffer.`,
          { retryable: false, cause: err },
        );
      }
    });
    return this.deliver(part, events, signal);
  }

  close(): Promise<void> {
    this.agent.destroy();
    return Promise.resolve();
  }

  /** Sends one transaction; on a content refusal, sends the entries before the refused one on their own. */
  private async deliver(batch: readonly SealedEvent[], events: readonly AuditEvent[], signal: AbortSignal): Promise<SendOutcome> {
    const payload = Buffer.from(JSON.stringify(fhirTransactionBundle(batch, events, this.opts.source)), 'utf8');
    const reply = await postOverMutualTls(
      this.endpoint,
      this.agent,
      this.opts,
      {
        payload,
        // handling=strict: a server that does not support the ifNoneExist search must refuse
        // it rather than ignore it (an ignored search matches every AuditEvent it holds).
        headers: { 'content-type': `${FHIR_JSON}; charset=utf-8`, accept: FHIR_JSON, prefer: 'return=minimal, handling=strict' },
        timeoutMs: this.opts.requestTimeoutMs,
        maxReplyBytes: this.maxReplyBytes,
      },
      signal,
    );
    const host = this.endpoint.host;
    const json = parseJson(reply.text);

    if (reply.status >= 200 && reply.status < 300) {
      const r = transactionResponseSchema.safeParse(json);
      if (!r.success) {
        throw new TransportError('protocol', `the FHIR server ${host} answered HTTP ${reply.status} without a valid transaction-response Bundle (${r.error.issues[0]?.message ?? 'bad body'}); nothing is counted as delivered`, {
          status: reply.status,
          retryable: true,
        });
      }
      const entries = r.data.entry;
      if (entries.length !== batch.length) {
        throw new TransportError('protocol', `the FHIR server ${host} answered ${entries.length} entries for a transaction of ${batch.length}; nothing is counted as delivered`, {
          status: reply.status,
          retryable: true,
        });
      }
      // Entries answer in request order (FHIR R4 transaction rules). Count only a leading run
      // of created (201) or already existing (200) resources: positions are contiguous.
      let done = 0;
      while (done < entries.length && isStored(entries[done]!.response.status)) done++;
      this.checkStoredAs(batch, entries.slice(0, done));
      if (done > 0) return { kind: 'acknowledged', acceptedThrough: batch[done - 1]!.seq };
      // The first entry failed in a 2xx answer: a server that treats the transaction as a batch.
      const first = entries[0]!.response;
      throw this.entryFailure(batch[0]!, statusCode(first.status), first.status, outcomeText(operationOutcomeSchema.safeParse(first.outcome).data));
    }

    const outcome = operationOutcomeSchema.safeParse(json).data;
    if (CONTENT_REFUSALS.has(reply.status)) {
      const index = entryIndex(outcome);
      if (batch.length === 1 || index === 0) throw this.entryFailure(batch[0]!, reply.status, String(reply.status), outcomeText(outcome), index === null);
      // Deliver what precedes the refused entry (halve when the server does not say which).
      const cut = index !== null && index > 0 && index < batch.length ? index : Math.ceil(batch.length / 2);
      return this.deliver(batch.slice(0, cut), events.slice(0, cut), signal);
    }
    const why = outcomeText(outcome) ?? reply.text.slice(0, 200);
    if (LANE_REFUSALS.has(reply.status)) {
      throw new TransportError(
        'rejected',
        `the FHIR server ${host} refused the transaction (HTTP ${reply.status}${why ? `: ${why}` : ''}); IT must check the fhir.url in policy and that the server accepts this device's client certificate`,
        { retryable: false, status: reply.status },
      );
    }
    throw new TransportError('http-status', `the FHIR server ${host} answered HTTP ${reply.status}${why ? ` (${why})` : ''}`, { retryable: true, status: reply.status });
  }

  /**
   * Each stored entry must name an AuditEvent of its own. Throws (nothing counted as
   * delivered) when one names a resource the server gave for another event; remembers
   * the rest.
   */
  private checkStoredAs(batch: readonly SealedEvent[], entries: readonly { readonly response: { readonly location?: string | undefined } }[]): void {
    const ids = entries.map((e) => resourceId(e.response.location));
    const seen = new Map<string, number>();
    ids.forEach((id, i) => {
      if (id === null) return;
      const seq = batch[i]!.seq;
      const other = seen.get(id) ?? this.stored.get(id);
      if (other !== undefined && other !== seq) {
        throw new TransportError(
          'protocol',
          `the FHIR server ${this.endpoint.host} answered for the event of seq ${seq} with ${id}, the AuditEvent it stored for seq ${other}: its conditional create ` +
            'does not search by the event identifier (entity:identifier), so events would count as delivered without being stored. Nothing is counted as delivered; ' +
            'the server must support that search on AuditEvent',
          { retryable: true },
        );
      }
      seen.set(id, seq);
    });
    for (const [id, seq] of seen) {
      this.stored.delete(id);
      this.stored.set(id, seq);
      if (this.stored.size > MAX_REMEMBERED) this.stored.delete(this.stored.keys().next().value!);
    }
  }

  /**
   * `unnamed`: the server refused a Bundle of this event alone without naming an entry, so
   * the blame is this lane's narrowing, not the server's word (see the message).
   */
  private entryFailure(sealed: SealedEvent, status: number, statusText: string, why: string | null, unnamed = false): TransportError {
    const host = this.endpoint.host;
    if (status === 412) {
      return new TransportError(
        'rejected',
        `the FHIR server ${host} found more than one AuditEvent for the identifier of seq ${sealed.seq} (412${why ? `: ${why}` : ''}): duplicates on the server, or its ` +
          'conditional create does not search by entity:identifier. The event is not skipped: it stays next in line and is retried with backoff. Check the server\'s AuditEvent search support and its log',
        { retryable: false, status, refusedSeq: sealed.seq },
      );
    }
    if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
      return new TransportError(
        'rejected',
        `the FHIR server ${host} refuses the AuditEvent of seq ${sealed.seq} (${statusText}${why ? `: ${why}` : ''}); it is not skipped: it stays next in line and is retried with backoff. ` +
          (unnamed
            ? "The server did not say which entry it refused; it refused this event sent alone. If it refuses every event this way, the cause is on the server (its rules, profile or limits), not this event: check its log"
            : "Check the server's validation rules and its log"),
        { retryable: false, status, refusedSeq: sealed.seq },
      );
    }
    return new TransportError('http-status', `the FHIR server ${host} could not store the AuditEvent of seq ${sealed.seq} (${statusText}${why ? `: ${why}` : ''})`, {
      retryable: true,
      ...(Number.isNaN(status) ? {} : { status }),
    });
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** How many stored AuditEvents the lane remembers to catch a server that matches the wrong one. */
const MAX_REMEMBERED = 50_000;

/** `AuditEvent/123` from a response location such as `AuditEvent/123/_history/1` (or an absolute URL), or null. */
function resourceId(location: string | undefined): string | null {
  const m = location === undefined ? null : /(?:^|\/)(AuditEvent\/[A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]*)?$/.exec(location);
  return m ? m[1]! : null;
}

function statusCode(status: string): number {
  return Number.parseInt(status.slice(0, 3), 10);
}

function isStored(status: string): boolean {
  const code = statusCode(status);
  return code === 200 || code === 201;
}

/** The entry an OperationOutcome blames (`Bundle.entry[3]...` in an issue's expression or location), if it says. */
function entryIndex(outcome: OperationOutcome | undefined): number | null {
  for (const issue of outcome?.issue ?? []) {
    for (const path of [...(issue.expression ?? []), ...(issue.location ?? [])]) {
      const m = /^Bundle\.entry\[(\d+)\]/.exec(path);
      if (m) return Number(m[1]);
    }
  }
  return null;
}

function outcomeText(outcome: OperationOutcome | undefined): string | null {
  const text = (outcome?.issue ?? [])
    .map((i) => i.diagnostics ?? i.details?.text ?? i.code)
    .filter((t): t is string => typeof t === 'string' && t !== '')
    .join('; ');
  return text === '' ? null : text.slice(0, 300);
}
