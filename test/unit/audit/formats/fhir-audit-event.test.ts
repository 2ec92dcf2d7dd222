// Every catalog action as a FHIR R4 AuditEvent: valid against the official R4 JSON schema
// and the BALP basic rules the schema cannot state, coded as the ATNA mapping codes it,
// and checkable against the signed chain from what the resource carries.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, verify } from 'node:crypto';
import { AUDIT_ACTIONS, CATALOG } from '../../../../main/audit/catalog';
import {
  CHAIN_DETAIL,
  CWA_EVENT_TYPE_SYSTEM,
  DCM_SYSTEM,
  DEVICE_ID_SYSTEM,
  USER_ID_SYSTEM,
  fhirAuditEvent,
  fhirTransactionBundle,
  ifNoneExistQuery,
  type FhirAuditEvent,
} from '../../../../main/audit/formats/fhir-audit-event';
import { SyntheticChain, sampleInput } from '../../../support/atna-events';
import { auditEventProblems, balpProblems, schemaProblems } from '../../../support/fhir-validator';

const source = { hostname: 'ward-3-ws-2.clinic.example', processId: 4242, enterpriseSiteId: 'clinic-north' };

function chainDetails(r: FhirAuditEvent): Map<string, string> {
  const record = r.entity[0]!;
  return new Map((record.detail ?? []).map((d) => [d.type, d.valueString ?? d.valueBase64Binary ?? '']));
}

describe('FHIR R4 AuditEvent', () => {
  const chain = new SyntheticChain('ws-ward3-02');

  for (const [i, action] of AUDIT_ACTIONS.entries()) {
    it(`renders ${action} valid against the R4 schema and the BALP rules, with the catalog's DICOM codes`, () => {
      const input = sampleInput(action, i);
      const { event, sealed } = chain.next(action.startsWith('enrollment.') ? { ...input, details: { ...input.details, subject: 'nurse-0099' } } : input);
      const r = fhirAuditEvent(event, sealed, source);
      assert.deepEqual(auditEventProblems(r), []);

      const entry = CATALOG[action];
      assert.deepEqual(r.type, { system: DCM_SYSTEM, code: entry.eventId.code, display: entry.eventId.displayName });
      assert.deepEqual(
        r.subtype?.map((c) => `${c.system}#${c.code}`),
        entry.eventTypeCodes.map((c) => `${c.codeSystemName === 'DCM' ? DCM_SYSTEM : CWA_EVENT_TYPE_SYSTEM}#${c.code}`),
      );
      assert.equal(r.action, entry.actionCode);
      assert.equal(r.recorded, event.time);
      assert.equal(r.outcome, String(entry.outcome));
      assert.equal(r.outcomeDesc !== undefined, entry.outcome !== 0);
      assert.equal(r.purposeOfEvent?.[0]?.coding[0]?.code, action.startsWith('breakglass.') ? 'BTG' : undefined);

      const requestors = r.agent.filter((a) => a.requestor);
      assert.equal(requestors.length, 1, 'exactly one requestor');
      assert.deepEqual(requestors[0]!.who.identifier, event.user === null ? { system: DEVICE_ID_SYSTEM, value: event.device } : { system: USER_ID_SYSTEM, value: event.user });
      const app = r.agent.find((a) => a.type.coding[0]?.code === '110150')!;
      assert.deepEqual(app.who.identifier, { system: DEVICE_ID_SYSTEM, value: event.device });
      assert.deepEqual(app.network, { address: source.hostname, type: '1' });
      assert.equal(app.altId, '4242');
      assert.deepEqual(r.source.observer.identifier, { system: DEVICE_ID_SYSTEM, value: event.device });
      assert.equal(r.source.site, 'clinic-north');

      assert.deepEqual(r.entity[0]!.what.identifier, { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${event.id}` });
      const subject = r.entity.find((e) => e.role.code === '11');
      assert.equal(subject?.what.identifier.value, action.startsWith('enrollment.') ? 'nurse-0099' : undefined);
    });
  }

  it('carries the exact signed body, hash and signature: a reader re-hashes the body and checks the signature', () => {
    const { event, sealed } = chain.next(sampleInput('auth.pin.failure', 3));
    const d = chainDetails(fhirAuditEvent(event, sealed, source));
    const body = Buffer.from(d.get(CHAIN_DETAIL.body)!, 'base64');
    const prevHash = d.get(CHAIN_DETAIL.prevHash)!;
    const hash = createHash('sha256').update(Buffer.from(prevHash, 'hex')).update(body).digest();
    assert.equal(hash.toString('hex'), d.get(CHAIN_DETAIL.hash));
    assert.ok(verify(null, hash, chain.publicKey, Buffer.from(d.get(CHAIN_DETAIL.sig)!, 'base64')), 'the device signature verifies');
    assert.equal(d.get(CHAIN_DETAIL.seq), String(event.seq));
    assert.equal(d.get(CHAIN_DETAIL.keyId), chain.keyId);
    assert.equal(d.get('details.kind'), 'wrong-pin');
    // A tampered copy no longer matches the hash it carries.
    const altered = Buffer.from(body.toString('utf8').replace('wrong-pin', 'locked-out'));
    assert.notEqual(createHash('sha256').update(Buffer.from(prevHash, 'hex')).update(altered).digest('hex'), d.get(CHAIN_DETAIL.hash));
  });

  it('keeps details FHIR strings: odd white space becomes a space, empty and non-string values are JSON text', () => {
    const { event, sealed } = chain.next({ action: 'breakglass.start', user: 'nurse-0042', details: { reason: 'cardiac\u00a0arrest\u2028bay 4', note: '', minutes: 30, codes: ['a', 'b'] } });
    const r = fhirAuditEvent(event, sealed, source);
    assert.deepEqual(auditEventProblems(r), []);
    const d = chainDetails(r);
    assert.equal(d.get('details.reason'), 'cardiac arrest bay 4');
    assert.equal(d.get('details.note'), '""');
    assert.equal(d.get('details.minutes'), '30');
    assert.equal(d.get('details.codes'), '["a","b"]');
    assert.match(Buffer.from(d.get(CHAIN_DETAIL.body)!, 'base64').toString('utf8'), /cardiac\u00a0arrest/, 'the signed body keeps the exact text');
  });

  it('leaves out what the host does not know, and stays valid', () => {
    const { event, sealed } = chain.next(sampleInput('agent.start'));
    const r = fhirAuditEvent(event, sealed);
    assert.deepEqual(auditEventProblems(r), []);
    assert.equal(r.source.site, undefined);
    assert.equal(r.agent[0]!.network, undefined);
    assert.equal(r.agent[0]!.requestor, true, 'without a user the agent itself is the requestor');
  });

  it('the validators catch what they promise to (so the checks above can fail)', () => {
    const { event, sealed } = chain.next(sampleInput('session.unlock', 1));
    const r = fhirAuditEvent(event, sealed, source) as unknown as Record<string, unknown>;
    assert.notDeepEqual(schemaProblems({ ...r, bogus: true }), [], 'unknown element');
    assert.notDeepEqual(schemaProblems({ ...r, outcome: '3' }), [], 'outcome outside 0/4/8/12');
    assert.notDeepEqual(schemaProblems({ ...r, recorded: '2026-13-01T00:00:00Z' }), [], 'not an instant');
    const { recorded: _recorded, ...noRecorded } = r;
    assert.deepEqual(schemaProblems(noRecorded), [], 'the schema alone cannot require recorded');
    assert.ok(balpProblems(noRecorded).some((p) => p.startsWith('recorded')));
    const agents = (r.agent as FhirAuditEvent['agent']).map((a) => ({ ...a, requestor: false }));
    assert.ok(balpProblems({ ...r, agent: agents }).some((p) => p.includes('exactly one requestor')));
    assert.ok(balpProblems({ ...r, type: { system: 'http://example.org', code: 'x' } }).some((p) => p.startsWith('type')));
    assert.ok(balpProblems({ ...r, source: { type: (r.source as FhirAuditEvent['source']).type, observer: {} } }).some((p) => p.startsWith('source.observer')));
    const [record] = r.entity as FhirAuditEvent['entity'];
    assert.ok(balpProblems({ ...r, entity: [{ ...record, query: 'cXVlcnk=' }] }).some((p) => p.includes('sev-1')));
  });

  it('a transaction Bundle: one conditional create per event, keyed on the event id, in seq order, schema-valid', () => {
    const events = [chain.next(sampleInput('session.lock', 1)), chain.next(sampleInput('session.unlock', 2))];
    const bundle = fhirTransactionBundle(
      events.map((e) => e.sealed),
      events.map((e) => e.event),
      source,
    );
    assert.deepEqual(schemaProblems(bundle, 'Bundle'), []);
    assert.equal(bundle.type, 'transaction');
    assert.deepEqual(
      bundle.entry.map((e) => [e.fullUrl, e.request.method, e.request.url, e.request.ifNoneExist]),
      events.map(({ event }) => [`urn:uuid:${event.id}`, 'POST', 'AuditEvent', `entity:identifier=urn:ietf:rfc:3986|urn:uuid:${event.id}`]),
    );
    assert.equal(ifNoneExistQuery(events[0]!.event), bundle.entry[0]!.request.ifNoneExist);
  });
});
