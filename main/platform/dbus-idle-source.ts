// The Linux IdleSource: idle time, screen lock and sleep read from D-Bus (Mutter's
// IdleMonitor, org.freedesktop.ScreenSaver, systemd-logind), where Electron's powerMonitor is blind.
import dbus, { type Message, type MessageBus, type MessageLike } from 'dbus-next';
import { z } from 'zod';
import { DisposableStore, toDisposable, type Disposable } from '../disposable';
import { WholeSecondIdleEstimate } from '../session/idle-estimate';
import type { IdleSource, PowerEvent } from '../session/ports';
import type { Clock } from './clock';

/** Where an idle reading comes from, best first. */
export type DbusIdleKind = 'mutter' | 'screensaver' | 'logind';

export interface DbusIdleSourceOptions {
  readonly clock: Clock;
  /** A connection to use instead of opening one; it is left open on dispose. */
  readonly sessionBus?: MessageBus;
  /** Default: $DBUS_SESSION_BUS_ADDRESS, else unix:path=$XDG_RUNTIME_DIR/bus. */
  readonly sessionBusAddress?: string;
  /** A connection to use instead of opening one; it is left open on dispose. */
  readonly systemBus?: MessageBus;
  /** Default: $DBUS_SYSTEM_BUS_ADDRESS, else unix:path=/var/run/dbus/system_bus_socket. */
  readonly systemBusAddress?: string;
  /** How often the idle source is read (default 500 ms); idleMs() answers from the last reading. */
  readonly pollMs?: number;
  /** How long one D-Bus call may take before it counts as failed (default 2000 ms). */
  readonly callTimeoutMs?: number;
  /** How often a bus that is down, or a better idle source than the one in use, is tried again (default 10 s). */
  readonly retryMs?: number;
  /** Lost sources and connections, in words for IT; reported once per outage, never thrown. */
  readonly onProblem?: (message: string) => void;
  /** Now on CLOCK_MONOTONIC in microseconds: the clock of logind's IdleSinceHintMonotonic. */
  readonly osMonotonicMicros?: () => bigint;
}

const IDLE_KINDS: readonly DbusIdleKind[] = ['mutter', 'screensaver', 'logind'];

const DESCRIBE: Readonly<Record<DbusIdleKind, string>> = {
  mutter: 'GNOME Mutter IdleMonitor (org.gnome.Mutter.IdleMonitor, session bus)',
  screensaver: 'org.freedesktop.ScreenSaver GetSessionIdleTime (session bus)',
  logind: 'systemd-logind IdleHint (org.freedesktop.login1, system bus)',
};

const MUTTER = { name: 'org.gnome.Mutter.IdleMonitor', path: '/org/gnome/Mutter/IdleMonitor/Core', iface: 'org.gnome.Mutter.IdleMonitor' };
const SCREENSAVER = { name: 'org.freedesktop.ScreenSaver', paths: ['/org/freedesktop/ScreenSaver', '/ScreenSaver'], iface: 'org.freedesktop.ScreenSaver' };
// GNOME Shell announces its shield on its own interface; KDE uses the freedesktop one.
const SCREENSAVER_SIGNALS = [
  { sender: 'org.freedesktop.ScreenSaver', iface: 'org.freedesktop.ScreenSaver' },
  { sender: 'org.gnome.ScreenSaver', iface: 'org.gnome.ScreenSaver' },
];
const LOGIN1 = { name: 'org.freedesktop.login1', path: '/org/freedesktop/login1', manager: 'org.freedesktop.login1.Manager', session: 'org.freedesktop.login1.Session' };
const PROPERTIES = 'org.freedesktop.DBus.Properties';

/** Connecting includes authentication and Hello: slow on a machine busy logging a user in. */
const CONNECT_TIMEOUT_MS = 5_000;
const BUS_ROLES: readonly BusRole[] = ['session', 'system'];

const BUS_HINT: Readonly<Record<BusRole, string>> = {
  session: "Start the agent inside the user's graphical session (desktop autostart, not a system service) so DBUS_SESSION_BUS_ADDRESS is set.",
  system: 'Check that the system D-Bus daemon is running (systemctl status dbus) or set DBUS_SYSTEM_BUS_ADDRESS.',
};

type BusRole = 'session' | 'system';

interface BusLink {
  readonly role: BusRole;
  readonly bus: MessageBus;
  /** Opened here, so closed here; an injected bus only loses our listeners and match rules. */
  readonly owned: boolean;
  readonly rules: string[];
  /** Why the connection is unusable, once it failed. */
  failed: string | null;
  /** Takes our listeners and rules off the bus, and closes it if owned. */
  readonly close: Disposable;
}

interface IdleReading {
  /** Idle milliseconds at `at`. */
  readonly idleMs: number;
  /** The injected clock's monotonic ms when the reply had arrived. */
  readonly at: number;
  /** Whether idle grows from `at` on; false while logind says the user is active. */
  readonly growing: boolean;
}

interface PendingCall {
  cancel(): void;
}

const variantOf = <T extends z.ZodType>(value: T) => z.object({ value });
const mutterReply = z.tuple([z.union([z.bigint(), z.number()]).transform(Number).pipe(z.number().nonnegative())]);
const screensaverReply = z.tuple([z.number().int().nonnegative()]);
const objectPathReply = z.tuple([z.string().startsWith('/')]);
const sessionIdleReply = z.tuple([
  z.object({ IdleHint: variantOf(z.boolean()), IdleSinceHintMonotonic: variantOf(z.union([z.bigint(), z.number()]).transform(BigInt)) }),
]);
const booleanVariantReply = z.tuple([variantOf(z.boolean())]);
const booleanBody = z.tuple([z.boolean()]);
const propertiesChangedBody = z.tuple([z.string(), z.record(z.string(), variantOf(z.unknown())), z.array(z.string())]);

/**
 * idleMs() is synchronous and D-Bus is not, so the chosen source is polled every `pollMs`
 * and idleMs() projects the last reading forward: idle = reading + (now - readAt).
 *
 * The bound: a reading is stamped when its reply has arrived, never earlier, so it never
 * runs ahead of the source. Input after a reading is only seen by the next one, so while
 * the source answers idleMs() over-reports by at most the time since the last reply: one
 * poll interval plus one round trip (capped by callTimeoutMs). A lock can fire that much
 * early, and only for a user who was idle for all but that last moment. When every source
 * stops answering, the last reading keeps growing (the session locks rather than stays
 * open) and onProblem says so. Before any reading, idleMs() is +Infinity, which the
 * session controller reads as "no evidence of input".
 */
export class DbusIdleSource implements IdleSource, Disposable {
  private readonly pollMs: number;
  private readonly callTimeoutMs: number;
  /** A better source or a lost bus may come after the agent: the desktop is still starting at login. */
  private readonly retryMs: number;
  private readonly osMonotonicMicros: () => bigint;
  private readonly disposables = new DisposableStore();
  private readonly listeners = new Set<(event: PowerEvent) => void>();
  private readonly pending = new Set<PendingCall>();
  private started = false;
  private readonly links: Record<BusRole, BusLink | null> = { session: null, system: null };
  private readonly lastLinkAttempt: Record<BusRole, number> = { session: Number.NEGATIVE_INFINITY, system: Number.NEGATIVE_INFINITY };
  /** A bus outage is reported when it starts, not at every retry. */
  private readonly linkDown: Record<BusRole, boolean> = { session: false, system: false };
  private kind: DbusIdleKind | null = null;
  private reading: IdleReading | null = null;
  private secondsEstimate = new WholeSecondIdleEstimate();
  private lastFullProbeAt = Number.NEGATIVE_INFINITY;
  private outage = false;
  private loginSession: Promise<string> | null = null;
  private loginSessionPath: string | null = null;
  /** The last screen state reported, so two sources announcing one lock make one event. */
  private screen: 'locked' | 'unlocked' | null = null;
  private pollTimer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: DbusIdleSourceOptions) {
    this.pollMs = opts.pollMs ?? 500;
    this.callTimeoutMs = opts.callTimeoutMs ?? 2000;
    this.retryMs = opts.retryMs ?? 10_000;
    this.osMonotonicMicros = opts.osMonotonicMicros ?? (() => process.hrtime.bigint() / 1000n);
    if (!(this.pollMs > 0) || !(this.callTimeoutMs > 0) || !(this.retryMs > 0)) {
      throw new RangeError(`DbusIdleSource: pollMs, callTimeoutMs and retryMs must be positive (got ${this.pollMs}, ${this.callTimeoutMs}, ${this.retryMs})`);
    }
    this.disposables.add(toDisposable(() => this.listeners.clear()));
    this.disposables.add(
      toDisposable(() => {
        if (this.pollTimer !== null) clearTimeout(this.pollTimer);
        this.pollTimer = null;
      }),
    );
    this.disposables.add(
      toDisposable(() => {
        for (const call of [...this.pending]) call.cancel();
      }),
    );
  }

  /** The source idleMs() currently reads, or null when none answers. */
  get source(): DbusIdleKind | null {
    return this.kind;
  }

  /**
   * Connects to both buses, subscribes to lock and sleep signals, takes the first idle
   * reading and starts polling. Resolves even when nothing answers: that is reported
   * through onProblem, and polling keeps looking (the desktop may start after the agent,
   * a bus may come back).
   */
  async start(): Promise<void> {
    if (this.started || this.disposed) throw new Error('DbusIdleSource.start(): already started or disposed; create a new DbusIdleSource');
    this.started = true;
    await Promise.all(BUS_ROLES.map((role) => this.relink(role)));
    if (this.disposed) return;
    await this.poll();
    this.schedulePoll();
  }

  idleMs(): number {
    const r = this.reading;
    if (r === null) return Number.POSITIVE_INFINITY;
    if (!r.growing) return r.idleMs;
    return r.idleMs + Math.max(0, this.opts.clock.monotonicMs() - r.at);
  }

  onPowerEvent(listener: (event: PowerEvent) => void): Disposable {
    this.listeners.add(listener);
    return toDisposable(() => this.listeners.delete(listener));
  }

  dispose(): void {
    this.disposables.dispose();
  }

  private get disposed(): boolean {
    return this.disposables.isDisposed;
  }

  // ---- connections ----

  /** (Re)connects one bus and subscribes to its signals. */
  private async relink(role: BusRole): Promise<void> {
    this.lastLinkAttempt[role] = this.opts.clock.monotonicMs();
    const link = await this.link(role);
    if (link === null || this.disposed) return;
    this.links[role] = link;
    this.linkDown[role] = false;
    if (role === 'session') await this.watchScreenSaver();
    else await this.watchLogind();
  }

  /** Retries, at most every retryMs, the buses that are down and a logind session not found yet. */
  private async relinkDue(): Promise<void> {
    const now = this.opts.clock.monotonicMs();
    const due = BUS_ROLES.filter((role) => now - this.lastLinkAttempt[role] >= this.retryMs);
    await Promise.all(
      due.map(async (role) => {
        if (this.links[role] === null) return this.relink(role);
        if (role !== 'system' || this.loginSessionPath !== null) return;
        this.lastLinkAttempt.system = now;
        // Its absence was reported when the bus connected; Lock/Unlock subscriptions come with it.
        await this.logindSession().catch(() => undefined);
      }),
    );
  }

  private linkFailed(link: BusLink, why: string): void {
    if (link.failed !== null) return;
    link.failed = why;
    if (this.links[link.role] === link) this.links[link.role] = null;
    if (link.role === 'system') {
      // The logind session and its subscriptions belong to the old connection.
      this.loginSession = null;
      this.loginSessionPath = null;
    }
    this.disposables.delete(link.close);
    this.busProblem(link.role, `The ${link.role} bus connection failed: ${why}. Until it is back, readings and events from it are missed; retrying every ${this.retryMs / 1000} s.`);
  }

  private busProblem(role: BusRole, message: string): void {
    if (this.linkDown[role]) return;
    this.linkDown[role] = true;
    this.problem(`${message} ${BUS_HINT[role]}`);
  }

  private async link(role: BusRole): Promise<BusLink | null> {
    const injected = role === 'session' ? this.opts.sessionBus : this.opts.systemBus;
    let bus: MessageBus;
    if (injected) {
      bus = injected;
    } else {
      const address = this.address(role);
      if (address === null) {
        this.busProblem(role, `No ${role} bus address: DBUS_SESSION_BUS_ADDRESS and XDG_RUNTIME_DIR are both unset.`);
        return null;
      }
      try {
        bus = await this.connect(address);
      } catch (err) {
        this.busProblem(role, `Cannot connect to the ${role} bus at ${address}: ${describeError(err)}. Retrying every ${this.retryMs / 1000} s.`);
        return null;
      }
      if (this.disposed) {
        bus.disconnect();
        return null;
      }
    }
    const owned = !injected;
    const rules: string[] = [];
    const onMessage = (msg: Message): void => {
      // dbus-next answers a throwing listener's message with an error reply: never throw here.
      try {
        this.onSignal(link, msg);
      } catch (err) {
        this.problem(`A ${role} bus signal could not be handled: ${describeError(err)}`);
      }
    };
    const close = toDisposable(() => {
      bus.removeListener('message', onMessage);
      if (owned) {
        bus.disconnect();
        return;
      }
      for (const rule of rules) {
        // Fire and forget: dispose is synchronous, and a bus that is gone has dropped the rule anyway.
        const remove = new dbus.Message({ ...busDaemonCall('RemoveMatch', rule), flags: dbus.MessageFlag.NO_REPLY_EXPECTED });
        bus.call(remove).catch(() => undefined);
      }
    });
    const link: BusLink = { role, bus, owned, rules, failed: null, close };
    bus.on('message', onMessage);
    if (owned) {
      bus.on('error', (err: unknown) => {
        if (!this.disposed) this.linkFailed(link, describeError(err));
      });
    }
    this.disposables.add(close);
    return link;
  }

  private address(role: BusRole): string | null {
    if (role === 'system') {
      return this.opts.systemBusAddress ?? process.env.DBUS_SYSTEM_BUS_ADDRESS ?? 'unix:path=/var/run/dbus/system_bus_socket';
    }
    const runtimeDir = process.env.XDG_RUNTIME_DIR;
    return this.opts.sessionBusAddress ?? process.env.DBUS_SESSION_BUS_ADDRESS ?? (runtimeDir ? `unix:path=${runtimeDir}/bus` : null);
  }

  /** Opens a connection and waits for the bus to accept it (dbus-next would queue calls forever). */
  private connect(address: string): Promise<MessageBus> {
    return new Promise((resolve, reject) => {
      let bus: MessageBus;
      try {
        // sessionBus() is dbus-next's "connect to this address"; systemBus() ignores addresses.
        bus = dbus.sessionBus({ busAddress: address });
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      // Never removed: a closing socket may still report, and an unheard 'error' event ends the process.
      bus.on('error', () => undefined);
      const settle = (err: unknown): void => {
        clearTimeout(timer);
        this.pending.delete(entry);
        bus.removeListener('connect', onConnect);
        bus.removeListener('error', settle);
        if (err === null) {
          resolve(bus);
          return;
        }
        bus.disconnect();
        reject(err instanceof Error ? err : new Error(String(err)));
      };
      const onConnect = (): void => settle(null);
      const entry: PendingCall = { cancel: () => settle(new Error('the idle source was disposed')) };
      const timer = setTimeout(() => settle(new Error(`no answer within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
      this.pending.add(entry);
      bus.on('connect', onConnect);
      bus.on('error', settle);
    });
  }

  /** One method call with a deadline; dbus-next alone never gives up on a missing reply. */
  private call(role: BusRole, fields: MessageLike): Promise<Message> {
    const link = this.links[role];
    if (link === null) return Promise.reject(new Error(`the ${role} bus is not connected`));
    if (link.failed !== null) return Promise.reject(new Error(`the ${role} bus connection failed (${link.failed})`));
    return new Promise((resolve, reject) => {
      let done = false;
      const settle = (err: Error | null, reply?: Message | null): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.pending.delete(entry);
        if (err !== null) reject(err);
        else if (reply) resolve(reply);
        else reject(new Error('the bus returned no reply'));
      };
      const entry: PendingCall = { cancel: () => settle(new Error('the idle source was disposed')) };
      const timer = setTimeout(() => settle(new Error(`no reply within ${this.callTimeoutMs} ms`)), this.callTimeoutMs);
      this.pending.add(entry);
      link.bus.call(new dbus.Message(fields)).then(
        (reply) => settle(null, reply),
        (err: unknown) => settle(err instanceof Error ? err : new Error(String(err))),
      );
      // Writing to a closed connection fails through the 'error' event, and its call never settles.
      if (link.failed !== null) settle(new Error(`the ${role} bus connection failed (${link.failed})`));
    });
  }

  private async addMatch(role: BusRole, rule: string, what: string): Promise<void> {
    const link = this.links[role];
    if (link === null) return; // its connection failure was reported already
    try {
      await this.call(role, busDaemonCall('AddMatch', rule));
      link.rules.push(rule);
    } catch (err) {
      this.problem(`Could not subscribe to ${what} on the ${role} bus: ${describeError(err)}. Those events will be missed.`);
    }
  }

  // ---- lock and sleep signals ----

  private async watchScreenSaver(): Promise<void> {
    await Promise.all(
      SCREENSAVER_SIGNALS.map(({ sender, iface }) =>
        this.addMatch('session', `type='signal',sender='${sender}',interface='${iface}',member='ActiveChanged'`, `${iface}.ActiveChanged`),
      ),
    );
  }

  private async watchLogind(): Promise<void> {
    if (this.links.system === null) return;
    const sleep = this.addMatch(
      'system',
      `type='signal',sender='${LOGIN1.name}',path='${LOGIN1.path}',interface='${LOGIN1.manager}',member='PrepareForSleep'`,
      'logind PrepareForSleep (suspend and resume)',
    );
    try {
      await this.logindSession();
    } catch (err) {
      this.problem(
        `No logind session found for the agent (${describeError(err)}): OS screen lock and unlock from logind will not be seen. ` +
          "Check that systemd-logind runs and the agent is started inside the user's login session.",
      );
    }
    await sleep;
  }

  /** The caller's logind session object, resolved once; its signals are subscribed on the way. */
  private logindSession(): Promise<string> {
    this.loginSession ??= this.resolveLogindSession().catch((err: unknown) => {
      this.loginSession = null; // try again on a later poll
      throw err;
    });
    return this.loginSession;
  }

  private async resolveLogindSession(): Promise<string> {
    const manager = { destination: LOGIN1.name, path: LOGIN1.path, interface: LOGIN1.manager };
    let reply: Message;
    try {
      // 'auto': the caller's session, or the user's graphical one when the caller is in none.
      reply = await this.call('system', { ...manager, member: 'GetSession', signature: 's', body: ['auto'] });
    } catch (first) {
      try {
        reply = await this.call('system', { ...manager, member: 'GetSessionByPID', signature: 'u', body: [process.pid] });
      } catch {
        throw first;
      }
    }
    const [path] = bodyOf(objectPathReply, reply, 'logind GetSession');
    // Known before subscribing, so no signal that arrives right after AddMatch is dropped.
    this.loginSessionPath = path;
    const subject = `type='signal',sender='${LOGIN1.name}',path='${path}'`;
    await Promise.all([
      this.addMatch('system', `${subject},interface='${LOGIN1.session}'`, 'logind session Lock and Unlock'),
      this.addMatch('system', `${subject},interface='${PROPERTIES}',member='PropertiesChanged',arg0='${LOGIN1.session}'`, 'logind LockedHint'),
    ]);
    // The screen's state now, so the first lock signal from another source is not a second event.
    await this.readLockedHint(path, false);
    return path;
  }

  private async readLockedHint(path: string, announce: boolean): Promise<void> {
    try {
      const reply = await this.call('system', {
        destination: LOGIN1.name,
        path,
        interface: PROPERTIES,
        member: 'Get',
        signature: 'ss',
        body: [LOGIN1.session, 'LockedHint'],
      });
      const [{ value }] = bodyOf(booleanVariantReply, reply, 'logind LockedHint');
      if (announce) this.noteScreen(value);
      else this.screen ??= value ? 'locked' : 'unlocked';
    } catch {
      // Not every logind has LockedHint (before systemd 230): Lock/Unlock still arrive.
    }
  }

  private onSignal(link: BusLink, msg: Message): void {
    // Real sources broadcast; a signal addressed to us alone is somebody else's.
    if (msg.type !== dbus.MessageType.SIGNAL || msg.destination) return;
    if (link.role === 'session') {
      if (msg.member === 'ActiveChanged' && SCREENSAVER_SIGNALS.some((s) => s.iface === msg.interface)) {
        const parsed = booleanBody.safeParse(msg.body);
        if (parsed.success) this.noteScreen(parsed.data[0]);
      }
      return;
    }
    if (msg.path === LOGIN1.path && msg.interface === LOGIN1.manager && msg.member === 'PrepareForSleep') {
      const parsed = booleanBody.safeParse(msg.body);
      if (parsed.success) this.emit(parsed.data[0] ? 'suspend' : 'resume');
      return;
    }
    const session = this.loginSessionPath;
    if (session === null || msg.path !== session) return;
    if (msg.interface === LOGIN1.session) {
      if (msg.member === 'Lock') this.noteScreen(true);
      else if (msg.member === 'Unlock') this.noteScreen(false);
      return;
    }
    if (msg.interface === PROPERTIES && msg.member === 'PropertiesChanged') {
      const parsed = propertiesChangedBody.safeParse(msg.body);
      if (!parsed.success || parsed.data[0] !== LOGIN1.session) return;
      const [, changed, invalidated] = parsed.data;
      const locked = changed.LockedHint?.value;
      if (typeof locked === 'boolean') this.noteScreen(locked);
      else if (invalidated.includes('LockedHint')) void this.readLockedHint(session, true);
    }
  }

  private noteScreen(locked: boolean): void {
    const next = locked ? 'locked' : 'unlocked';
    if (this.screen === next) return;
    this.screen = next;
    this.emit(locked ? 'lock-screen' : 'unlock-screen');
  }

  private emit(event: PowerEvent): void {
    if (this.disposed) return;
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (err) {
        this.problem(`A listener for the OS '${event}' event failed: ${describeError(err)}`);
      }
    }
  }

  // ---- idle polling ----

  private schedulePoll(): void {
    if (this.disposed) return;
    // A timeout chain, not an interval: a slow bus never stacks polls.
    this.pollTimer = setTimeout(() => {
      this.pollTimer = null;
      this.poll().then(
        () => this.schedulePoll(),
        (err: unknown) => {
          this.problem(`Reading idle time failed unexpectedly: ${describeError(err)}`);
          this.schedulePoll();
        },
      );
    }, this.pollMs);
  }

  private async poll(): Promise<void> {
    await this.relinkDue();
    if (this.disposed) return;
    const now = this.opts.clock.monotonicMs();
    const best = this.kind === null || (this.kind !== IDLE_KINDS[0] && now - this.lastFullProbeAt >= this.retryMs);
    if (best) this.lastFullProbeAt = now;
    const candidates = best || this.kind === null ? IDLE_KINDS : IDLE_KINDS.slice(IDLE_KINDS.indexOf(this.kind));
    const failures: string[] = [];
    for (const kind of candidates) {
      let reading: IdleReading;
      try {
        reading = await this.read(kind);
      } catch (err) {
        if (this.disposed) return;
        failures.push(`${DESCRIBE[kind]}: ${describeError(err)}`);
        continue;
      }
      if (this.disposed) return;
      this.accept(kind, reading, failures);
      return;
    }
    if (this.disposed) return;
    const last = this.reading;
    // The last good reading keeps growing: a silent source must not keep the session open.
    if (last !== null) this.reading = { ...last, growing: true };
    this.kind = null;
    if (this.outage) return;
    this.outage = true;
    this.problem(
      `No D-Bus idle source answered (${failures.join('; ')}). ` +
        (last !== null ? 'Idle time now grows from the last reading, so the session will lock on time. ' : 'Without an idle reading the session locks on its own deadlines. ') +
        "Check that the agent runs in the user's graphical session and that GNOME (Mutter), KDE (org.freedesktop.ScreenSaver) or systemd-logind is running.",
    );
  }

  private accept(kind: DbusIdleKind, reading: IdleReading, failures: readonly string[]): void {
    const previous = this.kind;
    if (previous !== null && IDLE_KINDS.indexOf(kind) > IDLE_KINDS.indexOf(previous)) {
      const why = failures.find((f) => f.startsWith(DESCRIBE[previous])) ?? DESCRIBE[previous];
      this.problem(`The idle source stopped answering (${why}); reading idle from ${DESCRIBE[kind]} instead.`);
    }
    this.kind = kind;
    this.reading = reading;
    this.outage = false;
  }

  private async read(kind: DbusIdleKind): Promise<IdleReading> {
    switch (kind) {
      case 'mutter': {
        const reply = await this.call('session', {
          destination: MUTTER.name,
          path: MUTTER.path,
          interface: MUTTER.iface,
          member: 'GetIdletime',
          // The running desktop's monitor or nothing: never have the bus start a service for us.
          flags: dbus.MessageFlag.NO_AUTO_START,
        });
        const [ms] = bodyOf(mutterReply, reply, 'Mutter GetIdletime');
        return { idleMs: ms, at: this.opts.clock.monotonicMs(), growing: true };
      }
      case 'screensaver': {
        const seconds = await this.readScreenSaverSeconds();
        const at = this.opts.clock.monotonicMs();
        if (this.kind !== 'screensaver') this.secondsEstimate = new WholeSecondIdleEstimate();
        return { idleMs: this.secondsEstimate.read(seconds, at), at, growing: true };
      }
      case 'logind': {
        const path = await this.logindSession();
        const reply = await this.call('system', {
          destination: LOGIN1.name,
          path,
          interface: PROPERTIES,
          member: 'GetAll',
          signature: 's',
          body: [LOGIN1.session],
        });
        // OS clock first, then ours: idle measured at nowUs can only be less than at `at`.
        const nowUs = this.osMonotonicMicros();
        const at = this.opts.clock.monotonicMs();
        const [props] = bodyOf(sessionIdleReply, reply, 'logind session properties');
        if (!props.IdleHint.value) return { idleMs: 0, at, growing: false };
        // IdleSinceHint is when the desktop declared idle (its own delay after the last
        // input), so this under-reports by that delay: coarse, but never early.
        const since = props.IdleSinceHintMonotonic.value;
        const idleMs = since > 0n && since <= nowUs ? Number(nowUs - since) / 1000 : 0;
        return { idleMs, at, growing: true };
      }
    }
  }

  private async readScreenSaverSeconds(): Promise<number> {
    let firstError: unknown = null;
    // KDE exports both paths; others only one of them.
    for (const path of SCREENSAVER.paths) {
      try {
        const reply = await this.call('session', {
          destination: SCREENSAVER.name,
          path,
          interface: SCREENSAVER.iface,
          member: 'GetSessionIdleTime',
          flags: dbus.MessageFlag.NO_AUTO_START,
        });
        return bodyOf(screensaverReply, reply, 'ScreenSaver GetSessionIdleTime')[0];
      } catch (err) {
        firstError ??= err;
      }
    }
    throw firstError;
  }

  private problem(message: string): void {
    if (this.disposed) return;
    try {
      this.opts.onProblem?.(message);
    } catch {
      // A failing reporter must not stop lock events or idle readings.
    }
  }
}

function busDaemonCall(member: 'AddMatch' | 'RemoveMatch', rule: string): MessageLike {
  return { destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member, signature: 's', body: [rule] };
}

function bodyOf<T>(schema: z.ZodType<T>, reply: Message, what: string): T {
  const parsed = schema.safeParse(reply.body);
  if (!parsed.success) throw new Error(`${what} answered with an unexpected reply (signature '${reply.signature}')`);
  return parsed.data;
}

function describeError(err: unknown): string {
  if (err instanceof dbus.DBusError) return `${err.type}: ${err.text}`;
  if (err instanceof Error) return err.message;
  return String(err);
}
