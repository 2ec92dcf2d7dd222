// AuditEvent → DICOM PS3.15 A.5 audit message XML (the RFC 3881 / IHE ATNA schema), the
// body SIEMs and ATNA audit record repositories expect behind MSGID `IHE+RFC-3881`.
// The ParticipantObject carries the event id, seq and hash so that a repository record
// can always be tied back to the signed chain; details are capped, identity never is.
import { catalogEntry, type CodedValue } from '../catalog';
import type { AuditDetailValue, AuditEvent } from '../event';

/** DICOM PS3.15 A.6: receivers of syslog audit messages accept at least 32 KB. */
export const ATNA_MAX_MESSAGE_BYTES = 32_768;

/** Where the agent runs; everything is optional because not every host knows it. */
export interface AtnaSource {
  /** Host name of the workstation, written as NetworkAccessPointID (type 1). */
  readonly hostname?: string;
  /** OS process id of the agent, written as AlternativeUserID of the agent participant. */
  readonly processId?: number;
  /** AuditEnterpriseSiteID: the clinic or site, as IT names it in policy. */
  readonly enterpriseSiteId?: string;
}

export interface AtnaMessage {
  readonly xml: string;
  /** UTF-8 length of `xml`. */
  readonly bytes: number;
  /** Detail keys left out to respect the size cap (also stated inside the XML). */
  readonly omittedDetails: readonly string[];
}

export class AtnaFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AtnaFormatError';
  }
}

/** The ParticipantObjectDetail type that says the message was capped. */
export const TRUNCATION_DETAIL_TYPE = 'cwa.truncated';

const AUDIT_SOURCE_TYPE: CodedValue = { code: '1', codeSystemName: 'DCM', displayName: 'End-user display device, diagnostic display' };
const ROLE_APPLICATION: CodedValue = { code: '110150', codeSystemName: 'DCM', displayName: 'Application' };
/** RFC 3881 5.5.4 ParticipantObjectIDTypeCode 12: URI (here `urn:uuid:<event id>`). */
const OBJECT_ID_TYPE_URI = { code: '12', codeSystemName: 'RFC-3881', displayName: 'URI' } as const;

/**
 * Renders one event. `maxBytes` bounds the UTF-8 size of the whole document: details are
 * dropped (whole entries, in key order, listed in a `cwa.truncated` detail) until it fits;
 * if even the identifying part does not fit, this throws, because a record that cannot be
 * tied to the chain is worse than none.
 */
export function atnaAuditMessage(
  event: AuditEvent,
  seal: { readonly hash: string },
  source: AtnaSource = {},
  maxBytes: number = ATNA_MAX_MESSAGE_BYTES,
): AtnaMessage {
  const { xml, omittedDetails } = atnaAuditXml(event, seal, source, maxBytes);
  return { xml, bytes: Buffer.byteLength(xml, 'utf8'), omittedDetails };
}

/**
 * atnaAuditMessage without the byte count, for a caller that learns it by writing the XML
 * out (the syslog encoder): counting UTF-8 bytes first makes V8 flatten and scan each
 * 2 KB message once more. The size is counted only when its bound (3 bytes per UTF-16
 * unit) does not already show that the document fits.
 */
export function atnaAuditXml(
  event: AuditEvent,
  seal: { readonly hash: string },
  source: AtnaSource,
  maxBytes: number,
): Omit<AtnaMessage, 'bytes'> {
  const action = actionTemplate(event.action);
  const head = renderHead(event, action, source);
  const fixedDetails =
    SEQ_DETAIL +
    btoa(String(event.seq)) +
    HASH_DETAIL +
    base64Hex(seal.hash) +
    PREV_HASH_DETAIL +
    base64Hex(event.prevHash) +
    KEY_ID_DETAIL +
    base64Hex(event.keyId) +
    DETAIL_CLOSE +
    action.detail +
    (event.method === null ? '' : memo(methodDetails, event.method, () => detail('cwa.method', event.method ?? '')));
  const tail = '</ParticipantObjectIdentification></AuditMessage>';

  const keys = Object.keys(event.details).sort();
  let details = '';
  for (const key of keys) details += renderDetail(key, event.details[key] ?? null);
  const whole = head + fixedDetails + details + tail;
  if (whole.length * MAX_UTF8_BYTES_PER_UNIT <= maxBytes || Buffer.byteLength(whole, 'utf8') <= maxBytes) return { xml: whole, omittedDetails: [] };

  const rendered = keys.map((key) => renderDetail(key, event.details[key] ?? null));

  const fixedBytes = Buffer.byteLength(head, 'utf8') + Buffer.byteLength(fixedDetails, 'utf8') + Buffer.byteLength(tail, 'utf8');
  // Reserve room for the worst-case note (every key omitted), then keep what fits.
  const reserve = Buffer.byteLength(truncationNote(keys, maxBytes), 'utf8');
  let budget = maxBytes - fixedBytes - reserve;
  if (budget < 0) {
    throw new AtnaFormatError(
      `Audit event seq ${event.seq} cannot be written as an ATNA message within ${maxBytes} bytes even without its details; ` +
        'raise maxMessageBytes in the syslog policy (at most 32768) or shorten the device id.',
    );
  }
  const kept: string[] = [];
  const omitted: string[] = [];
  rendered.forEach((xml, i) => {
    const bytes = Buffer.byteLength(xml, 'utf8');
    if (bytes <= budget) {
      kept.push(xml);
      budget -= bytes;
    } else {
      omitted.push(keys[i]!);
    }
  });
  return { xml: head + fixedDetails + kept.join('') + truncationNote(omitted, maxBytes) + tail, omittedDetails: omitted };
}

/** A UTF-16 code unit is at most 3 bytes of UTF-8 (a surrogate pair, 2 units, is 4). */
export const MAX_UTF8_BYTES_PER_UNIT = 3;

// This runs once per forwarded event (tens of thousands a second when a backlog drains),
// so everything that depends only on the action, the device or the source is rendered
// once and kept: an event's own XML is then its few variable values between those parts.

interface ActionTemplate {
  /** Everything before EventDateTime's value. */
  readonly start: string;
  /** From after EventDateTime's value to the end of EventIdentification, by outcome / 4. */
  readonly afterTime: readonly string[];
  /** EventID and EventTypeCode elements. */
  readonly codes: string;
  /** The cwa.action detail. */
  readonly detail: string;
}

const actionTemplates = new Map<string, ActionTemplate>();
function actionTemplate(action: AuditEvent['action']): ActionTemplate {
  let t = actionTemplates.get(action);
  if (t === undefined) {
    const entry = catalogEntry(action);
    const codes = coded('EventID', entry.eventId) + entry.eventTypeCodes.map((c) => coded('EventTypeCode', c)).join('');
    t = {
      start: `<?xml version="1.0" encoding="UTF-8"?><AuditMessage><EventIdentification EventActionCode="${entry.actionCode}" EventDateTime="`,
      afterTime: [0, 4, 8, 12].map((outcome) => `" EventOutcomeIndicator="${outcome}">${codes}</EventIdentification>`),
      detail: detail('cwa.action', action),
      codes,
    };
    actionTemplates.set(action, t);
  }
  return t;
}

function renderHead(event: AuditEvent, action: ActionTemplate, source: AtnaSource): string {
  const device = deviceParts(event.device, source);
  // The enrolled user, when there is one, is the requestor; otherwise the agent itself is.
  // Then the audit record itself, as DICOM's Audit Log Used message names an audit log:
  // system object (2), security resource (13), identified by URI.
  return (
    action.start +
    attr(event.time) +
    (action.afterTime[event.outcome / 4] ?? `" EventOutcomeIndicator="${event.outcome}">${action.codes}</EventIdentification>`) +
    (event.user !== null ? `<ActiveParticipant UserID="${attr(event.user)}" UserIsRequestor="true"/>${device.asOther}` : device.asRequestor) +
    OBJECT_START +
    attr(event.id) +
    OBJECT_AFTER_ID +
    device.objectName +
    String(event.seq) +
    '</ParticipantObjectName>'
  );
}

interface DeviceParts {
  /** The agent's participant (requestor) and the audit source. */
  readonly asRequestor: string;
  /** The same with the agent not the requestor (a user is). */
  readonly asOther: string;
  /** `<ParticipantObjectName>DEVICE audit event ` (the seq follows). */
  readonly objectName: string;
}

// The agent's participant and the audit source depend only on the device and the source.
const devicePartsCache = new WeakMap<AtnaSource, Map<string, DeviceParts>>();
function deviceParts(device: string, source: AtnaSource): DeviceParts {
  let perSource = devicePartsCache.get(source);
  if (perSource === undefined) {
    perSource = new Map();
    devicePartsCache.set(source, perSource);
  }
  let parts = perSource.get(device);
  if (parts === undefined) {
    const access =
      source.hostname !== undefined && source.hostname !== ''
        ? ` NetworkAccessPointID="${attr(source.hostname)}" NetworkAccessPointTypeCode="1"`
        : '';
    const alt = source.processId !== undefined ? ` AlternativeUserID="${source.processId}"` : '';
    const site = source.enterpriseSiteId !== undefined ? ` AuditEnterpriseSiteID="${attr(source.enterpriseSiteId)}"` : '';
    const participant = (requestor: boolean): string =>
      `<ActiveParticipant UserID="${attr(device)}"${alt} UserIsRequestor="${requestor}"${access}>${AGENT_ROLE_XML}</ActiveParticipant>` +
      `<AuditSourceIdentification${site} AuditSourceID="${attr(device)}">${AUDIT_SOURCE_TYPE_XML}</AuditSourceIdentification>`;
    parts = { asRequestor: participant(true), asOther: participant(false), objectName: `<ParticipantObjectName>${text(`${device} audit event `)}` };
    if (perSource.size > 64) perSource.clear(); // one device per agent; bound it anyway
    perSource.set(device, parts);
  }
  return parts;
}

/** A small bounded cache for values that repeat from event to event (key id, method, detail keys). */
function memo(cache: Map<string, string>, key: string, render: () => string): string {
  let value = cache.get(key);
  if (value === undefined) {
    value = render();
    if (cache.size >= 256) cache.clear();
    cache.set(key, value);
  }
  return value;
}
const methodDetails = new Map<string, string>();
const detailOpens = new Map<string, string>();

function renderDetail(key: string, value: AuditDetailValue): string {
  return detailOpen(key) + base64Utf8(detailText(value)) + DETAIL_CLOSE;
}

/** `<ParticipantObjectDetail type="details.KEY" value="` */
function detailOpen(key: string): string {
  return memo(detailOpens, key, () => `<ParticipantObjectDetail type="${attr(`details.${key}`)}" value="`);
}

// An event's prevHash is the previous event's hash, and events are rendered in chain
// order: the last hash's base64 is kept so that each hash is encoded once, not twice.
let lastHex = '';
let lastHexBase64 = '';
let lastKeyId = '';
let lastKeyIdBase64 = '';
function base64Hex(hex: string): string {
  if (hex === lastHex) return lastHexBase64;
  if (hex === lastKeyId) return lastKeyIdBase64;
  const encoded = base64Utf8(hex);
  if (hex.length === 32) {
    lastKeyId = hex;
    lastKeyIdBase64 = encoded;
  } else {
    lastHex = hex;
    lastHexBase64 = encoded;
  }
  return encoded;
}

function coded(element: string, c: { readonly code: string; readonly codeSystemName: string; readonly displayName: string }): string {
  return `<${element} csd-code="${attr(c.code)}" codeSystemName="${attr(c.codeSystemName)}" originalText="${attr(c.displayName)}"/>`;
}

/** ValuePair: the schema types `value` as xsd:base64Binary. */
function detail(type: string, value: string): string {
  return `<ParticipantObjectDetail type="${attr(type)}" value="${base64Utf8(value)}${DETAIL_CLOSE}`;
}
const DETAIL_CLOSE = '"/>';
const SEQ_DETAIL = '<ParticipantObjectDetail type="cwa.seq" value="';
const HASH_DETAIL = `${DETAIL_CLOSE}<ParticipantObjectDetail type="cwa.hash" value="`;
const PREV_HASH_DETAIL = `${DETAIL_CLOSE}<ParticipantObjectDetail type="cwa.prevHash" value="`;
const KEY_ID_DETAIL = `${DETAIL_CLOSE}<ParticipantObjectDetail type="cwa.keyId" value="`;

// btoa encodes Latin-1, which for ASCII is UTF-8, several times faster than a Buffer.
// eslint-disable-next-line no-control-regex
const ASCII = /^[\u0000-\u007F]*$/;
function base64Utf8(value: string): string {
  return ASCII.test(value) ? btoa(value) : Buffer.from(value, 'utf8').toString('base64');
}

/** Strings as they are; other JSON values (numbers, booleans, null, lists) as JSON text. */
function detailText(value: AuditDetailValue): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * The `cwa.truncated` detail: the omitted keys, as many as fit in NOTE_KEYS_CHARS (then how
 * many more), so that its own size stays small enough for the smallest cap policy allows.
 */
function truncationNote(omittedKeys: readonly string[], maxBytes: number): string {
  let list = '';
  let shown = 0;
  for (const key of omittedKeys) {
    const next = shown === 0 ? key : `${list},${key}`;
    if (next.length > NOTE_KEYS_CHARS) break;
    list = next;
    shown++;
  }
  const more = omittedKeys.length - shown;
  return detail(TRUNCATION_DETAIL_TYPE, `details omitted to fit ${maxBytes} bytes: ${list}${more > 0 ? `${shown > 0 ? ',' : ''}… and ${more} more` : ''}`);
}
const NOTE_KEYS_CHARS = 256;

// XML 1.0 allows tab, LF, CR and U+0020 and up except surrogates (paired ones are fine in
// JS strings), U+FFFE and U+FFFF. Anything else becomes U+FFFD rather than invalid XML.
// eslint-disable-next-line no-control-regex
const INVALID_XML_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /[&<>"'\u0000-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/;

/** Escapes an attribute value; tab, LF and CR are written as references so they survive normalization. */
export function attr(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(INVALID_XML_CHARS, '\uFFFD').replace(/[&<>"'\t\n\r]/g, (c) => ATTR_ESCAPES[c] ?? c);
}

/** Escapes element text. */
export function text(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(INVALID_XML_CHARS, '\uFFFD').replace(/[&<>\r]/g, (c) => ATTR_ESCAPES[c] ?? c);
}

const ATTR_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  '\t': '&#9;',
  '\n': '&#10;',
  '\r': '&#13;',
};

// Constant elements, rendered once (after the escapes above exist).
const AGENT_ROLE_XML = coded('RoleIDCode', ROLE_APPLICATION);
const AUDIT_SOURCE_TYPE_XML = coded('AuditSourceTypeCode', AUDIT_SOURCE_TYPE);
const OBJECT_ID_TYPE_XML = coded('ParticipantObjectIDTypeCode', OBJECT_ID_TYPE_URI);
const OBJECT_START = '<ParticipantObjectIdentification ParticipantObjectID="urn:uuid:';
const OBJECT_AFTER_ID = `" ParticipantObjectTypeCode="2" ParticipantObjectTypeCodeRole="13">${OBJECT_ID_TYPE_XML}`;
