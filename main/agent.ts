// The Agent: composes the audit buffer, policy, session controller, forwarder and buffer
// monitor behind ports. No Electron here: main/index.ts wires Electron adapters in, and
// main/headless.ts runs the same Agent under plain Node.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { openAuditBuffer } from './audit/open-buffer';
import { SpoolingRecorder, type SpoolStatus } from './audit/spooling-recorder';
import type { AuditStore, AuditStoreStats } from './audit/store';
import { DisposableStore, toDisposable, type Disposable } from './disposable';
import { BufferMonitor, type BufferStatus } from './forward/buffer-monitor';
import { FhirTransport } from './forward/fhir-transport';
import { Forwarder, type ForwarderStatus } from './forward/forwarder';
import { HttpsTransport } from './forward/https-transport';
import { SyslogTlsTransport } from './forward/syslog-tls-transport';
import { unacknowledgedRetention } from './forward/syslog-policy';
import { loadTlsCredentials } from './forward/tls-credentials';
import type { Transport } from './forward/transport';
import type { AgentPolicy } from './policy/schema';
import { defaultPolicySources, policyCachePath } from './policy/default-sources';
import { PolicyCache } from './policy/policy-cache';
import { PolicyLoader, type PolicySnapshot } from './policy/policy-loader';
import type { PolicyStatus } from './policy/policy-status';
import type { PolicySource } from './policy/sources';
import { systemClock, type Clock } from './platform/clock';
import type { KeyStore } from './platform/keystore';
import { applyLoggingPolicy, type Logger } from './platform/logger';
import type { AgentPaths } from './platform/paths';
import { SessionController, type SessionStatusUpdate } from './session/controller';
import type { SessionEvent } from './session/events';
import type { IdleSource, LockPresenter, OsSession } from './session/ports';
import { deadlines } from './session/engine';
import { emergencyOf, ownerOf, type SessionState } from './session/state';
import { summariseCredentials, type CertificateSummary } from './status/certificates';
import type { EnrolView, LockView, Sequenced } from '../preload/contract';
import { CredentialChecker } from './auth/credential-checker';
import { DirectoryAdmin } from './auth/directory-admin';
import { DirectoryKeyError, loadDirectoryKeys, type DirectoryKeys } from './auth/directory-key';
import { Enrollment } from './auth/enrollment';
import { DirectoryClient } from './auth/directory-client';
import { DirectorySync, type DirectorySyncStatus } from './auth/directory-sync';
import { LocalDirectory } from './auth/local-directory';
import { LockScreen } from './auth/lock-screen';
import { FailureLedger } from './auth/lockout';
import { resolveUserVerification, rpIdOf, type ResolvedUserVerification } from './auth/policy';
import { WebAuthnService } from './auth/webauthn';

export interface AgentSessionPorts {
  readonly idle: IdleSource;
  /** The lock windows (Electron) — the agent's lock screen drives them and renders views for them. */
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
  /** The OS whose WebAuthn rules apply (tests); defaults to this one. */
  readonly platform?: NodeJS.Platform;
  /** Where policy comes from, highest precedence first; defaults to this OS's sources (default-sources.ts). */
  readonly policySources?: readonly PolicySource[];
  /** How often policy sources that cannot be watched (registry, managed preferences) are read again. */
  readonly policyPollMs?: number;
  /**
   * How long a sign-in waits for the collector's answer (the organisation-wide failure
   * count, the FIDO2 counter) before deciding on what this workstation knows; 1.5 s.
   */
  readonly directoryAnswerMs?: number;
  /**
   * When the upstreams a policy names cannot be started (a certificate or key unreadable),
   * the first retry comes after this long, then twice as long each time up to 5 minutes; 5 s.
   */
  readonly upstreamRetryMs?: number;
}

export interface AuthStatus {
  readonly directoryVersion: number;
  readonly enrolledUsers: number;
  /** Which organisation key the badge tokens use (a fingerprint), or why there is none. */
  readonly directoryKey: { readonly ok: true; readonly keyId: string } | { readonly ok: false; readonly problem: string };
  readonly origin: string;
  readonly rpId: string;
  readonly userVerification: ResolvedUserVerification;
  readonly directory: DirectorySyncStatus;
  readonly emergency: { readonly user: string; readonly expiresAt: string; readonly reason: string } | null;
}

export interface UpstreamProblem {
  readonly message: string;
  readonly since: string;
  readonly retryAt: string;
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
  /** Where the policy in force comes from, its hash, every rejection, and the per-setting effective view. */
  readonly policy: PolicyStatus;
  readonly session: {
    readonly phase: string;
    readonly owner: string | null;
    /** Seconds since the last input the session engine knows of, and until the idle lock (null when locked). */
    readonly idleSeconds: number;
    readonly lockInSeconds: number | null;
  } | null;
  /** The TLS certificates in use, with days left. */
  readonly certificates: readonly CertificateSummary[];
  readonly audit: AuditStoreStats & { readonly journalMode: string; readonly synchronous: number; readonly spool: SpoolStatus };
  /** Null when no upstream is configured in policy. */
  readonly forwarding: ForwarderStatus | null;
  /** A new policy is in force and the upstreams are being restarted on it: `forwarding` is still the old one's. */
  readonly upstreamsRestarting: boolean;
  /**
   * The upstreams the policy in force names could not be started (their certificates or
   * keys cannot be read): why, since when, and when the agent tries again. Until then the
   * upstreams started before keep running (`forwarding`), or none runs.
   */
  readonly upstreamProblem: UpstreamProblem | null;
  /** When the running upstreams (forwarding, the shared directory) were started on the policy; null before the first start. */
  readonly upstreamsStartedAt: string | null;
  readonly buffer: BufferStatus;
  readonly auth: AuthStatus;
  readonly lastErrors: readonly AgentError[];
}

const MAX_ERRORS = 20;
/** The longest wait between tries to start upstreams whose credentials could not be read. */
const UPSTREAM_RETRY_MAX_MS = 300_000;

export class Agent {
  private readonly disposables = new DisposableStore();
  private forwarder: Forwarder | null = null;
  private bufferMonitor: BufferMonitor | null = null;
  private session: SessionController | null = null;
  private localDirectory!: LocalDirectory;
  /** The directory sign-in uses: the local copy, following the collector's when one is configured. */
  private directory!: DirectorySync;
  private directoryKeys: DirectoryKeys | null = null;
  private directoryKeyProblem: string | null = null;
  private directoryInfo = { version: 0, users: 0 };
  private checker!: CredentialChecker;
  private ledger!: FailureLedger;
  /** The lock page's flow; null in headless mode (no session enforcement). */
  lockScreen: LockScreen | null = null;
  enrollment: Enrollment | null = null;
  private readonly lockViewListeners = new Set<(view: Sequenced<LockView>) => void>();
  private readonly enrolViewListeners = new Set<(view: Sequenced<EnrolView>) => void>();
  private readonly errors: AgentError[] = [];
  private certificates: CertificateSummary[] = [];
  private readonly startedAt: string;
  private reconfiguring: Promise<void> = Promise.resolve();
  /** Policy changes whose upstream restart has not finished. */
  private pendingReconfigurations = 0;
  private upstreamProblem: UpstreamProblem | null = null;
  private upstreamRetry: NodeJS.Timeout | null = null;
  /** Retries since the upstreams last started (or the policy changed): the next delay doubles. */
  private upstreamRetries = 0;
  /** The policy the running upstreams were built from (its upstream sections), and when. */
  private upstreamsBuilt: { readonly key: string; readonly at: string } | null = null;
  private stopping: Promise<void> | null = null;
  /** Policy changes before boot() finished are applied by boot() itself. */
  private booted = false;

  private constructor(
    private readonly opts: AgentOptions,
    readonly store: AuditStore,
    private readonly recorder: SpoolingRecorder,
    private readonly policyLoader: PolicyLoader,
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
    const policyLoader = new PolicyLoader({
      sources: opts.policySources ?? defaultPolicySources(opts.paths),
      cache: new PolicyCache(policyCachePath(opts.paths)),
      recorder,
      pollMs: opts.policyPollMs,
      now: () => (opts.clock ?? systemClock).wallMs(),
      onChange: (snap) => agent?.applyPolicy(snap),
      onRejected: (snap) => agent?.noteError('policy', `policy not applied as written: ${snap.errors.join('; ')}`),
      onError: (err) => agent?.noteError('policy', err.message),
    });
    agent = new Agent(opts, store, recorder, policyLoader);
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
    const snapshot = await this.policyLoader.load();
    this.policyLoader.watch();
    this.disposables.add(this.policyLoader);
    // Rejections at start were reported through onRejected already.
    await this.startAuth();
    if (this.opts.session) {
      const clock = this.opts.clock ?? systemClock;
      const policy = () => this.policyLoader.current.policy;
      const onError = (area: string, message: string) => this.noteError(area, message);
      const lockScreen = new LockScreen({
        windows: this.opts.session.presenter,
        checker: this.checker,
        policy,
        clock,
        onView: (view) => emit(this.lockViewListeners, view),
        onError,
      });
      this.lockScreen = this.disposables.add(lockScreen);
      lockScreen.setDirectoryEmpty(this.directoryInfo.users === 0);
      this.enrollment = this.disposables.add(
        new Enrollment({
          checker: this.checker,
          directory: this.directory,
          keys: () => this.keys(),
          recorder: this.recorder,
          policy,
          clock,
          onView: (view) => emit(this.enrolViewListeners, view),
          onDirectoryChanged: () => void this.refreshDirectoryInfo(),
          onError,
        }),
      );
      this.session = new SessionController({
        policy: snapshot.policy.session,
        idle: this.opts.session.idle,
        clock,
        presenter: lockScreen,
        os: this.opts.session.os,
        audit: this.recorder,
        onStatus: (u) => this.onSessionStatus(u),
      });
      lockScreen.attach(this.session);
      this.disposables.add(this.session);
      await this.session.start();
    }
    await this.configureUpstreams(snapshot.policy);
    const purgeEvery = this.opts.purgeIntervalMs ?? 3600_000;
    const purge = setInterval(() => this.purge(), purgeEvery);
    this.disposables.add(toDisposable(() => clearInterval(purge)));
    // agentctl may change the directory from outside the agent: pick that up.
    const directory = setInterval(() => void this.refreshDirectoryInfo().catch((err: Error) => this.noteError('directory', err.message)), 15_000);
    this.disposables.add(toDisposable(() => clearInterval(directory)));
    this.purge();
    this.booted = true;
    // A change that landed while booting was ignored above: apply it now.
    if (this.policyLoader.current.policy !== snapshot.policy) this.applyPolicy(this.policyLoader.current);
    logger.info(`agent ${this.opts.version} started: device ${this.store.deviceMeta().device}, policy from ${snapshot.source}, audit buffer ${this.opts.paths.auditDb}`);
  }

  /** The directory, the organisation key and the checks behind every sign-in. */
  private async startAuth(): Promise<void> {
    const clock = this.opts.clock ?? systemClock;
    const db = this.store.sharedConnection();
    this.localDirectory = new LocalDirectory(db, clock);
    this.directory = this.disposables.add(
      new DirectorySync({
        local: this.localDirectory,
        keyStore: this.opts.keyStore,
        recorder: this.recorder,
        clock,
        ...(this.opts.directoryAnswerMs === undefined ? {} : { upstreamTimeoutMs: this.opts.directoryAnswerMs }),
        sealedEvent: (seq) => this.store.sealedAt(seq),
        onKeys: (keys) => {
          this.directoryKeys = keys;
          this.directoryKeyProblem = null;
        },
        onChanged: () => void this.refreshDirectoryInfo().catch((err: Error) => this.noteError('directory', err.message)),
        onError: (message) => this.noteError('directory', message),
      }),
    );
    try {
      this.directoryKeys = await loadDirectoryKeys(this.opts.keyStore, { directoryEmpty: await this.localDirectory.isEmpty() });
    } catch (err) {
      if (!(err instanceof DirectoryKeyError)) throw err;
      // Fail closed for badges and PINs, but keep locking and auditing.
      this.directoryKeyProblem = err.message;
      this.noteError('directory', err.message);
    }
    const policy = () => this.policyLoader.current.policy;
    this.checker = new CredentialChecker({
      directory: this.directory,
      keys: () => this.keys(),
      ledger: (this.ledger = new FailureLedger(db, () => policy().auth.pin, clock)),
      webauthn: new WebAuthnService({ policy: () => policy().auth, clock, platform: this.opts.platform }),
      recorder: this.recorder,
      clock,
      upstream: this.directory,
    });
    await this.refreshDirectoryInfo();
  }

  /**
   * Follows the collector named by forwarding.https (the same mutual TLS), unless policy says
   * off. Returns why it cannot be followed, or null; the one followed until now then stays followed.
   */
  private async configureDirectorySync(policy: AgentPolicy): Promise<string | null> {
    const https = policy.forwarding.https;
    if (!https || policy.auth.directorySync === 'off') {
      await this.directory.connect(null, null);
      return null;
    }
    let client: DirectoryClient;
    try {
      const creds = await loadTlsCredentials(https, this.opts.keyStore);
      client = new DirectoryClient({ url: https.url, ...creds, servername: https.servername, signer: this.store.requestSigner() });
    } catch (err) {
      const problem = `the shared directory is not followed: ${(err as Error).message}`;
      this.noteError('directory', problem);
      return problem;
    }
    await this.directory.connect(client, this.directoryKeys?.keyId ?? null);
    await this.refreshDirectoryInfo();
    return null;
  }

  /** Directory administration in this process (agentctl runs its own against the database). */
  directoryAdmin(via: string): DirectoryAdmin {
    return new DirectoryAdmin({
      directory: this.directory,
      keys: () => this.keys(),
      recorder: this.recorder,
      ledger: this.ledger,
      pinPolicy: () => this.policy().auth.pin,
      via,
    });
  }

  /** The directory changed outside the lock screen (administration): refresh what status and the page show. */
  directoryChanged(): Promise<void> {
    return this.refreshDirectoryInfo();
  }

  /** Whether this workstation follows the collector's directory (then IT enrols with collector-admin, not agentctl). */
  directorySynced(): boolean {
    return this.directory.status(0).mode === 'synced';
  }

  private keys(): DirectoryKeys {
    if (this.directoryKeys) return this.directoryKeys;
    throw new DirectoryKeyError('missing', this.directoryKeyProblem ?? 'the organisation directory key is not loaded');
  }

  private async refreshDirectoryInfo(): Promise<void> {
    this.directoryInfo = { version: await this.directory.version(), users: await this.directory.count() };
    this.lockScreen?.setDirectoryEmpty(this.directoryInfo.users === 0);
    // A revocation reaches the owner's open (or locked) session too: it ends now, not at their next tap.
    const owner = this.session ? ownerOf(this.session.state.phase) : null;
    if (owner !== null) {
      const user = await this.directory.get(owner);
      if (!user || user.state !== 'active') await this.session?.dispatch({ type: 'access-revoked', user: owner });
    }
  }

  /** Lock views for every lock window (Electron) or the browser harness. */
  onLockView(listener: (view: Sequenced<LockView>) => void): Disposable {
    this.lockViewListeners.add(listener);
    return toDisposable(() => this.lockViewListeners.delete(listener));
  }

  onEnrolView(listener: (view: Sequenced<EnrolView>) => void): Disposable {
    this.enrolViewListeners.add(listener);
    return toDisposable(() => this.enrolViewListeners.delete(listener));
  }

  /** The policy in force (the last valid one). */
  policy(): AgentPolicy {
    return this.policyLoader.current.policy;
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
    // Before the boot guard: the first load (during boot) sets the log level and caps too.
    applyLoggingPolicy(this.opts.logger, snap.policy.logging);
    if (!this.booted || this.stopping) return;
    this.opts.logger.info(`policy in force from ${snap.source} (${snap.hash ?? 'defaults'})`);
    void this.session?.updatePolicy(snap.policy.session);
    // A change that leaves the upstream settings as they are (a lock timeout, a log level)
    // keeps the connections: no reconnect of every workstation's stream for it.
    if (this.upstreamProblem === null && this.pendingReconfigurations === 0 && this.upstreamsBuilt?.key === upstreamSettings(snap.policy)) return;
    this.upstreamRetries = 0;
    this.restartUpstreams(snap.policy);
  }

  /** Restarts forwarding and the shared directory on `policy`, after any restart under way. */
  private restartUpstreams(policy: AgentPolicy): void {
    if (this.upstreamRetry) clearTimeout(this.upstreamRetry);
    this.upstreamRetry = null;
    this.pendingReconfigurations++;
    this.reconfiguring = this.reconfiguring
      .then(() => this.configureUpstreams(policy))
      .catch((err: unknown) => this.noteError('forwarding', (err as Error).message))
      .finally(() => this.pendingReconfigurations--);
  }

  /**
   * Forwarding and the shared directory on `policy`. When their credentials cannot be read
   * (a certificate being renewed, a key not yet in the keychain), what ran before keeps
   * running, status and the tray say why, and the agent tries again with backoff.
   */
  private async configureUpstreams(policy: AgentPolicy): Promise<void> {
    const forwarding = await this.configureForwarding(policy);
    const directory = await this.configureDirectorySync(policy);
    const problem = forwarding ?? directory;
    if (problem === null) {
      this.upstreamProblem = null;
      this.upstreamRetries = 0;
      this.upstreamsBuilt = { key: upstreamSettings(policy), at: new Date((this.opts.clock ?? systemClock).wallMs()).toISOString() };
      return;
    }
    if (this.stopping) return;
    const first = this.opts.upstreamRetryMs ?? 5_000;
    const delay = Math.min(UPSTREAM_RETRY_MAX_MS, first * 2 ** Math.min(this.upstreamRetries++, 16));
    const now = (this.opts.clock ?? systemClock).wallMs();
    this.upstreamProblem = { message: problem, since: this.upstreamProblem?.since ?? new Date(now).toISOString(), retryAt: new Date(now + delay).toISOString() };
    this.upstreamRetry = setTimeout(() => {
      this.upstreamRetry = null;
      if (!this.stopping) this.restartUpstreams(this.policyLoader.current.policy);
    }, delay);
    this.upstreamRetry.unref();
  }

  /** The upstreams policy names; on a failure, any already built are closed and the error thrown. */
  private async buildTransports(policy: AgentPolicy): Promise<Transport[]> {
    const transports: Transport[] = [];
    const certificates: CertificateSummary[] = [];
    const meta = this.store.deviceMeta();
    try {
      const https = policy.forwarding.https;
      if (https) {
        const creds = await loadTlsCredentials(https, this.opts.keyStore);
        certificates.push(...summariseCredentials('https', creds));
        transports.push(new HttpsTransport({ url: https.url, ...creds, servername: https.servername, requestTimeoutMs: https.requestTimeoutMs, device: meta.device, keyId: meta.keyId }));
      }
      const syslog = policy.syslog;
      if (syslog) {
        const creds = await loadTlsCredentials(syslog, this.opts.keyStore);
        certificates.push(...summariseCredentials('syslog', creds));
        transports.push(SyslogTlsTransport.fromPolicy(syslog, creds, { hostname: hostname(), processId: process.pid }));
      }
      const fhir = policy.fhir;
      if (fhir) {
        const creds = await loadTlsCredentials(fhir, this.opts.keyStore);
        certificates.push(...summariseCredentials('fhir', creds));
        transports.push(FhirTransport.fromPolicy(fhir, creds, { hostname: hostname(), processId: process.pid }));
      }
    } catch (err) {
      await Promise.all(transports.map((t) => t.close().catch(() => undefined)));
      throw err;
    } finally {
      this.certificates = certificates;
    }
    return transports;
  }

  /** Returns why the upstreams named cannot be started, or null; the forwarder running until now then keeps running. */
  private async configureForwarding(policy: AgentPolicy): Promise<string | null> {
    this.watchBuffer(policy);
    // The new upstreams are built before the old forwarder stops, and the old one stays in
    // the status until it is replaced: status never says "none configured" mid-change.
    let transports: Transport[];
    try {
      transports = await this.buildTransports(policy);
    } catch (err) {
      const problem = (err as Error).message;
      this.noteError('forwarding', `upstreams not started: ${problem}`);
      return problem;
    }
    if (this.forwarder) await this.forwarder.stop();
    this.forwarder = null;
    if (transports.length === 0) {
      this.opts.logger.info('no upstream configured in policy: events stay in the local buffer');
      return null;
    }
    this.forwarder = new Forwarder({
      store: this.store,
      transports,
      policy: policy.forwarding,
      clock: this.opts.clock,
      unacknowledgedRetention: policy.syslog && !policy.forwarding.https && !policy.fhir ? unacknowledgedRetention(policy.syslog) : 'keep',
    });
    this.forwarder.start();
    return null;
  }

  /** The buffer's budget and alarms on `policy`; a threshold already alarmed is not alarmed again. */
  private watchBuffer(policy: AgentPolicy): void {
    const alarmed = this.bufferMonitor?.status().alarmPercent ?? null;
    this.bufferMonitor?.stop();
    this.bufferMonitor = new BufferMonitor({ store: this.store, policy: policy.forwarding.buffer, clock: this.opts.clock, alreadyAlarmed: alarmed });
    this.bufferMonitor.start();
  }

  private purge(): void {
    const days = this.policyLoader.current.policy.forwarding.retention.days;
    try {
      const n = this.store.purge({ retentionMs: days * 86_400_000 });
      if (n > 0) this.opts.logger.info(`retention: removed ${n} acknowledged events older than ${days} days`);
    } catch (err) {
      this.noteError('retention', (err as Error).message);
    }
  }

  status(): AgentStatus {
    const meta = this.store.deviceMeta();
    const { policy: inForce, ...policyStatus } = this.policyLoader.current;
    const durability = this.store.durability();
    const phase = this.session?.state.phase;
    const policy = inForce.auth;
    const em = phase ? emergencyOf(phase) : null;
    const clock = this.opts.clock ?? systemClock;
    return {
      version: this.opts.version,
      deviceId: meta.device,
      keyId: meta.keyId,
      startedAt: this.startedAt,
      policy: policyStatus,
      session: phase && this.session ? sessionTimes(this.session.state, clock.monotonicMs()) : null,
      certificates: this.certificates,
      audit: { ...this.store.stats(), journalMode: durability.journalMode, synchronous: durability.synchronous, spool: this.recorder.status() },
      forwarding: this.forwarder?.status() ?? null,
      upstreamsRestarting: this.pendingReconfigurations > 0,
      upstreamProblem: this.upstreamProblem,
      upstreamsStartedAt: this.upstreamsBuilt?.at ?? null,
      buffer: this.bufferMonitor?.status() ?? { bytes: 0, budgetBytes: 0, percent: 0, alarmPercent: null },
      auth: {
        directoryVersion: this.directoryInfo.version,
        enrolledUsers: this.directoryInfo.users,
        directoryKey: this.directoryKeys ? { ok: true, keyId: this.directoryKeys.keyId } : { ok: false, problem: this.directoryKeyProblem ?? 'not loaded' },
        origin: policy.origin,
        rpId: rpIdOf(policy),
        userVerification: resolveUserVerification(policy, this.opts.platform ?? process.platform),
        directory: this.directory.status(this.directoryInfo.version),
        emergency: em ? { user: em.user, reason: em.reason, expiresAt: new Date(clock.wallMs() + Math.max(0, em.expiresAt - clock.monotonicMs())).toISOString() } : null,
      },
      lastErrors: [...this.errors],
    };
  }

  /** Records the stop, stops forwarding and the session, and closes the buffer. Idempotent. */
  stop(reason = 'agent stop'): Promise<void> {
    this.stopping ??= (async () => {
      // No policy reload may start a new forwarder while stopping.
      this.policyLoader.dispose();
      if (this.upstreamRetry) clearTimeout(this.upstreamRetry);
      await this.reconfiguring.catch(() => undefined);
      await this.session?.flush().catch(() => undefined);
      // Nothing new from the session, the pages, the timers or the directory stream from
      // here on (what is already queued still finishes): the trail ends with the stop.
      this.disposables.dispose();
      await this.session?.flush().catch(() => undefined);
      await this.recorder.drain();
      await this.store.record({ action: 'audit.recording_stopped', details: { reason } }).catch((err: Error) => this.noteError('audit', err.message));
      await this.store.record({ action: 'agent.stop', details: { reason } }).catch((err: Error) => this.noteError('audit', err.message));
      this.recorder.dispose();
      // A send in flight is cut short (an OS shutdown does not wait a request timeout): its
      // events stay unacknowledged and go again at the next start; upstreams dedupe them.
      if (this.forwarder) await this.forwarder.stop({ abortInFlight: true });
      this.bufferMonitor?.stop();
      await this.store.close();
    })();
    return this.stopping;
  }
}

/** The policy sections forwarding and the shared directory are built from. */
function upstreamSettings(policy: AgentPolicy): string {
  return JSON.stringify([policy.forwarding, policy.syslog ?? null, policy.fhir ?? null, policy.auth.directorySync]);
}

function sessionTimes(state: SessionState, now: number): NonNullable<AgentStatus['session']> {
  const phase = state.phase;
  const lockAt = deadlines(state).lock;
  return {
    phase: phase.kind,
    owner: ownerOf(phase),
    idleSeconds: Math.max(0, Math.round((now - state.lastInputAt) / 1000)),
    lockInSeconds: lockAt === undefined ? null : Math.max(0, Math.ceil((lockAt - now) / 1000)),
  };
}

function emit<V>(listeners: ReadonlySet<(view: V) => void>, view: V): void {
  for (const l of listeners) l(view);
}

/** The agent's version, from the package.json shipped beside the compiled code. */
export function readAgentVersion(): string {
  return (JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as { version: string }).version;
}
