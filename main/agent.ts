// The Agent: composes the audit buffer, policy, session controller, forwarder and buffer
// monitor behind ports. No Electron here: main/index.ts wires Electron adapters in, and
// main/headless.ts runs the same Agent under plain Node.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { openAuditBuffer } from './audit/open-buffer';
import { SpoolingRecorder, type SpoolStatus } from './audit/spooling-recorder';
import type { AuditStore, AuditStoreStats } from './audit/store';
import { DisposableStore, toDisposable } from './disposable';
import { BufferMonitor, type BufferStatus } from './forward/buffer-monitor';
import { Forwarder, type ForwarderStatus } from './forward/forwarder';
import { HttpsTransport } from './forward/https-transport';
import { SyslogTlsTransport } from './forward/syslog-tls-transport';
import { unacknowledgedRetention } from './forward/syslog-policy';
import { loadTlsCredentials } from './forward/tls-credentials';
import type { Transport } from './forward/transport';
import type { AgentPolicy } from './policy/schema';
import { PolicyFile, type PolicySnapshot } from './policy/policy-file';
import { systemClock, type Clock } from './platform/clock';
import type { KeyStore } from './platform/keystore';
import type { Logger } from './platform/logger';
import type { AgentPaths } from './platform/paths';
import { SessionController, type SessionStatusUpdate } from './session/controller';
import type { SessionEvent } from './session/events';
import type { IdleSource, LockPresenter, OsSession } from './session/ports';
import { ownerOf } from './session/state';

export interface AgentSessionPorts {
  readonly idle: IdleSource;
  readonly presenter: LockPresenter;
  readonly os: OsSession;
}

export interface AgentOptions {
  readonly version: string;
  readonly paths: AgentPaths;
  readonly keyStore: KeyStore;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Raw machine id override (tests); defaults to the OS machine id. */
  readonly machineId?: string;
  /** Session enforcement (lock, logoff). Absent in headless mode. */
  readonly session?: AgentSessionPorts;
  /** How often acknowledged rows past retention are purged. */
  readonly purgeIntervalMs?: number;
}

export interface AgentError {
  readonly at: string;
  readonly area: string;
  readonly message: string;
}

export interface AgentStatus {
  readonly version: string;
  readonly deviceId: string;
  readonly keyId: string;
  readonly startedAt: string;
  readonly policy: { readonly source: string; readonly hash: string | null; readonly errors: readonly string[] };
  readonly session: { readonly phase: string; readonly owner: string | null } | null;
  readonly audit: AuditStoreStats & { readonly journalMode: string; readonly synchronous: number; readonly spool: SpoolStatus };
  /** Null when no upstream is configured in policy. */
  readonly forwarding: ForwarderStatus | null;
  readonly buffer: BufferStatus;
  readonly lastErrors: readonly AgentError[];
}

const MAX_ERRORS = 20;

export class Agent {
  private readonly disposables = new DisposableStore();
  private forwarder: Forwarder | null = null;
  private bufferMonitor: BufferMonitor | null = null;
  private session: SessionController | null = null;
  private readonly errors: AgentError[] = [];
  private readonly startedAt: string;
  private reconfiguring: Promise<void> = Promise.resolve();
  private stopping: Promise<void> | null = null;
  /** Policy changes before boot() finished are applied by boot() itself. */
  private booted = false;

  private constructor(
    private readonly opts: AgentOptions,
    readonly store: AuditStore,
    private readonly recorder: SpoolingRecorder,
    private readonly policyFile: PolicyFile,
  ) {
    this.startedAt = new Date((opts.clock ?? systemClock).wallMs()).toISOString();
  }

  /** Opens the audit buffer (failing closed), loads policy, starts session and forwarding. */
  static async start(opts: AgentOptions): Promise<Agent> {
    const store = await openAuditBuffer({ path: opts.paths.auditDb, keyStore: opts.keyStore, clock: opts.clock, machineId: opts.machineId });
    let agent: Agent | null = null;
    // Every service records through the spool: a full disk delays events, it does not lose them.
    const recorder = new SpoolingRecorder(store, {
      clock: opts.clock,
      onChange: (s) => {
        if (s.failing) agent?.noteError('audit', `audit writes are failing; ${s.queued} events wait in memory: ${s.lastError ?? ''}`);
        else opts.logger.info('audit writes resumed; spooled events written');
      },
    });
    const policyFile = new PolicyFile({
      path: opts.paths.policyFile,
      recorder,
      onChange: (snap) => agent?.applyPolicy(snap),
      onRejected: (snap) => agent?.noteError('policy', `policy file rejected; the previous policy stays in force: ${snap.errors.join('; ')}`),
      onError: (err) => agent?.noteError('audit', err.message),
    });
    agent = new Agent(opts, store, recorder, policyFile);
    try {
      await agent.boot();
    } catch (err) {
      await agent.stop('start failed').catch(() => undefined);
      throw err;
    }
    return agent;
  }

  private async boot(): Promise<void> {
    const { logger } = this.opts;
    await this.recorder.record({
      action: 'agent.start',
      details: { version: this.opts.version, platform: process.platform, host: hostname(), mode: this.opts.session ? 'session' : 'headless' },
    });
    await this.recorder.record({ action: 'audit.recording_started', details: { reason: 'agent start' } });
    const snapshot = await this.policyFile.load();
    this.policyFile.watch();
    this.disposables.add(this.policyFile);
    if (snapshot.errors.length > 0) this.noteError('policy', `policy file rejected at start; using ${snapshot.source}: ${snapshot.errors.join('; ')}`);
    if (this.opts.session) {
      this.session = new SessionController({
        policy: snapshot.policy.session,
        idle: this.opts.session.idle,
        clock: this.opts.clock ?? systemClock,
        presenter: this.opts.session.presenter,
        os: this.opts.session.os,
        audit: this.recorder,
        onStatus: (u) => this.onSessionStatus(u),
      });
      this.disposables.add(this.session);
      await this.session.start();
    }
    await this.configureForwarding(snapshot.policy);
    const purgeEvery = this.opts.purgeIntervalMs ?? 3600_000;
    const purge = setInterval(() => this.purge(), purgeEvery);
    this.disposables.add(toDisposable(() => clearInterval(purge)));
    this.purge();
    this.booted = true;
    // A change that landed while booting was ignored above: apply it now.
    if (this.policyFile.current.hash !== snapshot.hash) this.applyPolicy(this.policyFile.current);
    logger.info(`agent ${this.opts.version} started: device ${this.store.deviceMeta().device}, policy from ${snapshot.source}, audit buffer ${this.opts.paths.auditDb}`);
  }

  /** Session events from the shell (tray lock, lock page) go through here. */
  dispatch(event: SessionEvent): Promise<void> {
    if (!this.session) return Promise.reject(new Error('this agent runs without session enforcement (headless)'));
    return this.session.dispatch(event);
  }

  /** Network came back or the machine resumed: retry upstreams now. */
  networkChanged(): void {
    this.forwarder?.nudge();
  }

  private onSessionStatus(u: SessionStatusUpdate): void {
    if (u.kind === 'error') this.noteError(`session/${u.area}`, u.message);
  }

  private noteError(area: string, message: string): void {
    const at = new Date((this.opts.clock ?? systemClock).wallMs()).toISOString();
    this.errors.push({ at, area, message });
    if (this.errors.length > MAX_ERRORS) this.errors.shift();
    this.opts.logger.warn(`${area}: ${message}`);
  }

  private applyPolicy(snap: PolicySnapshot): void {
    if (!this.booted || this.stopping) return;
    this.opts.logger.info(`policy in force from ${snap.source} (${snap.hash ?? 'defaults'})`);
    void this.session?.updatePolicy(snap.policy.session);
    this.reconfiguring = this.reconfiguring.then(() => this.configureForwarding(snap.policy)).catch((err: unknown) => this.noteError('forwarding', (err as Error).message));
  }

  private async buildTransports(policy: AgentPolicy): Promise<Transport[]> {
    const transports: Transport[] = [];
    const meta = this.store.deviceMeta();
    const https = policy.forwarding.https;
    if (https) {
      const creds = await loadTlsCredentials(https, this.opts.keyStore);
      transports.push(new HttpsTransport({ url: https.url, ...creds, servername: https.servername, requestTimeoutMs: https.requestTimeoutMs, device: meta.device, keyId: meta.keyId }));
    }
    const syslog = policy.syslog;
    if (syslog) {
      const creds = await loadTlsCredentials(syslog, this.opts.keyStore);
      transports.push(SyslogTlsTransport.fromPolicy(syslog, creds, { hostname: hostname(), processId: process.pid }));
    }
    return transports;
  }

  private async configureForwarding(policy: AgentPolicy): Promise<void> {
    if (this.forwarder) {
      await this.forwarder.stop();
      this.forwarder = null;
    }
    this.bufferMonitor?.stop();
    this.bufferMonitor = new BufferMonitor({ store: this.store, policy: policy.forwarding.buffer, clock: this.opts.clock });
    this.bufferMonitor.start();
    let transports: Transport[];
    try {
      transports = await this.buildTransports(policy);
    } catch (err) {
      this.noteError('forwarding', `upstreams not started: ${(err as Error).message}`);
      return;
    }
    if (transports.length === 0) {
      this.opts.logger.info('no upstream configured in policy: events stay in the local buffer');
      return;
    }
    this.forwarder = new Forwarder({
      store: this.store,
      transports,
      policy: policy.forwarding,
      clock: this.opts.clock,
      unacknowledgedRetention: policy.syslog && !policy.forwarding.https ? unacknowledgedRetention(policy.syslog) : 'keep',
    });
    this.forwarder.start();
  }

  private purge(): void {
    const days = this.policyFile.current.policy.forwarding.retention.days;
    try {
      const n = this.store.purge({ retentionMs: days * 86_400_000 });
      if (n > 0) this.opts.logger.info(`retention: removed ${n} acknowledged events older than ${days} days`);
    } catch (err) {
      this.noteError('retention', (err as Error).message);
    }
  }

  status(): AgentStatus {
    const meta = this.store.deviceMeta();
    const snap = this.policyFile.current;
    const durability = this.store.durability();
    const phase = this.session?.state.phase;
    return {
      version: this.opts.version,
      deviceId: meta.device,
      keyId: meta.keyId,
      startedAt: this.startedAt,
      policy: { source: snap.source, hash: snap.hash, errors: snap.errors },
      session: phase ? { phase: phase.kind, owner: ownerOf(phase) } : null,
      audit: { ...this.store.stats(), journalMode: durability.journalMode, synchronous: durability.synchronous, spool: this.recorder.status() },
      forwarding: this.forwarder?.status() ?? null,
      buffer: this.bufferMonitor?.status() ?? { bytes: 0, budgetBytes: 0, percent: 0, alarmPercent: null },
      lastErrors: [...this.errors],
    };
  }

  /** Records the stop, stops forwarding and the session, and closes the buffer. Idempotent. */
  stop(reason = 'agent stop'): Promise<void> {
    this.stopping ??= (async () => {
      // No policy reload may start a new forwarder while stopping.
      this.policyFile.dispose();
      await this.reconfiguring.catch(() => undefined);
      await this.session?.flush().catch(() => undefined);
      await this.recorder.drain();
      await this.store.record({ action: 'audit.recording_stopped', details: { reason } }).catch((err: Error) => this.noteError('audit', err.message));
      await this.store.record({ action: 'agent.stop', details: { reason } }).catch((err: Error) => this.noteError('audit', err.message));
      this.recorder.dispose();
      if (this.forwarder) await this.forwarder.stop();
      this.bufferMonitor?.stop();
      this.disposables.dispose();
      await this.store.close();
    })();
    return this.stopping;
  }
}

/** The agent's version, from the package.json shipped beside the compiled code. */
export function readAgentVersion(): string {
  return (JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as { version: string }).version;
}
