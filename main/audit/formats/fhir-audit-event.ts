// AuditEvent → FHIR R4 AuditEvent resource, for audit repositories kept on a FHIR server
// (IHE BALP / RESTful ATNA). The codes are the DICOM ones of the ATNA mapping
// (atna-xml.ts); every resource carries the event's exact signed body, its hash and its
// signature, so a reader can check it against the chain. The mapping, field by field, is
// in fhir-audit-event.md beside this file.
import { catalogEntry, type CodedValue } from '../catalog';
import type { AuditDetailValue, AuditEvent, SealedEvent } from '../event';

/** DICOM controlled terminology (PS3.16), the code system of the ATNA codes. */
export const DCM_SYSTEM = 'http://dicom.nema.org/resources/ontology/DCM';
/** The agent's own namespace: its extension codes (codeSystemName "CWA") and identifier systems. */
export const CWA_FHIR_BASE = 'http://clinicalworkstation.org/fhir';
export const CWA_EVENT_TYPE_SYSTEM = `${CWA_FHIR_BASE}/CodeSystem/event-type`;
/** Identifier.system of device ids (the keyed hash of the machine id, as in every event). */
export const DEVICE_ID_SYSTEM = `${CWA_FHIR_BASE}/sid/device`;
/** Identifier.system of enrolled user ids (the directory's ids, never a badge number or a name). */
export const USER_ID_SYSTEM = `${CWA_FHIR_BASE}/sid/user`;
/** Identifier.system for a URI value (`urn:uuid:<event id>`). */
export const URI_SYSTEM = 'urn:ietf:rfc:3986';

const SOURCE_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/security-source-type';
const ENTITY_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/object-role';
const SECURITY_ROLE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/extra-security-role-type';
const ACT_REASON_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';

/** entity.detail types that tie the resource to the signed chain. */
export const CHAIN_DETAIL = {
  seq: 'cwa.seq',
  /** The RFC 8785 canonical JSON exactly as hashed, base64 of its UTF-8 bytes. */
  body: 'cwa.body',
  hash: 'cwa.hash',
  prevHash: 'cwa.prevHash',
  /** Ed25519 over the 32 hash bytes, base64. */
  sig: 'cwa.sig',
  keyId: 'cwa.keyId',
  action: 'cwa.action',
  method: 'cwa.method',
} as const;

export interface FhirCoding {
  readonly system: string;
  readonly code: string;
  readonly display?: string;
}

export interface FhirIdentifier {
  readonly system?: string;
  readonly value: string;
}

export interface FhirReference {
  readonly identifier: FhirIdentifier;
  readonly display?: string;
}

export interface FhirAuditEventDetail {
  readonly type: string;
  readonly valueString?: string;
  readonly valueBase64Binary?: string;
}

export interface FhirAuditEventAgent {
  readonly type: { readonly coding: readonly FhirCoding[] };
  readonly who: FhirReference;
  readonly altId?: string;
  readonly requestor: boolean;
  readonly network?: { readonly address: string; readonly type: '1' | '2' | '3' | '4' | '5' };
}

export interface FhirAuditEventEntity {
  readonly what: FhirReference;
  readonly type: FhirCoding;
  readonly role: FhirCoding;
  readonly name?: string;
  readonly detail?: readonly FhirAuditEventDetail[];
}

/** The part of the R4 AuditEvent resource this agent writes. */
export interface FhirAuditEvent {
  readonly resourceType: 'AuditEvent';
  readonly type: FhirCoding;
  readonly subtype?: readonly FhirCoding[];
  readonly action: 'C' | 'R' | 'U' | 'D' | 'E';
  readonly recorded: string;
  readonly outcome: '0' | '4' | '8' | '12';
  readonly outcomeDesc?: string;
  readonly purposeOfEvent?: readonly { readonly coding: readonly FhirCoding[] }[];
  readonly agent: readonly FhirAuditEventAgent[];
  readonly source: { readonly site?: string; readonly observer: FhirReference; readonly type: readonly FhirCoding[] };
  readonly entity: readonly FhirAuditEventEntity[];
}

/** Where the agent runs, as in the ATNA mapping; all optional because not every host knows it. */
export interface FhirAuditSource {
  /** Host name of the workstation: agent.network (type 1, machine name) and the observer's display. */
  readonly hostname?: string;
  /** OS process id of the agent: the device agent's altId. */
  readonly processId?: number;
  /** source.site: the clinic or site, as IT names it in policy. */
  readonly enterpriseSiteId?: string;
}

const BREAK_GLASS: FhirCoding = { system: ACT_REASON_SYSTEM, code: 'BTG', display: 'break the glass' };

function coding(c: CodedValue): FhirCoding {
  return { system: c.codeSystemName === 'DCM' ? DCM_SYSTEM : CWA_EVENT_TYPE_SYSTEM, code: c.code, display: c.displayName };
}

/** The event's stable identifier: the record entity's what.identifier, and the key of the conditional create. */
export function eventIdentifier(event: Pick<AuditEvent, 'id'>): FhirIdentifier {
  return { system: URI_SYSTEM, value: `urn:uuid:${event.id}` };
}

/**
 * The search that finds this event's resource if it was already created: R4 AuditEvent has
 * no identifier element, so the key is the record entity's what.identifier, searched with
 * the `entity` reference parameter and the `:identifier` modifier.
 */
export function ifNoneExistQuery(event: Pick<AuditEvent, 'id'>): string {
  const id = eventIdentifier(event);
  return `entity:identifier=${id.system}|${id.value}`;
}

/**
 * Strings as they are; other JSON values (numbers, booleans, null, lists) as JSON text, as
 * in ATNA. FHIR allows no empty string, so "" is written as JSON text too (cwa.body has it exactly).
 */
function detailText(value: AuditDetailValue): string {
  return fhirString(typeof value === 'string' && value !== '' ? value : JSON.stringify(value));
}

// A FHIR string is `[ \r\n\t\S]+`: any other white space (no-break space, form feed, line
// separator...) fails validation at the server, so it becomes a plain space in the readable
// copies (cwa.body keeps the exact text).
const OTHER_WHITE_SPACE = /[^\S \r\n\t]/g;
function fhirString(text: string): string {
  return text.replace(OTHER_WHITE_SPACE, ' ');
}

/**
 * Renders one sealed event. `event` must be the parsed `sealed.body` (the caller parsed it
 * once already). Nothing is left out for size: a FHIR server takes the whole event.
 */
export function fhirAuditEvent(event: AuditEvent, sealed: SealedEvent, source: FhirAuditSource = {}): FhirAuditEvent {
  const entry = catalogEntry(event.action);
  const host = source.hostname !== undefined && source.hostname !== '' ? fhirString(source.hostname) : undefined;
  const device: FhirReference = { identifier: { system: DEVICE_ID_SYSTEM, value: event.device }, ...(host === undefined ? {} : { display: host }) };

  const agents: FhirAuditEventAgent[] = [];
  // The enrolled user, when there is one, is the requestor; otherwise the agent itself is.
  if (event.user !== null) {
    agents.push({
      type: { coding: [{ system: SECURITY_ROLE_SYSTEM, code: 'humanuser', display: 'human user' }] },
      who: { identifier: { system: USER_ID_SYSTEM, value: event.user } },
      requestor: true,
    });
  }
  agents.push({
    type: { coding: [{ system: DCM_SYSTEM, code: '110150', display: 'Application' }] },
    who: device,
    ...(source.processId === undefined ? {} : { altId: String(source.processId) }),
    requestor: event.user === null,
    ...(host === undefined ? {} : { network: { address: host, type: '1' as const } }),
  });

  const detail: FhirAuditEventDetail[] = [
    { type: CHAIN_DETAIL.seq, valueString: String(event.seq) },
    { type: CHAIN_DETAIL.body, valueBase64Binary: Buffer.from(sealed.body, 'utf8').toString('base64') },
    { type: CHAIN_DETAIL.hash, valueString: sealed.hash },
    { type: CHAIN_DETAIL.prevHash, valueString: event.prevHash },
    { type: CHAIN_DETAIL.sig, valueBase64Binary: sealed.sig },
    { type: CHAIN_DETAIL.keyId, valueString: event.keyId },
    { type: CHAIN_DETAIL.action, valueString: event.action },
  ];
  if (event.method !== null) detail.push({ type: CHAIN_DETAIL.method, valueString: event.method });
  for (const key of Object.keys(event.details).sort()) {
    detail.push({ type: `details.${key}`, valueString: detailText(event.details[key] ?? null) });
  }

  // The audit record itself, as DICOM's Audit Log Used names an audit log: a system
  // object in the role of a security resource, identified by its URI.
  const entities: FhirAuditEventEntity[] = [
    {
      what: { identifier: eventIdentifier(event) },
      type: { system: ENTITY_TYPE_SYSTEM, code: '2', display: 'System Object' },
      role: { system: OBJECT_ROLE_SYSTEM, code: '13', display: 'Security Resource' },
      name: `${event.device} audit event ${event.seq}`,
      detail,
    },
  ];
  // The person an enroller or IT acted on (enrolment, revocation, a cleared lockout).
  const subject = event.details['subject'];
  if (typeof subject === 'string' && subject !== '') {
    entities.push({
      what: { identifier: { system: USER_ID_SYSTEM, value: subject } },
      type: { system: ENTITY_TYPE_SYSTEM, code: '1', display: 'Person' },
      role: { system: OBJECT_ROLE_SYSTEM, code: '11', display: 'Security User Entity' },
    });
  }

  const failed = event.outcome !== 0;
  const why = typeof event.details['kind'] === 'string' ? event.details['kind'] : typeof event.details['reason'] === 'string' ? event.details['reason'] : null;
  return {
    resourceType: 'AuditEvent',
    type: coding(entry.eventId),
    ...(entry.eventTypeCodes.length === 0 ? {} : { subtype: entry.eventTypeCodes.map(coding) }),
    action: entry.actionCode,
    recorded: event.time,
    outcome: String(event.outcome) as FhirAuditEvent['outcome'],
    ...(failed ? { outcomeDesc: fhirString(why !== null && why !== '' ? `${event.action}: ${why}` : event.action) } : {}),
    ...(event.action.startsWith('breakglass.') ? { purposeOfEvent: [{ coding: [BREAK_GLASS] }] } : {}),
    agent: agents,
    source: {
      ...(source.enterpriseSiteId === undefined || source.enterpriseSiteId === '' ? {} : { site: fhirString(source.enterpriseSiteId) }),
      observer: device,
      type: [{ system: SOURCE_TYPE_SYSTEM, code: '1', display: 'User Device' }],
    },
    entity: entities,
  };
}

export interface FhirBundleEntry {
  readonly fullUrl: string;
  readonly resource: FhirAuditEvent;
  readonly request: { readonly method: 'POST'; readonly url: 'AuditEvent'; readonly ifNoneExist: string };
}

export interface FhirTransactionBundle {
  readonly resourceType: 'Bundle';
  readonly type: 'transaction';
  readonly entry: readonly FhirBundleEntry[];
}

/** One transaction Bundle: a conditional create per event, in seq order. `events[i]` is `batch[i]` parsed. */
export function fhirTransactionBundle(batch: readonly SealedEvent[], events: readonly AuditEvent[], source: FhirAuditSource = {}): FhirTransactionBundle {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: batch.map((sealed, i) => {
      const event = events[i]!;
      return {
        fullUrl: `urn:uuid:${event.id}`,
        resource: fhirAuditEvent(event, sealed, source),
        request: { method: 'POST', url: 'AuditEvent', ifNoneExist: ifNoneExistQuery(event) },
      };
    }),
  };
}
