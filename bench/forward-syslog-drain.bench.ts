// forward.syslog_drain: events/s draining stored events to a real rsyslog over TLS
// (AuditStore.readChainedAfter → SyslogTlsTransport, in 500-event batches, timed until rsyslog's
// file holds them all), against the ceiling of rsyslog itself forwarding the same messages
// from a disk-assisted queue over omfwd + gtls to the same receiver. Five runs; each passes
// the 20,000 stored events four times through both sides (80,000 each), in slices of 5,000
// taken in turn (ABBA); the target is every run at or above rsyslog (worstRatio >= 1.0).
import { connect } from 'node:net';
import { AUDIT_ACTIONS } from '../main/audit/catalog';
import { atnaSyslogFrame, type AtnaSyslogOptions } from '../main/audit/formats/atna-syslog';
import { SyslogTlsTransport } from '../main/forward/syslog-tls-transport';
import { sampleInput } from '../test/support/atna-events';
import { openTestStore, type TestStore } from '../test/support/audit-fixture';
import { TestPki } from '../collector/demo-pki';
import { Rsyslog } from '../test/support/rsyslog';
import { median, withRatio, type Emit } from './result';

/** The stored events (and rsyslog's copy of them as frames). */
const EVENTS = 20_000;
const BATCH = 500;
const ROUNDS = 5;
/** The events are cut in this many slices, which the two sides take in turn (see below). */
const SLICES = 4;
const SLICE = EVENTS / SLICES;
/**
 * How many times a run passes the stored events through each side. On this machine the
 * time of one side's 20,000 events varies by ±10% from run to run (bursts of noise of a
 * few hundred ms), more than the margin being measured; a run of 80,000 averages them.
 */
const PASSES = 4;
const RUN_EVENTS = EVENTS * PASSES;
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
    // The same messages for rsyslog to forward, slice by slice (the events themselves are not
    // kept: a large live heap would slow our side's garbage collection during the runs).
    const frames = Array.from({ length: SLICES }, (_, k) =>
      Buffer.concat(store.readAfter(k * SLICE, SLICE).map((e) => atnaSyslogFrame(e, { ...format, hostname: 'ws-bench-rsyslog' }))),
    );
    forwarder = await Rsyslog.startForwarder({
      caFile: ca.certPath,
      certFile: client.certPath,
      keyFile: client.keyPath,
      targetPort: receiver.port,
      targetName: 'localhost',
    });
    const rsyslogForwarder = forwarder;
    transport = new SyslogTlsTransport({ host: '127.0.0.1', port: receiver.port, servername: 'localhost', ca: ca.cert, cert: client.cert, key: client.key, format });
    const ourTransport = transport;
    const signal = AbortSignal.timeout(600_000);
    let expected = 0;

    // (1) Our drain of one slice: read a batch from the store, format, frame, write; repeat.
    // One connection for all runs, as rsyslog's omfwd keeps one.
    const oursSlice = async (k: number): Promise<number> => {
      expected = Math.max(expected, receiver!.messageCount()) + SLICE;
      const t0 = performance.now();
      for (let cursor = k * SLICE; cursor < (k + 1) * SLICE; ) {
        const batch = store.readChainedAfter(cursor, Math.min(BATCH, (k + 1) * SLICE - cursor));
        const outcome = await ourTransport.send(batch, signal);
        if (outcome.kind !== 'delivered') throw new Error(`unexpected outcome ${outcome.kind}`);
        cursor = outcome.through;
      }
      await receiver!.waitForMessages(expected, 60_000, 2);
      return performance.now() - t0;
    };
    // (2) The ceiling: rsyslog forwarding the same slice through its disk-assisted action
    // queue (omfwd + gtls) to the same receiver. Now and then it loses a few messages on
    // the way (plain TCP forwarding has no acknowledgement): its slice then ends when the
    // receiver's file last grew, and the loss is counted and printed.
    let ceilingLost = 0;
    const theirsSlice = async (k: number): Promise<number> => {
      // From what the file holds now: messages rsyslog delivered late count where they landed.
      expected = Math.max(expected, receiver!.messageCount()) + SLICE;
      const t0 = performance.now();
      await writePlain(rsyslogForwarder.port, frames[k]!);
      const { count, lastGrowthAt } = await receiver!.waitForMessagesOrStall(expected, { stallMs: 5_000, timeoutMs: 90_000, pollMs: 2 });
      if (count >= expected) return performance.now() - t0;
      ceilingLost += expected - count;
      expected = count;
      return lastGrowthAt - t0;
    };

    // ROUNDS runs after one untimed run (it opens both connections, ours also waits out its
    // handshake settle, and warms both up). A run passes every event through each side
    // PASSES times, slice by slice, the two sides taking each slice in turn, ABBA (ours first
    // in even slices, rsyslog first in odd ones): a burst of this machine's noise then falls
    // on both sides of a run rather than on one. A run's time per side is the sum of its
    // slices; worstRatio is the run where we did worst.
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let run = -1; run < ROUNDS; run++) {
      let oursMs = 0;
      let theirsMs = 0;
      for (let j = 0; j < SLICES * PASSES; j++) {
        const k = j % SLICES;
        if (j % 2 === 0) {
          oursMs += await oursSlice(k);
          theirsMs += await theirsSlice(k);
        } else {
          theirsMs += await theirsSlice(k);
          oursMs += await oursSlice(k);
        }
      }
      if (run >= 0) {
        ours.push(oursMs);
        theirs.push(theirsMs);
      }
    }
    const rate = (ms: number): number => Math.round(RUN_EVENTS / (ms / 1000));
    const oursMs = median(ours);
    const theirsMs = median(theirs);

    emit({ name: 'forward.syslog_drain.rsyslog_omfwd', value: rate(theirsMs), unit: 'events/s', events: RUN_EVENTS, ms: Math.round(theirsMs), runsMs: theirs.map(Math.round), lost: ceilingLost });
    emit(
      withRatio({
        name: 'forward.syslog_drain',
        value: rate(oursMs),
        unit: 'events/s',
        ceiling: rate(theirsMs),
        target: 'worstRatio >= 1.0 (every run at or above rsyslog)',
        events: RUN_EVENTS,
        ms: Math.round(oursMs),
        runsMs: ours.map(Math.round),
        worstRatio: Number(Math.min(...ours.map((ms, i) => theirs[i]! / ms)).toFixed(3)),
        runRatios: ours.map((ms, i) => Number((theirs[i]! / ms).toFixed(3))),
        ceilingRunsMs: theirs.map(Math.round),
        bytes: PASSES * frames.reduce((n, f) => n + f.length, 0),
        source: 'AuditStore.readChainedAfter (what the forwarder reads for the syslog lane) + SyslogTlsTransport.send (500/batch), timed until rsyslog wrote all to its file; 5 runs after an untimed one, each passing the 20,000 stored events 4 times (80,000 per side) in slices of 5,000 alternating the two sides ABBA; value and ceiling are medians',
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
