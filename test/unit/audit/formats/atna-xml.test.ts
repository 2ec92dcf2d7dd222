import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AUDIT_ACTIONS, CATALOG } from '../../../../main/audit/catalog';
import { ATNA_MAX_MESSAGE_BYTES, AtnaFormatError, TRUNCATION_DETAIL_TYPE, atnaAuditMessage, attr } from '../../../../main/audit/formats/atna-xml';
import { SyntheticChain, sampleInput } from '../../../support/atna-events';
import { child, children, parseXml, validateAuditMessage, type XmlElement } from '../../../support/atna-validator';

const source = { hostname: 'ward-3-ws-2.clinic.example', processId: 4242, enterpriseSiteId: 'clinic-north' };

function detailsOf(xml: string): Map<string, string> {
  const po = child(parseXml(xml), 'ParticipantObjectIdentification');
  return new Map(children(po, 'ParticipantObjectDetail').map((d) => [d.attrs.get('type')!, Buffer.from(d.attrs.get('value')!, 'base64').toString('utf8')]));
}

function codes(el: XmlElement, name: string): string[] {
  return children(el, name).map((c) => `${c.attrs.get('csd-code')}/${c.attrs.get('codeSystemName')}/${c.attrs.get('originalText')}`);
}

describe('ATNA audit message XML', () => {
  const chain = new SyntheticChain('ws-ward3-02');

  for (const [i, action] of AUDIT_ACTIONS.entries()) {
    it(`renders ${action} as a schema-valid AuditMessage with the catalog's codes`, () => {
      const { event, sealed } = chain.next(sampleInput(action, i));
      const { xml, omittedDetails } = atnaAuditMessage(event, sealed, source);
      assert.deepEqual(validateAuditMessage(xml), []);
      assert.deepEqual(omittedDetails, []);

      const entry = CATALOG[action];
      const root = parseXml(xml);
      const ev = child(root, 'EventIdentification');
      assert.equal(ev.attrs.get('EventActionCode'), entry.actionCode);
      assert.equal(ev.attrs.get('EventDateTime'), event.time);
      assert.equal(ev.attrs.get('EventOutcomeIndicator'), String(entry.outcome));
      assert.deepEqual(codes(ev, 'EventID'), [`${entry.eventId.code}/DCM/${entry.eventId.displayName}`]);
      assert.deepEqual(
        codes(ev, 'EventTypeCode'),
        entry.eventTypeCodes.map((c) => `${c.code}/${c.codeSystemName}/${c.displayName}`),
      );

      const participants = children(root, 'ActiveParticipant');
      const requestors = participants.filter((p) => p.attrs.get('UserIsRequestor') === 'true');
      assert.equal(requestors.length, 1, 'exactly one requestor');
      assert.equal(requestors[0]!.attrs.get('UserID'), event.user ?? event.device);
      const agent = participants.find((p) => p.attrs.get('UserID') === event.device)!;
      assert.equal(agent.attrs.get('NetworkAccessPointID'), source.hostname);
      assert.equal(agent.attrs.get('NetworkAccessPointTypeCode'), '1');
      assert.equal(agent.attrs.get('AlternativeUserID'), '4242');
      assert.deepEqual(codes(agent, 'RoleIDCode'), ['110150/DCM/Application']);

      const src = child(root, 'AuditSourceIdentification');
      assert.equal(src.attrs.get('AuditSourceID'), event.device);
      assert.equal(src.attrs.get('AuditEnterpriseSiteID'), 'clinic-north');

      const po = child(root, 'ParticipantObjectIdentification');
      assert.equal(po.attrs.get('ParticipantObjectID'), `urn:uuid:${event.id}`);
      const d = detailsOf(xml);
      assert.equal(d.get('cwa.seq'), String(event.seq));
      assert.equal(d.get('cwa.hash'), sealed.hash);
      assert.equal(d.get('cwa.prevHash'), event.prevHash);
      assert.equal(d.get('cwa.action'), action);
      for (const [key, value] of Object.entries(event.details)) {
        assert.equal(d.get(`details.${key}`), typeof value === 'string' ? value : JSON.stringify(value));
      }
    });
  }

  it('puts failure outcomes in EventOutcomeIndicator', () => {
    const { event, sealed } = chain.next({ action: 'auth.pin.failure', user: 'nurse-0042', outcome: 8, details: { kind: 'locked-out' } });
    const ev = child(parseXml(atnaAuditMessage(event, sealed).xml), 'EventIdentification');
    assert.equal(ev.attrs.get('EventOutcomeIndicator'), '8');
  });

  it('leaves NetworkAccessPoint out when the host name is unknown', () => {
    const { event, sealed } = chain.next(sampleInput('agent.start'));
    const { xml } = atnaAuditMessage(event, sealed, {});
    assert.deepEqual(validateAuditMessage(xml), []);
    const agent = child(parseXml(xml), 'ActiveParticipant');
    assert.equal(agent.attrs.has('NetworkAccessPointID'), false);
    assert.equal(agent.attrs.get('UserIsRequestor'), 'true');
  });

  it('escapes markup, quotes and whitespace in every attribute and keeps the document well-formed', () => {
    const nasty = `a&b<c>d"e'f\tg\nh\ri\u0001j`;
    const { event, sealed } = chain.next({ action: 'session.lock', user: 'nurse-0042', method: nasty, details: { reason: nasty } });
    const weird = { ...event, user: `nurse"<&>'` };
    const { xml } = atnaAuditMessage(weird, sealed, { hostname: 'host"<x>' });
    assert.deepEqual(validateAuditMessage(xml), []);
    const root = parseXml(xml);
    const user = children(root, 'ActiveParticipant').find((p) => p.attrs.get('UserIsRequestor') === 'true')!;
    assert.equal(user.attrs.get('UserID'), `nurse"<&>'`);
    assert.equal(attr(nasty), 'a&amp;b&lt;c&gt;d&quot;e&apos;f&#9;g&#10;h&#13;i\uFFFDj');
    const d = detailsOf(xml);
    assert.equal(d.get('cwa.method'), nasty, 'details travel base64, byte for byte');
    assert.equal(d.get('details.reason'), nasty);
  });

  it('caps at 32 KB by dropping details, never the identifying fields, and says so', () => {
    const big: Record<string, string[]> = {};
    for (let k = 0; k < 32; k++) big[`k${String(k).padStart(2, '0')}`] = Array.from({ length: 64 }, () => 'é'.repeat(512));
    const { event, sealed } = chain.next({ action: 'policy.rejected', details: big });
    const out = atnaAuditMessage(event, sealed, source);
    assert.ok(out.bytes <= ATNA_MAX_MESSAGE_BYTES, `${out.bytes} bytes`);
    assert.equal(Buffer.byteLength(out.xml, 'utf8'), out.bytes);
    assert.deepEqual(validateAuditMessage(out.xml), []);
    assert.equal(out.omittedDetails.length, 32, 'each detail alone is larger than the cap');
    const d = detailsOf(out.xml);
    assert.equal(d.get('cwa.hash'), sealed.hash);
    assert.equal(d.get('cwa.seq'), String(event.seq));
    assert.match(d.get(TRUNCATION_DETAIL_TYPE)!, /details omitted to fit 32768 bytes: k00,k01,.*k31$/);
  });

  it('keeps the details that fit and omits the rest when capping', () => {
    const { event, sealed } = chain.next({ action: 'policy.rejected', details: { a: 'x'.repeat(900), b: 'y'.repeat(900), c: 'short' } });
    const full = atnaAuditMessage(event, sealed, source);
    const capped = atnaAuditMessage(event, sealed, source, full.bytes - 100);
    assert.ok(capped.bytes <= full.bytes - 100);
    assert.deepEqual(capped.omittedDetails, ['b']);
    const d = detailsOf(capped.xml);
    assert.equal(d.get('details.a'), 'x'.repeat(900));
    assert.equal(d.get('details.c'), 'short');
    assert.equal(d.has('details.b'), false);
    assert.match(d.get(TRUNCATION_DETAIL_TYPE)!, /: b$/);
  });

  it('at the smallest cap policy allows, an event with the most and longest detail keys still fits; the note names what it can', () => {
    const details: Record<string, string> = {};
    for (let k = 0; k < 32; k++) details[`${String(k).padStart(2, '0')}-${'k'.repeat(61)}`] = 'v'.repeat(200);
    const { event, sealed } = chain.next({ action: 'policy.rejected', details });
    const out = atnaAuditMessage(event, sealed, source, 3_500);
    assert.ok(out.bytes <= 3_500, `${out.bytes} bytes`);
    assert.deepEqual(validateAuditMessage(out.xml), []);
    assert.ok(out.omittedDetails.length > 0);
    const note = detailsOf(out.xml).get(TRUNCATION_DETAIL_TYPE)!;
    assert.match(note, new RegExp(`^details omitted to fit 3500 bytes: ${out.omittedDetails[0]}.*… and \\d+ more$`));
    assert.ok(note.length < 400, note);
  });

  it('refuses to cut identifying fields when even they do not fit', () => {
    const { event, sealed } = chain.next(sampleInput('agent.start'));
    assert.throws(() => atnaAuditMessage(event, sealed, source, 500), AtnaFormatError);
  });
});

describe('the structural validator', () => {
  const chain = new SyntheticChain();
  const { event, sealed } = chain.next(sampleInput('session.unlock'));
  const good = atnaAuditMessage(event, sealed, source).xml;

  const broken: [string, string][] = [
    ['missing EventDateTime', good.replace(/ EventDateTime="[^"]*"/, '')],
    ['bad outcome', good.replace('EventOutcomeIndicator="0"', 'EventOutcomeIndicator="3"')],
    ['bad action code', good.replace('EventActionCode="E"', 'EventActionCode="X"')],
    ['EventID without originalText', good.replace(/(<EventID [^>]*) originalText="[^"]*"/, '$1')],
    ['no AuditSourceIdentification', good.replace(/<AuditSourceIdentification.*<\/AuditSourceIdentification>/, '')],
    ['details not base64', good.replace(/(type="cwa.seq" value=")[^"]*/, '$1not base64!')],
    ['wrong order', good.replace(/(<AuditSourceIdentification.*<\/AuditSourceIdentification>)(<ParticipantObjectIdentification.*<\/ParticipantObjectIdentification>)/, '$2$1')],
    ['not well-formed', good.replace('</EventIdentification>', '')],
  ];
  for (const [what, xml] of broken) {
    it(`rejects a message with ${what}`, () => {
      assert.notDeepEqual(validateAuditMessage(xml), []);
    });
  }
});
