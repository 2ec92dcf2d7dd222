// One sealed event → one RFC 5424 syslog message with the DICOM audit message XML as its
// body: what the syslog/TLS transport writes and what an IHE ATNA repository stores.
import { catalogEntry, isAuditAction } from '../catalog';
import { parseEventBody, type AuditEvent, type ChainedEvent } from '../event';
import { ATNA_MAX_MESSAGE_BYTES, MAX_UTF8_BYTES_PER_UNIT, atnaAuditXml, type AtnaSource } from './atna-xml';
import {
  ATNA_MSGID,
  CWA_SD_ID,
  FACILITY_AUTHPRIV,
  SEVERITY_NOTICE,
  SEVERITY_WARNING,
  SyslogFormatError,
  formatHeader,
  headerField,
} from './rfc5424';

export interface AtnaSyslogOptions extends AtnaSource {
  /** APP-NAME, e.g. `cwa`. */
  readonly appName: string;
  /** Upper bound for the whole SYSLOG-MSG in bytes (header + BOM + XML); at most 32768. */
  readonly maxMessageBytes?: number;
}

/** Notice (5) for ordinary events, warning (4) for failures and urgent alerts (break-glass, lockout, alarms). */
export function severityFor(event: Pick<AuditEvent, 'action' | 'outcome'>): number {
  return event.outcome !== 0 || catalogEntry(event.action).urgent ? SEVERITY_WARNING : SEVERITY_NOTICE;
}

/** The SYSLOG-MSG bytes for one sealed event (not framed). Throws if the body is not a valid event. */
export function atnaSyslogMessage(sealed: ChainedEvent, options: AtnaSyslogOptions): Buffer {
  return new AtnaSyslogEncoder(options).encode(sealed, false);
}

/** The same message framed for RFC 5425 (`MSG-LEN SP SYSLOG-MSG`), as the transport writes it. */
export function atnaSyslogFrame(sealed: ChainedEvent, options: AtnaSyslogOptions): Buffer {
  return new AtnaSyslogEncoder(options).encode(sealed, true);
}

/**
 * Encodes sealed events with fixed options; what the transport keeps, since it runs once
 * per forwarded event and the header fields that do not change are checked only once.
 */
export class AtnaSyslogEncoder {
  private readonly maxBytes: number;
  /** ` HOSTNAME APP-NAME PROCID MSGID ` when the host name is known (else it is the device, per event). */
  private readonly fixedFields: string | null;
  private readonly tailFields: string;

  constructor(private readonly options: AtnaSyslogOptions) {
    this.maxBytes = Math.min(options.maxMessageBytes ?? ATNA_MAX_MESSAGE_BYTES, ATNA_MAX_MESSAGE_BYTES);
    const probe = formatHeader({
      facility: FACILITY_AUTHPRIV,
      severity: SEVERITY_NOTICE,
      timestamp: '2000-01-01T00:00:00Z',
      hostname: 'h',
      appName: options.appName,
      procId: options.processId !== undefined ? String(options.processId) : '-',
      msgId: ATNA_MSGID,
      structuredData: [],
    });
    // probe = `<85>1 2000-01-01T00:00:00Z h APP PROCID MSGID - `: keep ` APP PROCID MSGID `.
    this.tailFields = probe.slice(probe.indexOf(' h ') + 2, -2);
    this.fixedFields =
      options.hostname !== undefined && options.hostname !== '' ? ` ${headerField(options.hostname, 255)}${this.tailFields}` : null;
  }

  encode(sealed: ChainedEvent, octetCounted: boolean): Buffer {
    const part = this.renderedPart(sealed);
    const out = Buffer.allocUnsafeSlow(roomNeeded(part, octetCounted));
    return out.subarray(0, writeMessage(out, 0, part, octetCounted));
  }

  /**
   * Several events as one buffer, each message framed when `octetCounted` (RFC 5425). The
   * BOM is written as bytes so that the strings stay one-byte (ASCII) in V8, which keeps
   * the UTF-8 encoding of a 1 MB batch cheap. The result is a view of `into` when it is
   * large enough, else of a buffer of its own (never a pool slice). Throws AtnaEncodeError
   * naming the event that cannot be encoded.
   */
  frames(batch: readonly ChainedEvent[], octetCounted = true, into?: Buffer): Buffer {
    // Each message is written as soon as it is rendered, so that its strings die young
    // (a batch is about 1 MB of XML); into the caller's buffer (a lane reuses one: a fresh
    // 1 MB buffer costs a page fault per 4 KB), grown by doubling when it is too small.
    let out = into ?? Buffer.allocUnsafeSlow(Math.max(4096, batch.length * TYPICAL_MESSAGE_BYTES));
    let at = 0;
    for (const sealed of batch) {
      const part = this.renderedPart(sealed);
      // Counted only near the end of the buffer, where the bound may not fit.
      const needed = out.length - at >= maxRoomNeeded(part) ? 0 : at + roomNeeded(part, octetCounted);
      if (needed > out.length) {
        const grown = Buffer.allocUnsafeSlow(Math.max(needed, out.length * 2));
        out.copy(grown, 0, 0, at);
        out = grown;
      }
      at = writeMessage(out, at, part, octetCounted);
    }
    return out.subarray(0, at);
  }

  private renderedPart(sealed: ChainedEvent): RenderedMessage {
    try {
      return this.part(sealed);
    } catch (err) {
      throw new AtnaEncodeError(sealed.seq, err);
    }
  }

  private part(sealed: ChainedEvent): RenderedMessage {
    const event = eventFromBody(sealed.body);
    if (!TIMESTAMP.test(event.time)) throw new SyslogFormatError(`time "${event.time}" is not an RFC 5424 TIMESTAMP`);
    const fields = this.fixedFields ?? ` ${headerField(event.device, 255)}${this.tailFields}`;
    // seq, id (UUID) and hash (hex) never need SD escaping.
    const head =
      `<${FACILITY_AUTHPRIV * 8 + severityFor(event)}>1 ${event.time}${fields}` +
      `[${CWA_SD_ID} seq="${event.seq}" id="${event.id}" hash="${sealed.hash}"] `;
    const { xml } = atnaAuditXml(event, sealed, this.options, this.maxBytes - Buffer.byteLength(head, 'utf8') - BOM.length);
    return { head, xml };
  }
}

/** One message's header and XML (which together fit the size cap). */
interface RenderedMessage {
  readonly head: string;
  readonly xml: string;
}

/**
 * The room writeMessage needs (counting the UTF-8 bytes): the message, after its length
 * prefix when octet-counted, or after the guessed prefix's room if that is longer (a
 * message under 1,000 bytes, which an ATNA message never is).
 */
function roomNeeded(part: RenderedMessage, octetCounted: boolean): number {
  const bytes = Buffer.byteLength(part.head, 'utf8') + BOM.length + Buffer.byteLength(part.xml, 'utf8');
  return octetCounted ? Math.max(String(bytes).length + 1, GUESSED_PREFIX_BYTES) + bytes : bytes;
}

/** An upper bound of roomNeeded() that needs no count (a message is at most 32768 bytes: a prefix of 6). */
function maxRoomNeeded(part: RenderedMessage): number {
  return MAX_PREFIX_BYTES + (part.head.length + part.xml.length) * MAX_UTF8_BYTES_PER_UNIT + BOM.length;
}

/**
 * Writes the message at `at`, framed with its `MSG-LEN SP` prefix when octet-counted (RFC
 * 5425), and returns the new end; `out` must have roomNeeded() bytes free at `at`. The
 * length is learnt by writing: the message goes after room for a four-digit prefix (the
 * usual 1,000–9,999 bytes) and moves when its length has another number of digits.
 */
function writeMessage(out: Buffer, at: number, part: RenderedMessage, octetCounted: boolean): number {
  const start = octetCounted ? at + GUESSED_PREFIX_BYTES : at;
  let end = start + out.write(part.head, start, 'utf8');
  end += BOM.copy(out, end);
  end += out.write(part.xml, end, 'utf8');
  if (!octetCounted) return end;
  const prefix = `${end - start} `;
  if (prefix.length !== GUESSED_PREFIX_BYTES) {
    out.copyWithin(at + prefix.length, start, end);
    end += prefix.length - GUESSED_PREFIX_BYTES;
  }
  out.write(prefix, at, 'latin1');
  return end;
}

/** An event that cannot be written as an ATNA syslog message (its body is not a valid event, or it cannot fit). */
export class AtnaEncodeError extends Error {
  constructor(
    readonly seq: number,
    cause: unknown,
  ) {
    super(`audit event seq ${seq} cannot be written as a syslog ATNA message: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'AtnaEncodeError';
  }
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const MAX_PREFIX_BYTES = String(ATNA_MAX_MESSAGE_BYTES).length + 1;
const GUESSED_PREFIX_BYTES = 5;
/** About the size of one framed ATNA message, to size a fresh batch buffer (it grows if needed). */
const TYPICAL_MESSAGE_BYTES = 2_560;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The stored body as an event. The store wrote only events that passed its schema, so the
 * common case needs no second full validation on every forward; anything that does not
 * look right goes through parseEventBody, whose error names the field.
 */
function eventFromBody(body: string): AuditEvent {
  const e = JSON.parse(body) as Partial<Record<keyof AuditEvent, unknown>>;
  const plausible =
    Number.isSafeInteger(e.seq) &&
    typeof e.action === 'string' &&
    isAuditAction(e.action) &&
    typeof e.id === 'string' &&
    UUID.test(e.id) &&
    typeof e.time === 'string' &&
    typeof e.device === 'string' &&
    typeof e.keyId === 'string' &&
    typeof e.prevHash === 'string' &&
    (e.outcome === 0 || e.outcome === 4 || e.outcome === 8 || e.outcome === 12) &&
    (e.user === null || typeof e.user === 'string') &&
    (e.method === null || typeof e.method === 'string') &&
    typeof e.details === 'object' &&
    e.details !== null;
  return plausible ? (e as AuditEvent) : parseEventBody(body);
}
