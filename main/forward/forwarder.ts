// The store-and-forward loop: one lane per Transport reads unacknowledged events in seq
// order, in bounded batches, and moves its position only on what the upstream says. At
// least once, never out of order, never a silent skip; backoff with full jitter between
// failures, cut short by nudge() (network change, resume) and by urgent events.
// Every lane keeps its own position (a store cursor); with several acknowledging upstreams
// (HTTPS and FHIR) the store's acknowledgement, which retention frees rows by, is the
// lowest of them: no row leaves before every acknowledging upstream holds it. An upstream
// left out of the policy for a while resumes from its own position when it is named again
// (rows purged meanwhile raise a continuity alarm); one new to this buffer starts at the
// store's acknowledgement.
import { catalogEntry } from '../audit/catalog';
import { GENESIS_HASH, type AuditEvent, type ChainedEvent } from '../audit/event';
import type { AuditStore } from '../audit/store';
import { DisposableStore, toDisposable, type Disposable } from '../disposable';
import { systemClock, type Clock } from '../platform/clock';
import type { ForwardPolicy } from './policy';
import { TransportError, type SendOutcome, type Transport, type TransportErrorKind } from './transport';

/** What the forwarder needs from the audit store (the AuditStore, or a fake in unit tests). */
export type ForwardStore = Pick<
  AuditStore,
  'readAfter' | 'readChainedAfter' | 'head' | 'anchor' | 'acknowledge' | 'acknowledgedThrough' | 'cursor' | 'savedCursor' | 'setCursor' | 'onAppend' | 'record'
>;

/** A lane's read batch and how to send it. */
interface Batch {
  readonly events: readonly ChainedEvent[];
  send(signal: AbortSignal): Promise<SendOutcome>;
}

export interface ForwarderOptions {
  readonly store: ForwardStore;
  /** Owned by the forwarder from now on: stop() closes them. */
  readonly transports: readonly Transport[];
  readonly policy: Pick<ForwardPolicy, 'batch' | 'backoff'>;
  /**
   * With no acknowledging transport (syslog alone), the syslog policy's explicit rule:
   * 'keep' (default) never frees a row; 'after-delivery' records a write to the stream as
   * the acknowledgement that starts the retention clock. Ignored when HTTPS is configured.
   */
  readonly unacknowledgedRetention?: 'keep' | 'after-delivery';
  readonly clock?: Clock;
  /** [0, 1), for the jitter; tests pass a fixed one. */
  readonly random?: () => number;
}

export interface LaneError {
  readonly kind: TransportErrorKind;
  readonly message: string;
  readonly status?: number;
  /** RFC 3339 wall time. */
  readonly at: string;
}

export interface ContinuityAlarm {
  readonly lane: string;
  /** 'refused': the upstream refuses one event (upstreamSeq) for good; the lane retries it and sends nothing after it. */
  readonly reason: 'purged' | 'diverged' | 'upstream-ahead' | 'refused';
  /** The seq the upstream named (for 'refused': the refused event). */
  readonly upstreamSeq: number;
  readonly message: string;
  readonly at: string;
}

export type LaneState = 'idle' | 'sending' | 'backoff' | 'stopped';

export interface LaneStatus {
  readonly name: string;
  readonly acknowledges: boolean;
  readonly state: LaneState;
  /** Everything through this seq is acknowledged (or, for syslog, written). */
  readonly position: number;
  readonly lastAck: { readonly seq: number; readonly at: string } | null;
  readonly lastError: LaneError | null;
  readonly backoffMs: number;
  readonly consecutiveFailures: number;
}

export interface ForwarderStatus {
  /** Events after the governing lane's position: not yet acknowledged by every acknowledging upstream. */
  readonly queueDepth: number;
  readonly oldestUnackedAgeMs: number | null;
  /** False when no configured upstream acknowledges (syslog alone): delivery is unconfirmed. */
  readonly deliveryConfirmed: boolean;
  /** The governing lane's (the least advanced acknowledging one, if any) last ack, last error and backoff. */
  readonly lastAck: LaneStatus['lastAck'];
  readonly lastError: LaneError | null;
  readonly backoffMs: number;
  readonly continuityAlarm: ContinuityAlarm | null;
  readonly lanes: readonly LaneStatus[];
}

type WakeOn = 'append' | 'urgent';

interface Waiter {
  readonly wakeOn: WakeOn;
  readonly wake: () => void;
}

class Lane {
  state: LaneState = 'idle';
  lastAck: LaneStatus['lastAck'] = null;
  lastError: LaneError | null = null;
  backoffMs = 0;
  failures = 0;
  /** Set after a 409 below the ack watermark: resend from here though it is already acknowledged. */
  resendFrom: number | null = null;
  waiter: Waiter | null = null;
  lingering: Waiter | null = null;
  /** An urgent event arrived while a send was in flight: skip the next wait once. */
  urgentDuringSend = false;
  tlsAlarmRecorded = false;
  /** 409s answered since the lane last made progress: from the second on, the lane backs off. */
  resyncs = 0;
  readonly alarmsRecorded = new Set<string>();
  loop: Promise<void> = Promise.resolve();

  constructor(readonly transport: Transport) {}

  get name(): string {
    return this.transport.name;
  }
}

export class Forwarder {
  private readonly lanes: Lane[];
  /** The lanes whose upstream acknowledges, in transport order. */
  private readonly acking: Lane[];
  private readonly store: ForwardStore;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly policy: ForwarderOptions['policy'];
  private readonly unacknowledgedRetention: 'keep' | 'after-delivery';
  private readonly disposables = new DisposableStore();
  private readonly abort = new AbortController();
  private readonly listeners = new Set<() => void>();
  private continuityAlarm: ContinuityAlarm | null = null;
  /** Alarm events being recorded; stop() waits for them. */
  private readonly recording = new Set<Promise<unknown>>();
  private started = false;
  private stopping = false;
  private stopped: Promise<void> | null = null;

  constructor(opts: ForwarderOptions) {
    if (opts.transports.length === 0) throw new Error('Forwarder: at least one transport is required');
    const names = new Set(opts.transports.map((t) => t.name));
    if (names.size !== opts.transports.length) throw new Error('Forwarder: transport names must be unique (they name the store cursors)');
    this.store = opts.store;
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? Math.random;
    this.policy = opts.policy;
    this.unacknowledgedRetention = opts.unacknowledgedRetention ?? 'keep';
    this.lanes = opts.transports.map((t) => new Lane(t));
    this.acking = this.lanes.filter((l) => l.transport.acknowledges);
  }

  start(): void {
    if (this.started) throw new Error('Forwarder: start() called twice');
    this.started = true;
    this.disposables.add(this.store.onAppend((events) => this.onAppend(events)));
    for (const lane of this.lanes) {
      lane.loop = this.run(lane).catch((err: unknown) => {
        // A bug or a dead store must show in status, not vanish in a rejected promise.
        lane.state = 'stopped';
        lane.lastError = { kind: 'protocol', message: `the forwarding lane stopped: ${err instanceof Error ? err.message : String(err)}`, at: this.now() };
        this.changed();
      });
    }
  }

  /** Network changed or the machine resumed: retry every lane now, from a fresh backoff. */
  nudge(): void {
    for (const lane of this.lanes) {
      lane.failures = 0;
      this.wake(lane);
    }
  }

  /** Called after every send outcome, failure and state change (status listeners, tests). */
  onChange(listener: () => void): Disposable {
    this.listeners.add(listener);
    return toDisposable(() => this.listeners.delete(listener));
  }

  /** Stops the lanes, waiting for a send in flight (or cancelling it with `abortInFlight`), then closes the transports. */
  stop(opts: { abortInFlight?: boolean } = {}): Promise<void> {
    if (this.stopped) return this.stopped;
    this.stopping = true;
    if (opts.abortInFlight) this.abort.abort();
    for (const lane of this.lanes) this.wake(lane);
    this.stopped = (async () => {
      await Promise.all(this.lanes.map((l) => l.loop));
      await Promise.all(this.recording);
      this.disposables.dispose();
      await Promise.all(this.lanes.map((l) => l.transport.close()));
      for (const lane of this.lanes) lane.state = 'stopped';
      this.changed();
      this.listeners.clear();
    })();
    return this.stopped;
  }

  status(): ForwarderStatus {
    const head = this.store.head();
    const lanes = this.lanes.map((l) => this.laneStatus(l));
    const governing = this.governingLane();
    const g = lanes[this.lanes.indexOf(governing)]!;
    const position = this.position(governing);
    let oldestUnackedAgeMs: number | null = null;
    const first = position < head.seq ? this.store.readAfter(position, 1)[0] : undefined;
    if (first) {
      const time = Date.parse((JSON.parse(first.body) as { time: string }).time);
      oldestUnackedAgeMs = Math.max(0, this.clock.wallMs() - time);
    }
    return {
      queueDepth: Math.max(0, head.seq - position),
      oldestUnackedAgeMs,
      deliveryConfirmed: this.lanes.some((l) => l.transport.acknowledges),
      lastAck: g.lastAck,
      lastError: g.lastError,
      backoffMs: g.backoffMs,
      continuityAlarm: this.continuityAlarm,
      lanes,
    };
  }

  private laneStatus(l: Lane): LaneStatus {
    return {
      name: l.name,
      acknowledges: l.transport.acknowledges,
      state: l.state,
      position: this.position(l),
      lastAck: l.lastAck,
      lastError: l.lastError,
      backoffMs: l.state === 'backoff' ? l.backoffMs : 0,
      consecutiveFailures: l.failures,
    };
  }

  /** The least advanced acknowledging lane decides retention and what "unacknowledged" means. */
  private governingLane(): Lane {
    if (this.acking.length === 0) return this.lanes[0]!;
    return this.acking.reduce((a, b) => (this.position(b) < this.position(a) ? b : a));
  }

  /**
   * Through which seq this acknowledging lane's upstream holds the events: the lane's own
   * cursor, even when it is behind the store's acknowledgement (the upstream was left out
   * of the policy while another moved it: it is owed those events). A lane that never
   * recorded one (an upstream new to this buffer, or an agent from before every lane kept
   * its cursor) starts at the store's acknowledgement.
   */
  private ackedBy(lane: Lane): number {
    return this.store.savedCursor(lane.name) ?? this.store.acknowledgedThrough();
  }

  /** Records that `lane`'s upstream holds everything through `through`; the store's acknowledgement moves to the lowest lane. */
  private recordAck(lane: Lane, through: number): void {
    const own = this.store.savedCursor(lane.name);
    const moved = own === null || through > own;
    // The store's acknowledgement first: if it fails (disk full), the lane's position has
    // not moved either and the batch is sent again, rather than acknowledged by nobody.
    const lowest = Math.min(...this.acking.map((l) => (l === lane ? Math.max(through, own ?? through) : this.ackedBy(l))));
    if (lowest > this.store.acknowledgedThrough()) this.store.acknowledge(lowest, lane.name);
    if (moved) this.store.setCursor(lane.name, through);
  }

  /** With syslog alone and the 'after-delivery' rule, a written row counts as acknowledged. */
  private deliveryFreesRows(lane: Lane): boolean {
    return !lane.transport.acknowledges && !this.lanes.some((l) => l.transport.acknowledges) && this.unacknowledgedRetention === 'after-delivery';
  }

  private position(lane: Lane): number {
    if (lane.transport.acknowledges) return lane.resendFrom ?? this.ackedBy(lane);
    return this.store.cursor(lane.name);
  }

  private now(): string {
    return new Date(this.clock.wallMs()).toISOString();
  }

  private changed(): void {
    for (const l of this.listeners) {
      try {
        l();
      } catch {
        // A status listener's failure must never stop forwarding.
      }
    }
  }

  private onAppend(events: readonly AuditEvent[]): void {
    const urgent = events.some((e) => catalogEntry(e.action).urgent);
    for (const lane of this.lanes) {
      const w = lane.waiter;
      if (!w) {
        if (urgent && lane.state === 'sending') lane.urgentDuringSend = true;
        continue;
      }
      if (urgent) this.wake(lane);
      else if (w.wakeOn === 'append') this.lingerThenWake(lane, w);
    }
  }

  private lingerThenWake(lane: Lane, w: Waiter): void {
    const linger = this.policy.batch.lingerMs;
    if (linger <= 0) return this.wake(lane);
    if (lane.lingering === w) return; // one linger per wait: later appends join the same batch
    lane.lingering = w;
    const handle = setTimeout(() => {
      this.disposables.delete(timer);
      if (lane.waiter === w) this.wake(lane);
    }, linger);
    const timer = this.disposables.add(toDisposable(() => clearTimeout(handle)));
  }

  private wake(lane: Lane): void {
    const w = lane.waiter;
    lane.waiter = null;
    w?.wake();
  }

  /** Waits for `ms` (Infinity: until woken) or until woken by what `wakeOn` allows, nudge() or stop(). */
  private sleep(lane: Lane, ms: number, wakeOn: WakeOn): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let timer: Disposable | null = null;
      const waiter: Waiter = {
        wakeOn,
        wake: () => {
          if (timer) this.disposables.delete(timer);
          resolve();
        },
      };
      lane.waiter = waiter;
      if (Number.isFinite(ms)) {
        const handle = setTimeout(() => {
          if (lane.waiter === waiter) lane.waiter = null;
          if (timer) this.disposables.delete(timer);
          resolve();
        }, ms);
        timer = this.disposables.add(toDisposable(() => clearTimeout(handle)));
      }
    });
  }

  private async run(lane: Lane): Promise<void> {
    const { maxEvents, maxBytes } = this.policy.batch;
    while (!this.stopping) {
      const after = this.position(lane);
      let batch: Batch;
      try {
        batch = this.readBatch(lane, after, maxEvents, maxBytes);
      } catch (err) {
        await this.failed(lane, storeError(err));
        continue;
      }
      const anchorSeq = this.store.anchor().seq;
      if (after < anchorSeq) {
        // Rows this lane never delivered were purged (retention follows the acknowledging upstream).
        this.raiseContinuityAlarm(lane, 'purged', after, `events ${after + 1}..${anchorSeq} were purged before ${lane.name} delivered them; they cannot be sent to it`);
      }
      if (batch.events.length === 0) {
        lane.state = 'idle';
        lane.backoffMs = 0;
        this.changed();
        await this.sleep(lane, Infinity, 'append');
        continue;
      }
      lane.state = 'sending';
      lane.urgentDuringSend = false;
      let outcome: SendOutcome;
      try {
        outcome = await batch.send(this.abort.signal);
      } catch (err) {
        if (this.stopping && this.abort.signal.aborted) break;
        await this.failed(lane, toTransportError(err));
        continue;
      }
      let problem: TransportError | null;
      try {
        problem = this.apply(lane, after, batch.events, outcome);
      } catch (err) {
        problem = storeError(err);
      }
      if (problem) await this.failed(lane, problem);
      else this.changed();
    }
    lane.state = 'stopped';
  }

  /** Applies an upstream answer; returns an error to back off on, or null on progress. */
  /** The lane's next events, read with their signatures only when the lane carries them. */
  private readBatch(lane: Lane, after: number, maxEvents: number, maxBytes: number): Batch {
    const transport = lane.transport;
    if (transport.carriesSignatures) {
      const events = this.store.readAfter(after, maxEvents, maxBytes);
      return { events, send: (signal) => transport.send(events, signal) };
    }
    const events = this.store.readChainedAfter(after, maxEvents, maxBytes);
    return { events, send: (signal) => transport.send(events, signal) };
  }

  private apply(lane: Lane, after: number, batch: readonly ChainedEvent[], outcome: SendOutcome): TransportError | null {
    const end = batch[batch.length - 1]!.seq;
    switch (outcome.kind) {
      case 'acknowledged': {
        // Never more than was sent: an ack for events this batch did not carry proves nothing about them.
        const through = Math.min(outcome.acceptedThrough, end);
        if (through <= after) {
          return new TransportError('protocol', `the upstream acknowledged through seq ${outcome.acceptedThrough}, which does not cover the batch ${after + 1}..${end}`);
        }
        this.advance(lane, through);
        return null;
      }
      case 'delivered': {
        const through = Math.min(outcome.through, end);
        if (through <= after) return new TransportError('protocol', `the transport reported delivery through seq ${outcome.through}, before the batch ${after + 1}..${end}`);
        this.advance(lane, through);
        return null;
      }
      case 'resync':
        return this.resync(lane, after, outcome.lastSeq, outcome.lastHash);
    }
  }

  private advance(lane: Lane, through: number): void {
    if (lane.transport.acknowledges) {
      if (through > this.ackedBy(lane)) this.recordAck(lane, through);
      if (lane.resendFrom !== null) lane.resendFrom = through >= this.ackedBy(lane) ? null : through;
    } else {
      this.store.setCursor(lane.name, through);
      if (this.deliveryFreesRows(lane) && through > this.store.acknowledgedThrough()) this.store.acknowledge(through, lane.name);
    }
    lane.lastAck = { seq: through, at: this.now() };
    lane.failures = 0;
    lane.backoffMs = 0;
    lane.tlsAlarmRecorded = false;
    lane.resyncs = 0;
    lane.alarmsRecorded.clear();
    if (this.continuityAlarm?.lane === lane.name) this.continuityAlarm = null;
  }

  /** 409: the upstream's chain ends at lastSeq. Continue from there if this device still holds the matching rows; else alarm. */
  private resync(lane: Lane, after: number, lastSeq: number, lastHash: string | null): TransportError | null {
    const anchor = this.store.anchor();
    const head = this.store.head();
    const alarm = (reason: ContinuityAlarm['reason'], message: string): TransportError => {
      this.raiseContinuityAlarm(lane, reason, lastSeq, message);
      return new TransportError('rejected', message, { retryable: true, status: 409 });
    };
    if (lastSeq > head.seq) {
      return alarm('upstream-ahead', `the upstream ${lane.name} holds events through seq ${lastSeq}, but this device has recorded only through ${head.seq}: its chain is not this device's`);
    }
    if (lastSeq < anchor.seq) {
      return alarm(
        'purged',
        `the upstream ${lane.name} needs events from seq ${lastSeq + 1}, but this device already purged them through seq ${anchor.seq}; events ${lastSeq + 1}..${anchor.seq} cannot be resent`,
      );
    }
    const ours = lastSeq === anchor.seq ? anchor.hash : lastSeq === 0 ? GENESIS_HASH : this.store.readAfter(lastSeq - 1, 1)[0]?.hash;
    if (lastHash === null && lastSeq !== 0) {
      // Without the hash nothing proves the upstream holds *these* events: never free rows on its word.
      return alarm('diverged', `the upstream ${lane.name} named seq ${lastSeq} as its last event without that event's hash`);
    }
    if (lastHash !== null && ours !== lastHash) {
      return alarm('diverged', `the upstream ${lane.name} holds a different event at seq ${lastSeq} than this device (hash ${lastHash.slice(0, 16)}…): the chains diverged`);
    }
    if (lane.transport.acknowledges) {
      const acked = this.ackedBy(lane);
      if (lastSeq >= acked) {
        // The upstream confirmed it holds these (same hash): an ack lost on the way.
        if (lastSeq > acked) this.recordAck(lane, lastSeq);
        lane.resendFrom = null;
      } else {
        lane.resendFrom = lastSeq;
      }
    } else {
      this.store.setCursor(lane.name, lastSeq);
    }
    this.changed();
    // One 409 is a lost ack or a restored upstream: resend at once. Another before any
    // progress (the upstream refusing the events after the position it names, or replicas
    // that disagree behind a load balancer) waits its backoff.
    if (++lane.resyncs > 1) {
      const why = lastSeq === after ? `keeps asking for seq ${lastSeq + 1} but refuses it` : `answered 409 ${lane.resyncs} times in a row without taking events (its chain ends at seq ${lastSeq}, it says)`;
      return new TransportError('rejected', `the upstream ${lane.name} ${why}`, { retryable: true, status: 409 });
    }
    return null;
  }

  private raiseContinuityAlarm(lane: Lane, reason: ContinuityAlarm['reason'], upstreamSeq: number, message: string): void {
    this.continuityAlarm = { lane: lane.name, reason, upstreamSeq, message, at: this.now() };
    // Once per reason until the lane makes progress again: the upstream repeats its 409 on every retry.
    if (lane.alarmsRecorded.has(reason)) return;
    lane.alarmsRecorded.add(reason);
    this.recordAlarm({
      action: 'audit.continuity_alarm',
      details: { reason, upstream: lane.name, upstreamSeq, anchorSeq: this.store.anchor().seq, headSeq: this.store.head().seq },
    });
  }

  private recordAlarm(input: Parameters<ForwardStore['record']>[0]): void {
    // The store reports its own write failures (audit.recording_stopped, status).
    const p = this.store.record(input).catch(() => undefined);
    this.recording.add(p);
    void p.finally(() => this.recording.delete(p));
  }

  private async failed(lane: Lane, err: TransportError): Promise<void> {
    lane.lastError = { kind: err.kind, message: err.message, ...(err.options.status === undefined ? {} : { status: err.options.status }), at: this.now() };
    const refused = err.options.refusedSeq;
    if (refused !== undefined) {
      // Never skipped: the event stays next in line, retried with backoff, alarmed and in status until the upstream takes it.
      this.raiseContinuityAlarm(lane, 'refused', refused, `the upstream ${lane.name} refuses event seq ${refused}, so nothing after it reaches that upstream; it is retried with backoff until accepted (${err.message})`);
    }
    if (err.kind === 'tls' && !lane.tlsAlarmRecorded) {
      lane.tlsAlarmRecorded = true;
      const code = (err.options.cause as { code?: unknown } | undefined)?.code;
      this.recordAlarm({ action: 'device.tls_failure', details: { upstream: lane.name, kind: err.kind, code: typeof code === 'string' ? code : null } });
    }
    const { initialMs, maxMs } = this.policy.backoff;
    const cap = Math.min(maxMs, initialMs * 2 ** Math.min(lane.failures, 30));
    lane.failures++;
    lane.backoffMs = Math.floor(this.random() * cap);
    lane.state = 'backoff';
    this.changed();
    if (this.stopping) return;
    if (lane.urgentDuringSend) {
      lane.urgentDuringSend = false;
      return;
    }
    await this.sleep(lane, lane.backoffMs, 'urgent');
  }
}

function toTransportError(err: unknown): TransportError {
  if (err instanceof TransportError) return err;
  return new TransportError('protocol', `the transport failed unexpectedly: ${err instanceof Error ? err.message : String(err)}`, { retryable: true, cause: err });
}

/** A failure of the local audit store (disk full, I/O): the lane backs off and retries. */
function storeError(err: unknown): TransportError {
  return new TransportError('store', `the local audit store could not be read or updated: ${err instanceof Error ? err.message : String(err)}`, { retryable: true, cause: err });
}
