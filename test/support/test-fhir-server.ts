// A FHIR R4 server that speaks transaction semantics, for the FHIR lane's tests, over real
// mutual TLS on 127.0.0.1: POST {base} with a `transaction` Bundle; each entry is checked
// against the R4 JSON schema and the BALP rules (test/support/fhir-validator.ts); a
// conditional create (`ifNoneExist: entity:identifier=system|value`) that matches answers
// 200 with the existing resource instead of making another; all or nothing (a refused
// entry fails the whole transaction, with an OperationOutcome naming it). Tests can make
// it refuse one entry, answer a status, hang, or commit and then drop the response.
import { once } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { auditEventProblems } from './fhir-validator';

export type FhirFault =
  /** Answer the whole transaction with this status and an OperationOutcome; nothing is stored. */
  | { readonly kind: 'status'; readonly status: number }
  /** Read the request and never answer (the client's deadline ends it); nothing is stored. */
  | { readonly kind: 'hang' }
  /** Store the transaction, then drop the connection: the client never hears it succeeded. */
  | { readonly kind: 'drop-after-commit' };

/** Decides a fault per transaction (index counts every POST, from 0). */
export type FhirFaultPlan = (ctx: { readonly index: number }) => FhirFault | undefined;

/** Refuses an entry: the status and why, or undefined to accept it. */
export type EntryRefusal = (resource: StoredAuditEvent, index: number) => { readonly status: number; readonly diagnostics: string } | undefined;

export interface StoredAuditEvent {
  readonly resourceType: 'AuditEvent';
  readonly entity?: readonly { readonly what?: { readonly identifier?: { readonly system?: string; readonly value?: string } }; readonly detail?: readonly { readonly type: string; readonly valueString?: string }[] }[];
  readonly [key: string]: unknown;
}

export interface FhirServerCounts {
  readonly transactions: number;
  /** Entries that made a new resource. */
  readonly created: number;
  /** Conditional creates that found the resource already there (resends). */
  readonly existing: number;
  /** Transactions refused as a whole because of an entry (4xx). */
  readonly refused: number;
  readonly faults: number;
}

export interface TestFhirServer {
  readonly url: string;
  readonly port: number;
  counts(): FhirServerCounts;
  /** Every stored AuditEvent by logical id. */
  resources(): ReadonlyMap<string, StoredAuditEvent>;
  setFaults(plan: FhirFaultPlan | undefined): void;
  setRefusal(refusal: EntryRefusal | undefined): void;
  /**
   * How a refusal is reported: 'atomic' (R4: the transaction fails as a whole, HTTP status
   * + OperationOutcome), 'atomic-unnamed' (the same without naming the entry), or
   * 'per-entry' (a non-conforming server: 200 transaction-response with the entry's own
   * status, the entries before it stored).
   */
  setRefusalStyle(style: 'atomic' | 'atomic-unnamed' | 'per-entry'): void;
  /** The Prefer header of each transaction received. */
  preferences(): readonly string[];
  /** Resolves after the next `n` transactions finished (answered, failed, dropped or hung). */
  transactionsDone(n: number): Promise<void>;
  close(): Promise<void>;
}

interface Entry {
  readonly resource?: unknown;
  readonly request?: { readonly method?: unknown; readonly url?: unknown; readonly ifNoneExist?: unknown };
}

class Refusal {
  constructor(
    readonly status: number,
    readonly index: number,
    readonly diagnostics: string,
  ) {}
}

export async function startTestFhirServer(opts: {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  /** The base path the Bundles go to (default /fhir). */
  readonly base?: string;
  /**
   * 'ignores-identifier': a lenient server that drops a search parameter it does not
   * support, even under Prefer: handling=strict, so an ifNoneExist matches every
   * AuditEvent it holds (one: 200 with it; several: 412).
   */
  readonly search?: 'by-identifier' | 'ignores-identifier';
}): Promise<TestFhirServer> {
  const base = opts.base ?? '/fhir';
  // Compile the R4 schema now (seconds), not inside the first request's deadline.
  auditEventProblems({ resourceType: 'AuditEvent' });
  const store = new Map<string, StoredAuditEvent>();
  const byIdentifier = new Map<string, string[]>();
  let nextId = 1;
  let index = 0;
  let faults: FhirFaultPlan | undefined;
  let refusal: EntryRefusal | undefined;
  let style: 'atomic' | 'atomic-unnamed' | 'per-entry' = 'atomic';
  const counts = { transactions: 0, created: 0, existing: 0, refused: 0, faults: 0 };
  const preferences: string[] = [];
  const sockets = new Set<Socket>();
  const waiters: { remaining: number; resolve: () => void }[] = [];
  const finished = (): void => {
    for (const w of [...waiters]) {
      if (--w.remaining === 0) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };

  const identifierKeys = (r: StoredAuditEvent): string[] =>
    (r.entity ?? []).flatMap((e) => (e.what?.identifier?.value === undefined ? [] : [`${e.what.identifier.system ?? ''}|${e.what.identifier.value}`]));

  /** `entity:identifier=system|value`, the only search this server answers. */
  const matches = (query: string): string[] => {
    if (opts.search === 'ignores-identifier') return [...store.keys()];
    const params = new URLSearchParams(query);
    const keys = [...params.keys()];
    const value = params.get('entity:identifier');
    if (keys.length !== 1 || value === null) throw new Refusal(400, -1, `unsupported ifNoneExist search "${query}": only entity:identifier=system|value`);
    return byIdentifier.get(value) ?? [];
  };

  const outcome = (status: number, diagnostics: string, entry: number | null): object => ({
    resourceType: 'OperationOutcome',
    issue: [
      {
        severity: 'error',
        code: status === 412 ? 'duplicate' : status >= 500 ? 'exception' : 'processing',
        diagnostics,
        ...(entry === null ? {} : { expression: [`Bundle.entry[${entry}].resource`] }),
      },
    ],
  });

  const send = (res: ServerResponse, status: number, body: object): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/fhir+json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

  /** Checks every entry, then stores all (or, per-entry style, the ones before a refusal). */
  const transact = (bundle: unknown): { status: number; body: object } => {
    const b = bundle as { resourceType?: unknown; type?: unknown; entry?: unknown };
    if (b?.resourceType !== 'Bundle' || b.type !== 'transaction' || !Array.isArray(b.entry)) {
      return { status: 400, body: outcome(400, 'expected a Bundle of type transaction with entries', null) };
    }
    const entries = b.entry as Entry[];
    const plan: { resource: StoredAuditEvent; existing: string | null }[] = [];
    let refusedAt: Refusal | null = null;
    const seen = new Set<string>();
    for (const [i, e] of entries.entries()) {
      try {
        if (e.request?.method !== 'POST' || e.request.url !== 'AuditEvent') throw new Refusal(400, i, 'each entry must be POST AuditEvent');
        const problems = auditEventProblems(e.resource);
        if (problems.length > 0) throw new Refusal(422, i, `invalid AuditEvent: ${problems.slice(0, 5).join('; ')}`);
        const resource = e.resource as StoredAuditEvent;
        const refused = refusal?.(resource, i);
        if (refused) throw new Refusal(refused.status, i, refused.diagnostics);
        let existing: string | null = null;
        if (typeof e.request.ifNoneExist === 'string') {
          const found = matches(e.request.ifNoneExist);
          if (found.length > 1) throw new Refusal(412, i, `ifNoneExist matched ${found.length} resources`);
          existing = found[0] ?? null;
          if (existing === null && seen.has(e.request.ifNoneExist)) throw new Refusal(400, i, 'two entries create the same resource');
          seen.add(e.request.ifNoneExist);
        }
        plan.push({ resource, existing });
      } catch (err) {
        if (!(err instanceof Refusal)) throw err;
        refusedAt = err.index === -1 ? new Refusal(err.status, i, err.diagnostics) : err;
        break;
      }
    }
    if (refusedAt !== null && style !== 'per-entry') {
      counts.refused++;
      return { status: refusedAt.status, body: outcome(refusedAt.status, refusedAt.diagnostics, style === 'atomic' ? refusedAt.index : null) };
    }
    const responses = plan.map(({ resource, existing }) => {
      if (existing !== null) {
        counts.existing++;
        return { status: '200 OK', location: `AuditEvent/${existing}/_history/1`, etag: 'W/"1"' };
      }
      const id = String(nextId++);
      store.set(id, { ...resource, id, meta: { versionId: '1' } });
      for (const key of identifierKeys(resource)) byIdentifier.set(key, [...(byIdentifier.get(key) ?? []), id]);
      counts.created++;
      return { status: '201 Created', location: `AuditEvent/${id}/_history/1`, etag: 'W/"1"' };
    });
    const entry: { response: Record<string, unknown> }[] = responses.map((response) => ({ response }));
    if (refusedAt !== null) {
      counts.refused++;
      entry.push({ response: { status: `${refusedAt.status} Refused`, outcome: outcome(refusedAt.status, refusedAt.diagnostics, null) } });
      // Entries after the refused one are not processed by this server.
      for (let i = entry.length; i < entries.length; i++) entry.push({ response: { status: '400 Bad Request' } });
    }
    return { status: 200, body: { resourceType: 'Bundle', type: 'transaction-response', entry } };
  };

  const handle = (req: IncomingMessage, res: ServerResponse, body: Buffer): void => {
    const i = index++;
    counts.transactions++;
    preferences.push(String(req.headers.prefer ?? ''));
    const fault = faults?.({ index: i });
    if (fault) counts.faults++;
    if (fault?.kind === 'hang') {
      // Never answer; the socket is destroyed by the client's deadline or by close().
      req.socket.once('close', finished);
      return;
    }
    if (fault?.kind === 'status') {
      send(res, fault.status, outcome(fault.status, `injected HTTP ${fault.status}`, null));
      finished();
      return;
    }
    if (req.method !== 'POST' || (req.url ?? '').replace(/\/+$/, '') !== base) {
      send(res, 404, outcome(404, `POST the transaction Bundle to ${base}`, null));
      finished();
      return;
    }
    if (!String(req.headers['content-type'] ?? '').startsWith('application/fhir+json')) {
      send(res, 415, outcome(415, 'expected application/fhir+json', null));
      finished();
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      send(res, 400, outcome(400, 'the body is not JSON', null));
      finished();
      return;
    }
    const reply = transact(parsed);
    if (fault?.kind === 'drop-after-commit') {
      req.socket.destroy();
      finished();
      return;
    }
    send(res, reply.status, reply.body);
    finished();
  };

  const server: Server = createServer(
    { ca: opts.ca, cert: opts.cert, key: opts.key, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => handle(req, res, Buffer.concat(chunks)));
    },
  );
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;

  return {
    url: `https://localhost:${port}${base}`,
    port,
    counts: () => ({ ...counts }),
    resources: () => store,
    setFaults(plan) {
      faults = plan;
    },
    setRefusal(r) {
      refusal = r;
    },
    setRefusalStyle(s) {
      style = s;
    },
    preferences: () => preferences,
    transactionsDone(n) {
      return new Promise((resolve) => waiters.push({ remaining: n, resolve }));
    },
    async close() {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

/** The event seq an AuditEvent carries (its cwa.seq detail), for refusals and counts. */
export function seqOf(resource: StoredAuditEvent): number {
  for (const e of resource.entity ?? []) for (const d of e.detail ?? []) if (d.type === 'cwa.seq' && d.valueString !== undefined) return Number(d.valueString);
  return Number.NaN;
}

/** The event id an AuditEvent carries (its record entity's `urn:uuid:` identifier). */
export function eventIdOf(resource: StoredAuditEvent): string | null {
  for (const e of resource.entity ?? []) {
    const v = e.what?.identifier?.value;
    if (e.what?.identifier?.system === 'urn:ietf:rfc:3986' && v?.startsWith('urn:uuid:')) return v.slice('urn:uuid:'.length);
  }
  return null;
}
