// forward.syslog_drain: events/s draining 20,000 stored events to a real rsyslog over TLS
// (AuditStore.readChainedAfter → SyslogTlsTransport, in 500-event batches, timed until rsyslog's
// file holds them all), against the ceiling of rsyslog itself forwarding the same 20,000
// messages from a disk-assisted queue over omfwd + gtls to the same receiver.
import { connect } from 'node:net';
import { AUDIT_ACTIONS } from '../main/audit/catalog';
import { atnaSyslogFrame, type AtnaSyslogOptions } from '../main/audit/formats/atna-syslog';
import { SyslogTlsTransport } from '../main/forward/syslog-tls-transport';
import { sampleInput } from '../test/support/atna-events';
import { openTestStore, type TestStore } from '../test/support/audit-fixture';
import { TestPki } from '../collector/demo-pki';
import { Rsyslog } from '../test/support/rsyslog';
import { median, withRatio, type Emit } from './result';

const EVENTS = 20_000;
const BATCH = 500;
const ROUNDS = 5;
const CLIENT_NAME = 'ws-bench.clinic.example';

export default async function syslogDrainBench(emit: Emit): Promise<void> {
  const pki = new TestPki();
  let receiver: Rsyslog | undefined;
  let forwarder: Rsyslog | undefined;
  let ts: TestStore | undefined;
  let transport: SyslogTlsTransport | undefined;
  try {
    const ca = pki.createCa('bench-syslog-ca');
    const server = pki.issue(ca, 'bench-rsyslog', { kind: 'server', dns: ['localhost'], ips: ['127.0.0.1'] });
    const client = pki.issue(ca, 'bench-client', { kind: 'client', dns: [CLIENT_NAME] });
    receiver = await Rsyslog.startReceiver({ caFile: ca.certPath, certFile: server.certPath, keyFile: server.keyPath, permittedPeers: [CLIENT_NAME] });

    // The events, recorded (and sealed) by the real encrypted store, outside the timing.
    ts = await openTestStore('bench-syslog');
    const store = ts.store;
    const appends: Promise<unknown>[] = [];
    for (let i = 0; i < EVENTS; i++) appends.push(store.record(sampleInput(AUDIT_ACTIONS[i % AUDIT_ACTIONS.length]!, i)));
    await Promise.all(appends);

    const format: AtnaSyslogOptions = { appName: 'cwa', hostname: 'ws-bench', processId: process.pid };
    // The same messages for rsyslog to forward (the events themselves are not kept: a large
    // live heap would slow our side's garbage collection during the rounds).
    const frames = Buffer.concat(store.readAfter(0, EVENTS).map((e) => atnaSyslogFrame(e, { ...format, hostname: 'ws-bench-rsyslog' })));
    forwarder = await Rsyslog.startForwarder({
      caFile: ca.certPath,
      certFile: client.certPath,
      keyFile: client.keyPath,
      targetPort: receiver.port,
      targetName: 'localhost',
    });

    // The two runs alternate, ROUNDS times each, after one untimed round of each that opens
    // both connections (ours also waits out its handshake settle) and warms both up. Each
    // round's pair is compared: worstRatio is the round where we did worst.
    const ours: number[] = [];
    const theirs: number[] = [];
    let expected = 0;
    for (let round = -1; round < ROUNDS; round++) {
      // (1) Our drain: read a batch from the store, format, frame, write; repeat. One
      // connection for all rounds, as rsyslog's omfwd keeps one: the first round of each
      // side pays for connecting (ours also for the handshake settle).
      transport ??= new SyslogTlsTransport({ host: '127.0.0.1', port: receiver.port, servername: 'localhost', ca: ca.cert, cert: client.cert, key: client.key, format });
      const signal = AbortSignal.timeout(120_000);
      expected += EVENTS;
      const t0 = performance.now();
      let cursor = 0;
      for (;;) {
        const batch = store.readChainedAfter(cursor, BATCH);
        if (batch.length === 0) break;
        const outcome = await transport.send(batch, signal);
        if (outcome.kind !== 'delivered') throw new Error(`unexpected outcome ${outcome.kind}`);
        cursor = outcome.through;
      }
      await receiver.waitForMessages(expected, 60_000, 2);
      if (round >= 0) ours.push(performance.now() - t0);

      // (2) The ceiling: rsyslog forwarding the same messages through its disk-assisted
      // action queue (omfwd + gtls) to the same receiver.
      expected += EVENTS;
      const t1 = performance.now();
      await writePlain(forwarder.port, frames);
      await receiver.waitForMessages(expected, 90_000, 2);
      if (round >= 0) theirs.push(performance.now() - t1);
    }
    const rate = (ms: number): number => Math.round(EVENTS / (ms / 1000));
    const oursMs = median(ours);
    const theirsMs = median(theirs);

    emit({ name: 'forward.syslog_drain.rsyslog_omfwd', value: rate(theirsMs), unit: 'events/s', events: EVENTS, ms: Math.round(theirsMs), runsMs: theirs.map(Math.round) });
    emit(
      withRatio({
        name: 'forward.syslog_drain',
        value: rate(oursMs),
        unit: 'events/s',
        ceiling: rate(theirsMs),
        target: 'worstRatio >= 1.0 (every round at or above rsyslog)',
        events: EVENTS,
        ms: Math.round(oursMs),
        runsMs: ours.map(Math.round),
        worstRatio: Number(Math.min(...ours.map((ms, i) => theirs[i]! / ms)).toFixed(3)),
        roundRatios: ours.map((ms, i) => Number((theirs[i]! / ms).toFixed(3))),
        ceilingRunsMs: theirs.map(Math.round),
        bytes: frames.length,
        source: 'AuditStore.readChainedAfter (what the forwarder reads for the syslog lane) + SyslogTlsTransport.send (500/batch), timed until rsyslog wrote all to its file; 5 alternating rounds after an untimed warm-up of each; value and ceiling are medians',
      }),
    );
  } finally {
    await transport?.close();
    await forwarder?.dispose();
    await receiver?.dispose();
    await ts?.cleanup();
    pki.dispose();
  }
}

/** Writes the frames to rsyslog's plain local TCP input and closes once the kernel took them. */
async function writePlain(port: number, bytes: Buffer): Promise<void> {
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  await new Promise<void>((resolve, reject) => socket.end(bytes, resolve).once('error', reject));
}
