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
  const entry = catalogEntry(event.action);
  const head = renderHead(event, entry.eventId, entry.eventTypeCodes, entry.actionCode, source);
  const fixedDetails =
    detail('cwa.seq', String(event.seq)) +
    detail('cwa.hash', seal.hash) +
    detail('cwa.prevHash', event.prevHash) +
    detail('cwa.keyId', event.keyId) +
    detail('cwa.action', event.action) +
    (event.method === null ? '' : detail('cwa.method', event.method));
  const tail = '</ParticipantObjectIdentification></AuditMessage>';

  const keys = Object.keys(event.details).sort();
  const rendered = keys.map((key) => detail(`details.${key}`, detailText(event.details[key] ?? null)));
  const whole = head + fixedDetails + rendered.join('') + tail;
  const wholeBytes = Buffer.byteLength(whole, 'utf8');
  if (wholeBytes <= maxBytes) return { xml: whole, bytes: wholeBytes, omittedDetails: [] };

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
  const xml = head + fixedDetails + kept.join('') + truncationNote(omitted, maxBytes) + tail;
  return { xml, bytes: Buffer.byteLength(xml, 'utf8'), omittedDetails: omitted };
}

function renderHead(
  event: AuditEvent,
  eventId: CodedValue,
  eventTypeCodes: readonly CodedValue[],
  actionCode: string,
  source: AtnaSource,
): string {
  let xml =
    '<?xml version="1.0" encoding="UTF-8"?><AuditMessage>' +
    `<EventIdentification EventActionCode="${actionCode}" EventDateTime="${attr(event.time)}" EventOutcomeIndicator="${event.outcome}">` +
    eventCodes(event.action, eventId, eventTypeCodes) +
    '</EventIdentification>';

  // The enrolled user, when there is one, is the requestor; otherwise the agent itself is.
  xml +=
    event.user !== null
      ? `<ActiveParticipant UserID="${attr(event.user)}" UserIsRequestor="true"/>${deviceXml(event.device, source, false)}`
      : deviceXml(event.device, source, true);

  // The audit record itself, as DICOM's Audit Log Used message names an audit log:
  // system object (2), security resource (13), identified by URI.
  return (
    xml +
    `<ParticipantObjectIdentification ParticipantObjectID="urn:uuid:${attr(event.id)}" ParticipantObjectTypeCode="2" ParticipantObjectTypeCodeRole="13">` +
    OBJECT_ID_TYPE_XML +
    `<ParticipantObjectName>${text(`${event.device} audit event ${event.seq}`)}</ParticipantObjectName>`
  );
}

// The agent's participant and the audit source depend only on the device and the source:
// render them once per (source object, device, requestor) rather than once per event.
const deviceXmlCache = new WeakMap<AtnaSource, Map<string, string>>();
function deviceXml(device: string, source: AtnaSource, requestor: boolean): string {
  let perSource = deviceXmlCache.get(source);
  if (perSource === undefined) {
    perSource = new Map();
    deviceXmlCache.set(source, perSource);
  }
  const key = `${requestor ? 1 : 0}${device}`;
  let xml = perSource.get(key);
  if (xml === undefined) {
    const access =
      source.hostname !== undefined && source.hostname !== ''
        ? ` NetworkAccessPointID="${attr(source.hostname)}" NetworkAccessPointTypeCode="1"`
        : '';
    const alt = source.processId !== undefined ? ` AlternativeUserID="${source.processId}"` : '';
    const site = source.enterpriseSiteId !== undefined ? ` AuditEnterpriseSiteID="${attr(source.enterpriseSiteId)}"` : '';
    xml =
      `<ActiveParticipant UserID="${attr(device)}"${alt} UserIsRequestor="${requestor}"${access}>${AGENT_ROLE_XML}</ActiveParticipant>` +
      `<AuditSourceIdentification${site} AuditSourceID="${attr(device)}">${AUDIT_SOURCE_TYPE_XML}</AuditSourceIdentification>`;
    if (perSource.size > 64) perSource.clear(); // one device per agent; bound it anyway
    perSource.set(key, xml);
  }
  return xml;
}

// The coded part of EventIdentification depends on the action only: render it once.
const eventCodesCache = new Map<string, string>();
function eventCodes(action: string, eventId: CodedValue, eventTypeCodes: readonly CodedValue[]): string {
  let xml = eventCodesCache.get(action);
  if (xml === undefined) {
    xml = coded('EventID', eventId) + eventTypeCodes.map((c) => coded('EventTypeCode', c)).join('');
    eventCodesCache.set(action, xml);
  }
  return xml;
}

function coded(element: string, c: { readonly code: string; readonly codeSystemName: string; readonly displayName: string }): string {
  return `<${element} csd-code="${attr(c.code)}" codeSystemName="${attr(c.codeSystemName)}" originalText="${attr(c.displayName)}"/>`;
}

/** ValuePair: the schema types `value` as xsd:base64Binary. */
function detail(type: string, value: string): string {
  return `<ParticipantObjectDetail type="${attr(type)}" value="${base64Utf8(value)}"/>`;
}

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

function truncationNote(omittedKeys: readonly string[], maxBytes: number): string {
  return detail(TRUNCATION_DETAIL_TYPE, `details omitted to fit ${maxBytes} bytes: ${omittedKeys.join(',')}`);
}

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
