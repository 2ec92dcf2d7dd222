// The syslog/TLS transport against a real rsyslogd (imtcp + gtls, x509/name, client
// certificates required) started on 127.0.0.1 by this test: what rsyslog stored is read
// back from its file, parsed as RFC 5424 and validated as a DICOM audit message.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:tls';
import { AUDIT_ACTIONS } from '../../../main/audit/catalog';
import type { SealedEvent } from '../../../main/audit/event';
import { atnaSyslogMessage, severityFor } from '../../../main/audit/formats/atna-syslog';
import { ATNA_MSGID, frameOctetCounted, parseSyslogMessage, type ParsedSyslogMessage } from '../../../main/audit/formats/rfc5424';
import { SyslogTlsTransport, type SyslogTlsTransportOptions } from '../../../main/forward/syslog-tls-transport';
import { TransportError } from '../../../main/forward/transport';
import { SyntheticChain, sampleInput } from '../../support/atna-events';
import { validateAuditMessage } from '../../support/atna-validator';
import { openTestStore, type TestStore } from '../../support/audit-fixture';
import { TestPki, type Ca, type CertFiles } from '../../../collector/demo-pki';
import { Rsyslog } from '../../support/rsyslog';

const CLIENT_NAME = 'ws-ward3-02.clinic.example';

describe('syslog over TLS to a real rsyslog', () => {
  let pki: TestPki;
  let ca: Ca;
  let rogueCa: Ca;
  let client: CertFiles;
  let rsyslog: Rsyslog;
  const chain = new SyntheticChain('ws-ward3-02');
  const open: SyslogTlsTransport[] = [];

  const transport = (hostname: string, overrides: Partial<SyslogTlsTransportOptions> = {}): SyslogTlsTransport => {
    const t = new SyslogTlsTransport({
      host: '127.0.0.1',
      port: rsyslog.port,
      servername: 'localhost',
      ca: ca.cert,
      cert: client.cert,
      key: client.key,
      format: { appName: 'cwa', hostname, processId: process.pid },
      connectTimeoutMs: 5_000,
      ...overrides,
    });
    open.push(t);
    return t;
  };
  const stored = (): ParsedSyslogMessage[] => rsyslog.messages().map((line) => parseSyslogMessage(line));
  const sdParam = (m: ParsedSyslogMessage, name: string): string | undefined => new Map(m.structuredData[0]?.params ?? []).get(name);

  before(async () => {
    pki = new TestPki();
    ca = pki.createCa('syslog-ca');
    rogueCa = pki.createCa('rogue-ca');
    const server = pki.issue(ca, 'rsyslog-server', { kind: 'server', dns: ['localhost'], ips: ['127.0.0.1'] });
    client = pki.issue(ca, 'ws-client', { kind: 'client', dns: [CLIENT_NAME] });
    rsyslog = await Rsyslog.startReceiver({ caFile: ca.certPath, certFile: server.certPath, keyFile: server.keyPath, permittedPeers: [CLIENT_NAME] });
  });

  after(async () => {
    for (const t of open) await t.close();
    await rsyslog?.dispose();
    pki?.dispose();
  });

  it('is the unacknowledged syslog lane', () => {
    const t = transport('lane-check');
    assert.equal(t.name, 'syslog');
    assert.equal(t.acknowledges, false);
  });

  it('delivers every catalog action; rsyslog stores RFC 5424 with PRI 85/84, MSGID IHE+RFC-3881 and a valid DICOM audit message', async () => {
    const t = transport('ws-all-actions');
    const start = rsyslog.messageCount();
    const events = AUDIT_ACTIONS.map((action, i) => chain.next(sampleInput(action, i)));
    const half = Math.floor(events.length / 2);
    const first = await t.send(events.slice(0, half).map((e) => e.sealed), AbortSignal.timeout(10_000));
    const second = await t.send(events.slice(half).map((e) => e.sealed), AbortSignal.timeout(10_000));
    assert.deepEqual(first, { kind: 'delivered', through: events[half - 1]!.event.seq });
    assert.deepEqual(second, { kind: 'delivered', through: events.at(-1)!.event.seq });

    await rsyslog.waitForMessages(start + events.length, 15_000);
    const messages = stored().filter((m) => m.hostname === 'ws-all-actions');
    assert.equal(messages.length, events.length);
    messages.forEach((m, i) => {
      const { event, sealed } = events[i]!;
      assert.equal(m.version, 1);
      assert.equal(m.facility, 10);
      assert.equal(m.pri, severityFor(event) === 5 ? 85 : 84, `${event.action}: PRI`);
      assert.equal(m.msgId, ATNA_MSGID);
      assert.equal(m.appName, 'cwa');
      assert.equal(m.procId, String(process.pid));
      assert.equal(m.timestamp, event.time);
      assert.equal(sdParam(m, 'seq'), String(event.seq), 'in seq order');
      assert.equal(sdParam(m, 'hash'), sealed.hash);
      const xml = m.msg.replace(/^\uFEFF/, '');
      assert.deepEqual(validateAuditMessage(xml), [], event.action);
      assert.ok(xml.includes(`ParticipantObjectID="urn:uuid:${event.id}"`));
    });
    assert.ok(messages.some((m) => m.pri === 84) && messages.some((m) => m.pri === 85), 'both severities occur');
  });

  it('carries a 32 KB message intact', async () => {
    const t = transport('ws-big');
    const details = Object.fromEntries(Array.from({ length: 32 }, (_, k) => [`k${k}`, 'é'.repeat(1024)]));
    const { sealed } = chain.next({ action: 'policy.rejected', details });
    const sent = atnaSyslogMessage(sealed, { appName: 'cwa', hostname: 'ws-big', processId: process.pid });
    assert.ok(sent.length > 30_000 && sent.length <= 32_768, `${sent.length} bytes`);
    const expected = rsyslog.messageCount() + 1;
    await t.send([sealed], AbortSignal.timeout(10_000));
    await rsyslog.waitForMessages(expected, 15_000);
    const m = stored().find((x) => x.hostname === 'ws-big')!;
    assert.equal(m.msg, parseSyslogMessage(sent).msg, 'the body arrives byte for byte');
    assert.deepEqual(validateAuditMessage(m.msg.replace(/^\uFEFF/, '')), []);
  });

  it('drains events from the real audit store and reconnects after rsyslog restarts', async () => {
    let ts: TestStore | undefined;
    try {
      ts = await openTestStore('syslog');
      for (let i = 0; i < 40; i++) await ts.store.record(sampleInput(AUDIT_ACTIONS[i % AUDIT_ACTIONS.length]!, i));
      const rows = ts.store.readAfter(0, 1000);
      assert.equal(rows.length, 40);
      const t = transport('ws-store');
      const start = rsyslog.messageCount();
      assert.deepEqual(await t.send(rows.slice(0, 20), AbortSignal.timeout(10_000)), { kind: 'delivered', through: rows[19]!.seq });
      await rsyslog.waitForMessages(start + 20, 15_000);

      await rsyslog.restart();
      // The receiver's close was seen: the next batch goes over a new connection.
      assert.deepEqual(await t.send(rows.slice(20), AbortSignal.timeout(10_000)), { kind: 'delivered', through: rows[39]!.seq });
      await rsyslog.waitForMessages(start + 40, 15_000);

      const got = stored().filter((m) => m.hostname === 'ws-store');
      assert.deepEqual(got.map((m) => sdParam(m, 'seq')), rows.map((r) => String(r.seq)));
      assert.deepEqual(got.map((m) => sdParam(m, 'hash')), rows.map((r) => r.hash), 'SIEM records tie back to the stored chain');
    } finally {
      await ts?.cleanup();
    }
  });

  describe('a client without a valid certificate gets nothing into the file', () => {
    const bad: [string, () => { cert?: string; key?: string }][] = [
      ['a certificate from another CA', () => pki.issue(rogueCa, 'ws-rogue', { kind: 'client', dns: [CLIENT_NAME] })],
      ['an expired certificate', () => pki.issue(ca, 'ws-expired', { kind: 'client', dns: [CLIENT_NAME], expired: true })],
      ['a certificate with a name rsyslog does not permit', () => pki.issue(ca, 'ws-unlisted', { kind: 'client', dns: ['ws-unlisted.clinic.example'] })],
      ['no certificate', () => ({})],
    ];
    const rejections = (): number => (rsyslog.internalLog().match(/not permitted|peer name not authorized|did not provide a certificate/g) ?? []).length;

    for (const [i, [what, make]] of bad.entries()) {
      it(`refuses ${what}`, async () => {
        const creds = make();
        const marker = `ws-bad-${i}`;
        const { sealed } = chain.next(sampleInput('session.unlock'));
        const rejectedBefore = rejections();

        // Our transport notices the refusal right after the handshake and reports it (given
        // time for it: rsyslog runs beside two other test files here).
        if (creds.cert !== undefined) {
          const t = transport(marker, { cert: creds.cert, key: creds.key!, handshakeSettleMs: 2_000 });
          await assert.rejects(t.send([sealed], AbortSignal.timeout(10_000)), (err: unknown) => err instanceof TransportError && err.kind === 'tls');
        }
        // A client that writes at once, without waiting, must not get through either.
        await rawWrite(rsyslog.port, ca.cert, creds, frameOctetCounted(atnaSyslogMessage(sealed, { appName: 'cwa', hostname: marker })));
        await rsyslog.waitForInternal(() => rejections() > rejectedBefore, 10_000);

        // A sentinel from the valid client proves rsyslog is writing; nothing from the bad one is there.
        const sentinel = chain.next(sampleInput('agent.start'));
        const expected = rsyslog.messageCount() + 1;
        await transport(`sentinel-${i}`).send([sentinel.sealed], AbortSignal.timeout(10_000));
        await rsyslog.waitForMessages(expected, 15_000);
        const all = stored();
        assert.ok(all.some((m) => m.hostname === `sentinel-${i}`));
        assert.equal(all.filter((m) => m.hostname === marker).length, 0, `rsyslog stored a message from a client with ${what}`);
        assert.ok(rejections() > rejectedBefore, 'rsyslog logged the refusal');
      });
    }
  });

  it('refuses a receiver whose certificate does not carry the configured server name', async () => {
    const t = transport('ws-wrong-name', { servername: 'audit.other.example' });
    await assert.rejects(t.send([chain.next(sampleInput('agent.start')).sealed], AbortSignal.timeout(10_000)), (err: unknown) => {
      assert.ok(err instanceof TransportError);
      assert.equal(err.kind, 'tls');
      assert.match(err.message, /ERR_TLS_CERT_ALTNAME_INVALID/);
      assert.match(err.message, /audit\.other\.example/);
      return true;
    });
  });

  it('refuses a receiver whose certificate another CA issued than the pinned one', async () => {
    const t = transport('ws-wrong-ca', { ca: rogueCa.cert });
    await assert.rejects(t.send([chain.next(sampleInput('agent.start')).sealed], AbortSignal.timeout(10_000)), (err: unknown) => err instanceof TransportError && err.kind === 'tls');
  });

  it('classifies a refused connection as connect, and an abort as the abort', async () => {
    // Port 1 (tcpmux) has no listener here; a port just released could be taken by a test running beside this one.
    const t = transport('ws-refused', { port: 1 });
    const event: SealedEvent = chain.next(sampleInput('agent.start')).sealed;
    await assert.rejects(t.send([event], AbortSignal.timeout(10_000)), (err: unknown) => err instanceof TransportError && err.kind === 'connect');
    const aborted = AbortSignal.abort(new Error('forwarder stopping'));
    await assert.rejects(transport('ws-abort').send([event], aborted), /forwarder stopping/);
  });
});

/** A bare TLS client that writes as soon as its side of the handshake is done, then waits for the server to close. */
function rawWrite(port: number, ca: string, creds: { cert?: string; key?: string }, frame: Buffer): Promise<void> {
  return new Promise<void>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca, ...creds, minVersion: 'TLSv1.2' }, () => {
      socket.write(frame);
    });
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.setTimeout(10_000, () => socket.destroy());
    socket.on('close', () => resolve());
  });
}
