// RFC 5424 syslog messages and RFC 5425 octet-counted framing for the audit trail: the
// header an IHE ATNA repository expects (facility 10 authpriv, MSGID IHE+RFC-3881), a
// structured-data element tying the record to the chain, and a strict parser for tests.

/** Facility 10: security/authorization messages (authpriv), as IHE ITI-20 uses. */
export const FACILITY_AUTHPRIV = 10;
export const SEVERITY_WARNING = 4;
export const SEVERITY_NOTICE = 5;
/** IHE ITI TF-2 3.20.7: the MSGID of a DICOM/RFC 3881 audit message. */
export const ATNA_MSGID = 'IHE+RFC-3881';
/**
 * SD-ID of the agent's structured data. 32473 is the private enterprise number RFC 5612
 * reserves for documentation; a vendor build should use its own IANA PEN.
 */
export const CWA_SD_ID = 'cwa@32473';

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const NILVALUE = '-';

export interface StructuredDataElement {
  readonly id: string;
  readonly params: readonly (readonly [name: string, value: string])[];
}

export interface SyslogHeader {
  readonly facility: number;
  readonly severity: number;
  /** RFC 3339 with an explicit offset or Z, at most 6 fraction digits. */
  readonly timestamp: string;
  readonly hostname: string;
  readonly appName: string;
  readonly procId: string;
  readonly msgId: string;
  readonly structuredData: readonly StructuredDataElement[];
}

export class SyslogFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SyslogFormatError';
  }
}

/** PRI = facility * 8 + severity: `<85>` notice, `<84>` warning for authpriv. */
export function priority(facility: number, severity: number): number {
  if (!Number.isInteger(facility) || facility < 0 || facility > 23) throw new SyslogFormatError(`facility ${facility} is not 0..23`);
  if (!Number.isInteger(severity) || severity < 0 || severity > 7) throw new SyslogFormatError(`severity ${severity} is not 0..7`);
  return facility * 8 + severity;
}

/**
 * A header field (HOSTNAME, APP-NAME, PROCID, MSGID) made valid: PRINTUSASCII only, no
 * space, bounded; an empty value becomes the NILVALUE.
 */
export function headerField(value: string, maxLength: number): string {
  const clean = value.replace(/[^\x21-\x7e]/g, '_').slice(0, maxLength);
  return clean === '' ? NILVALUE : clean;
}

/** The header, up to and including the space before MSG (UTF-8 only inside SD PARAM-VALUEs). */
export function formatHeader(h: SyslogHeader): string {
  const sd = h.structuredData.length === 0 ? NILVALUE : h.structuredData.map(formatSdElement).join('');
  return [
    `<${priority(h.facility, h.severity)}>1`,
    checkTimestamp(h.timestamp),
    headerField(h.hostname, 255),
    headerField(h.appName, 48),
    headerField(h.procId, 128),
    headerField(h.msgId, 32),
    sd,
  ].join(' ') + ' ';
}

/** One SYSLOG-MSG: header, then a UTF-8 MSG that starts with the BOM, as RFC 5424 6.4 asks. */
export function formatSyslogMessage(h: SyslogHeader, msg: string): Buffer {
  return encodeSyslogMessage(formatHeader(h), msg, false);
}

/**
 * Encodes `formatHeader(...)` output and MSG into one buffer, optionally already framed
 * for RFC 5425, with a single allocation (this runs once per forwarded event).
 */
export function encodeSyslogMessage(header: string, msg: string, octetCounted: boolean): Buffer {
  const headerLength = Buffer.byteLength(header, 'utf8');
  const length = headerLength + BOM.length + Buffer.byteLength(msg, 'utf8');
  const prefix = octetCounted ? `${length} ` : '';
  const out = Buffer.allocUnsafe(prefix.length + length);
  let at = out.write(prefix, 0, 'ascii');
  at += out.write(header, at, 'utf8');
  at += BOM.copy(out, at);
  out.write(msg, at, 'utf8');
  return out;
}

/** RFC 5425 4.3: `MSG-LEN SP SYSLOG-MSG`, MSG-LEN counting octets. */
export function frameOctetCounted(message: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${message.length} `, 'ascii'), message]);
}

function formatSdElement(e: StructuredDataElement): string {
  checkSdName(e.id, 'SD-ID');
  const params = e.params.map(([name, value]) => {
    checkSdName(name, 'PARAM-NAME');
    return ` ${name}="${value.replace(/["\\\]]/g, (c) => `\\${c}`)}"`;
  });
  return `[${e.id}${params.join('')}]`;
}

function checkSdName(name: string, what: string): void {
  if (!/^[\x21-\x7e]{1,32}$/.test(name) || /[= \]"]/.test(name)) {
    throw new SyslogFormatError(`${what} "${name}" must be 1-32 printable ASCII characters without = space ] or "`);
  }
}

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/;

function checkTimestamp(ts: string): string {
  if (!TIMESTAMP.test(ts)) throw new SyslogFormatError(`timestamp "${ts}" is not an RFC 5424 TIMESTAMP`);
  return ts;
}

// ---------------------------------------------------------------------------------------
// Parsing (used by tests and the benchmark to read what rsyslog stored)

export interface ParsedSyslogMessage extends Omit<SyslogHeader, 'timestamp' | 'structuredData'> {
  readonly pri: number;
  readonly version: number;
  /** null for the NILVALUE. */
  readonly timestamp: string | null;
  readonly structuredData: readonly StructuredDataElement[];
  readonly bom: boolean;
  readonly msg: string;
}

/** Parses one SYSLOG-MSG strictly by the RFC 5424 ABNF; throws SyslogFormatError naming the part. */
export function parseSyslogMessage(input: Buffer | string): ParsedSyslogMessage {
  const buf = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  let pos = 0;
  const fail = (what: string): never => {
    throw new SyslogFormatError(`not RFC 5424: ${what} at byte ${pos}`);
  };
  const token = (what: string, max: number): string => {
    const start = pos;
    while (pos < buf.length && buf[pos] !== 0x20) {
      const b = buf[pos]!;
      if (b < 0x21 || b > 0x7e) fail(`${what} has a non-PRINTUSASCII byte`);
      pos++;
    }
    if (pos === start || pos - start > max) fail(`${what} must be 1-${max} characters`);
    const value = buf.toString('ascii', start, pos);
    if (buf[pos] !== 0x20) fail(`missing SP after ${what}`);
    pos++;
    return value;
  };

  const head = /^<(\d{1,3})>([1-9]\d{0,2}) /.exec(buf.toString('ascii', 0, Math.min(buf.length, 10)));
  if (!head) return fail('PRI/VERSION');
  const pri = Number(head[1]);
  if (pri > 191 || (head[1]!.length > 1 && head[1]!.startsWith('0'))) fail('PRI');
  pos = head[0].length;
  const timestamp = token('TIMESTAMP', 64);
  if (timestamp !== NILVALUE && !TIMESTAMP.test(timestamp)) fail('TIMESTAMP');
  const hostname = token('HOSTNAME', 255);
  const appName = token('APP-NAME', 48);
  const procId = token('PROCID', 128);
  const msgId = token('MSGID', 32);

  const structuredData: StructuredDataElement[] = [];
  if (buf[pos] === 0x2d /* - */) {
    pos++;
  } else {
    if (buf[pos] !== 0x5b /* [ */) fail('STRUCTURED-DATA');
    while (buf[pos] === 0x5b) {
      pos++;
      const idStart = pos;
      while (pos < buf.length && buf[pos] !== 0x20 && buf[pos] !== 0x5d) pos++;
      const id = buf.toString('ascii', idStart, pos);
      if (id === '' || id.length > 32 || /[^\x21-\x7e]|[=\]"]/.test(id)) fail('SD-ID');
      const params: [string, string][] = [];
      while (buf[pos] === 0x20) {
        pos++;
        const nameStart = pos;
        while (pos < buf.length && buf[pos] !== 0x3d /* = */) pos++;
        const name = buf.toString('ascii', nameStart, pos);
        if (name === '' || name.length > 32 || /[^\x21-\x7e]|[ \]"]/.test(name)) fail('PARAM-NAME');
        if (buf[pos + 1] !== 0x22) fail('PARAM-VALUE opening quote');
        pos += 2;
        const chunks: Buffer[] = [];
        let from = pos;
        for (;;) {
          if (pos >= buf.length) fail('unterminated PARAM-VALUE');
          const b = buf[pos]!;
          if (b === 0x5c /* \ */ && [0x22, 0x5c, 0x5d].includes(buf[pos + 1] ?? -1)) {
            chunks.push(buf.subarray(from, pos));
            from = pos + 1;
            pos += 2;
          } else if (b === 0x22) {
            break;
          } else if (b === 0x5d) {
            fail('unescaped ] in PARAM-VALUE');
          } else {
            pos++;
          }
        }
        chunks.push(buf.subarray(from, pos));
        pos++;
        params.push([name, Buffer.concat(chunks).toString('utf8')]);
      }
      if (buf[pos] !== 0x5d) fail('SD-ELEMENT closing ]');
      pos++;
      structuredData.push({ id, params });
    }
  }

  let bom = false;
  let msg = '';
  if (pos < buf.length) {
    if (buf[pos] !== 0x20) fail('SP before MSG');
    pos++;
    if (buf.subarray(pos, pos + 3).equals(BOM)) {
      bom = true;
      pos += 3;
    }
    const rest = buf.subarray(pos);
    msg = rest.toString('utf8');
    if (bom && !Buffer.from(msg, 'utf8').equals(rest)) fail('MSG-UTF8 after BOM is not valid UTF-8');
  }
  return {
    pri,
    facility: Math.floor(pri / 8),
    severity: pri % 8,
    version: Number(head[2]),
    timestamp: timestamp === NILVALUE ? null : timestamp,
    hostname,
    appName,
    procId,
    msgId,
    structuredData,
    bom,
    msg,
  };
}

/**
 * Splits an octet-counted stream into messages. Feed it chunks in order; it keeps a
 * partial frame until the rest arrives and throws on anything that is not `MSG-LEN SP`.
 */
export class OctetCountedDecoder {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const out: Buffer[] = [];
    let pos = 0;
    for (;;) {
      const space = this.pending.indexOf(0x20, pos);
      if (space === -1) {
        if (this.pending.length - pos > 10) throw new SyslogFormatError('octet-counted frame: MSG-LEN longer than 10 digits');
        break;
      }
      const lenText = this.pending.toString('ascii', pos, space);
      if (!/^[1-9]\d{0,9}$/.test(lenText)) throw new SyslogFormatError(`octet-counted frame: bad MSG-LEN "${lenText.slice(0, 12)}"`);
      const len = Number(lenText);
      if (this.pending.length < space + 1 + len) break;
      out.push(this.pending.subarray(space + 1, space + 1 + len));
      pos = space + 1 + len;
    }
    this.pending = this.pending.subarray(pos);
    return out;
  }

  /** True when no partial frame is buffered. */
  get idle(): boolean {
    return this.pending.length === 0;
  }
}
