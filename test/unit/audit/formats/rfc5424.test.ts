import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AUDIT_ACTIONS } from '../../../../main/audit/catalog';
import { atnaSyslogMessage, severityFor } from '../../../../main/audit/formats/atna-syslog';
import {
  ATNA_MSGID,
  CWA_SD_ID,
  OctetCountedDecoder,
  SyslogFormatError,
  formatSyslogMessage,
  frameOctetCounted,
  parseSyslogMessage,
  type SyslogHeader,
} from '../../../../main/audit/formats/rfc5424';
import { SyntheticChain, sampleInput } from '../../../support/atna-events';
import { validateAuditMessage } from '../../../support/atna-validator';

const header: SyslogHeader = {
  facility: 10,
  severity: 5,
  timestamp: '2026-03-01T08:15:30.123Z',
  hostname: 'ward-3-ws-2',
  appName: 'cwa',
  procId: '4242',
  msgId: ATNA_MSGID,
  structuredData: [{ id: CWA_SD_ID, params: [['seq', '7'], ['note', 'quote " backslash \\ bracket ] é']] }],
};

describe('RFC 5424 header', () => {
  it('writes <85>1, the six header fields, structured data and a BOM before the body', () => {
    const msg = formatSyslogMessage(header, '<AuditMessage/>');
    const text = msg.toString('utf8');
    assert.ok(
      text.startsWith('<85>1 2026-03-01T08:15:30.123Z ward-3-ws-2 cwa 4242 IHE+RFC-3881 [cwa@32473 seq="7" note="quote \\" backslash \\\\ bracket \\] é"] \uFEFF<AuditMessage/>'),
      text,
    );
    const parsed = parseSyslogMessage(msg);
    assert.equal(parsed.pri, 85);
    assert.equal(parsed.facility, 10);
    assert.equal(parsed.severity, 5);
    assert.equal(parsed.version, 1);
    assert.equal(parsed.msgId, 'IHE+RFC-3881');
    assert.equal(parsed.bom, true);
    assert.equal(parsed.msg, '<AuditMessage/>');
    assert.deepEqual(parsed.structuredData, header.structuredData, 'SD escapes round-trip');
  });

  it('uses <84> for warnings and the NILVALUE for empty fields and no structured data', () => {
    const msg = formatSyslogMessage({ ...header, severity: 4, hostname: '', procId: '', structuredData: [] }, 'x');
    assert.ok(msg.toString('utf8').startsWith('<84>1 2026-03-01T08:15:30.123Z - cwa - IHE+RFC-3881 - \uFEFFx'));
    const parsed = parseSyslogMessage(msg);
    assert.equal(parsed.pri, 84);
    assert.equal(parsed.hostname, '-');
    assert.deepEqual(parsed.structuredData, []);
  });

  it('replaces spaces and non-ASCII in header fields and bounds their length', () => {
    const msg = formatSyslogMessage({ ...header, hostname: 'ws with spaces-é', appName: 'a'.repeat(60) }, 'x');
    const parsed = parseSyslogMessage(msg);
    assert.equal(parsed.hostname, 'ws_with_spaces-_');
    assert.equal(parsed.appName, 'a'.repeat(48));
  });

  it('refuses a bad timestamp, facility or SD-ID instead of writing an invalid message', () => {
    assert.throws(() => formatSyslogMessage({ ...header, timestamp: '2026-03-01 08:15:30' }, 'x'), SyslogFormatError);
    assert.throws(() => formatSyslogMessage({ ...header, facility: 24 }, 'x'), SyslogFormatError);
    assert.throws(() => formatSyslogMessage({ ...header, structuredData: [{ id: 'bad id', params: [] }] }, 'x'), SyslogFormatError);
  });

  const invalid: [string, string][] = [
    ['no PRI', '1 2026-03-01T08:15:30Z h a p m - x'],
    ['PRI over 191', '<192>1 2026-03-01T08:15:30Z h a p m - x'],
    ['no version', '<85> 2026-03-01T08:15:30Z h a p m - x'],
    ['RFC 3164 timestamp', '<85>1 Mar  1 08:15:30 h a p m - x'],
    ['MSGID over 32', `<85>1 - h a p ${'m'.repeat(33)} - x`],
    ['unterminated SD', '<85>1 - h a p m [x@1 a="b" x'],
    ['unescaped ] in SD', '<85>1 - h a p m [x@1 a="b]"] x'],
  ];
  for (const [what, line] of invalid) {
    it(`parser rejects ${what}`, () => {
      assert.throws(() => parseSyslogMessage(line), SyslogFormatError);
    });
  }
});

describe('ATNA syslog messages', () => {
  const chain = new SyntheticChain();

  it('gives every catalog action PRI 85 or 84 by outcome and urgency, MSGID IHE+RFC-3881 and a valid XML body', () => {
    for (const [i, action] of AUDIT_ACTIONS.entries()) {
      const { event, sealed } = chain.next(sampleInput(action, i));
      const parsed = parseSyslogMessage(atnaSyslogMessage(sealed, { appName: 'cwa', hostname: 'ward-3-ws-2', processId: 4242 }));
      assert.equal(parsed.pri, severityFor(event) === 5 ? 85 : 84, action);
      assert.equal(parsed.msgId, ATNA_MSGID);
      assert.equal(parsed.timestamp, event.time);
      assert.equal(parsed.hostname, 'ward-3-ws-2');
      assert.equal(parsed.procId, '4242');
      const sd = new Map(parsed.structuredData[0]!.params);
      assert.equal(sd.get('seq'), String(event.seq));
      assert.equal(sd.get('hash'), sealed.hash);
      assert.equal(sd.get('id'), event.id);
      assert.deepEqual(validateAuditMessage(parsed.msg), [], action);
    }
  });

  it('marks failures and urgent alerts as warnings and the rest as notices', () => {
    assert.equal(severityFor({ action: 'auth.pin.failure', outcome: 4 }), 4);
    assert.equal(severityFor({ action: 'breakglass.start', outcome: 0 }), 4);
    assert.equal(severityFor({ action: 'session.unlock', outcome: 0 }), 5);
    assert.equal(severityFor({ action: 'session.unlock', outcome: 8 }), 4);
  });

  it('keeps the whole message within maxMessageBytes', () => {
    const details = Object.fromEntries(Array.from({ length: 32 }, (_, k) => [`k${k}`, 'x'.repeat(1024)]));
    const { sealed } = chain.next({ action: 'policy.rejected', details });
    for (const max of [8192, 32768]) {
      const msg = atnaSyslogMessage(sealed, { appName: 'cwa', maxMessageBytes: max });
      assert.ok(msg.length <= max, `${msg.length} > ${max}`);
      assert.ok(msg.length > max - 1200, 'uses the budget, dropping whole details only');
      assert.deepEqual(validateAuditMessage(parseSyslogMessage(msg).msg), []);
    }
  });
});

describe('RFC 5425 octet-counted framing', () => {
  const messages = ['<85>1 - - - - - - ascii', '<85>1 - - - - - - é ü 漢字 🩺', '<84>1 - - - - - - ' + '𝄞'.repeat(3000)].map((s) => Buffer.from(s, 'utf8'));

  it('counts octets, not characters', () => {
    const frame = frameOctetCounted(messages[1]!);
    const len = Number(frame.toString('ascii', 0, frame.indexOf(0x20)));
    assert.equal(len, messages[1]!.length);
    assert.notEqual(len, messages[1]!.toString('utf8').length);
  });

  it('round-trips a stream split at every byte boundary, multi-byte characters included', () => {
    const stream = Buffer.concat(messages.map(frameOctetCounted));
    for (const step of [1, 2, 3, 7, 64, stream.length]) {
      const decoder = new OctetCountedDecoder();
      const out: Buffer[] = [];
      for (let i = 0; i < stream.length; i += step) out.push(...decoder.push(stream.subarray(i, i + step)));
      assert.deepEqual(out.map((b) => b.toString('utf8')), messages.map((b) => b.toString('utf8')), `step ${step}`);
      assert.equal(decoder.idle, true);
    }
  });

  it('rejects non-octet-counted input', () => {
    assert.throws(() => new OctetCountedDecoder().push(Buffer.from('<85>1 - - - - - - x\n')), SyslogFormatError);
    assert.throws(() => new OctetCountedDecoder().push(Buffer.from('012 abc')), SyslogFormatError);
  });
});
