// DbusIdleSource against real dbus-daemons (one standing in for the session bus, one for
// the system bus) with test services for Mutter, org.freedesktop.ScreenSaver and logind.
import { after, afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dbus, { type MessageBus } from 'dbus-next';
import { systemClock } from '../../../main/platform/clock';
import { DbusIdleSource, type DbusIdleSourceOptions } from '../../../main/platform/dbus-idle-source';
import type { PowerEvent } from '../../../main/session/ports';
import { Awaitable } from '../../support/awaitable';

const POLL_MS = 50;
/**
 * How far behind the truth a reading may lag: one poll plus room for a loaded machine (a
 * D-Bus round trip through a separate daemon, with three test files running at once). The
 * sources told apart here differ by seconds (5 s, 60 s, 120 s), and "never more idle than
 * the truth" stays exact.
 */
const TOLERANCE_MS = POLL_MS + 1_000;
/** How soon a process must exit once its DbusIdleSource is disposed. */
const EXIT_WITHIN_MS = 5_000;

const MUTTER = { name: 'org.gnome.Mutter.IdleMonitor', path: '/org/gnome/Mutter/IdleMonitor/Core' };
const SCREENSAVER_NAME = 'org.freedesktop.ScreenSaver';
const LOGIN1 = { name: 'org.freedesktop.login1', path: '/org/freedesktop/login1', session: '/org/freedesktop/login1/session/_32' };

const missingDaemon = spawnSync('dbus-daemon', ['--version']).error ? 'dbus-daemon is not on PATH (apt-get install dbus)' : null;

type DbusInterface = InstanceType<typeof dbus.interface.Interface>;

/** Idle time as an OS measures it: time since the last input, on this process's monotonic clock. */
class InputClock {
  private lastInputAt: number;
  constructor(idleMs: number) {
    this.lastInputAt = performance.now() - idleMs;
  }
  input(): void {
    this.lastInputAt = performance.now();
  }
  idleMs(): number {
    return performance.now() - this.lastInputAt;
  }
}

class FakeMutter extends dbus.interface.Interface {
  readonly calls = new Awaitable<number>();
  constructor(
    readonly user: InputClock,
    private readonly hang = false,
  ) {
    super('org.gnome.Mutter.IdleMonitor');
  }
  GetIdletime(): bigint | Promise<bigint> {
    this.calls.push(performance.now());
    if (this.hang) return new Promise<bigint>(() => undefined);
    return BigInt(Math.floor(this.user.idleMs()));
  }
}
FakeMutter.configureMembers({ methods: { GetIdletime: { outSignature: 't' } } });

class FakeScreenSaver extends dbus.interface.Interface {
  constructor(readonly user: InputClock) {
    super('org.freedesktop.ScreenSaver');
  }
  GetSessionIdleTime(): number {
    return Math.floor(this.user.idleMs() / 1000);
  }
  ActiveChanged(active: boolean): boolean {
    return active;
  }
}
FakeScreenSaver.configureMembers({
  methods: { GetSessionIdleTime: { outSignature: 'u' } },
  signals: { ActiveChanged: { signature: 'b' } },
});

class FakeLogindSession extends dbus.interface.Interface {
  readonly reads = new Awaitable<number>();
  idleHint = false;
  idleSinceUs = 0n;
  lockedHint = false;
  constructor() {
    super('org.freedesktop.login1.Session');
  }
  get IdleHint(): boolean {
    this.reads.push(performance.now());
    return this.idleHint;
  }
  get IdleSinceHintMonotonic(): bigint {
    return this.idleSinceUs;
  }
  get LockedHint(): boolean {
    return this.lockedHint;
  }
  /** The desktop declares the session idle since `msAgo`, on CLOCK_MONOTONIC as logind does. */
  idleSince(msAgo: number): void {
    this.idleHint = true;
    this.idleSinceUs = process.hrtime.bigint() / 1000n - BigInt(Math.floor(msAgo * 1000));
  }
  active(): void {
    this.idleHint = false;
    this.idleSinceUs = process.hrtime.bigint() / 1000n;
  }
  setLocked(locked: boolean): void {
    this.lockedHint = locked;
    dbus.interface.Interface.emitPropertiesChanged(this, { LockedHint: locked }, []);
  }
  Lock(): void {}
  Unlock(): void {}
}
FakeLogindSession.configureMembers({
  properties: {
    IdleHint: { signature: 'b', access: 'read' },
    IdleSinceHintMonotonic: { signature: 't', access: 'read' },
    LockedHint: { signature: 'b', access: 'read' },
  },
  signals: { Lock: { signature: '' }, Unlock: { signature: '' } },
});

class FakeLogindManager extends dbus.interface.Interface {
  constructor() {
    super('org.freedesktop.login1.Manager');
  }
  GetSession(_id: string): string {
    return LOGIN1.session;
  }
  GetSessionByPID(_pid: number): string {
    return LOGIN1.session;
  }
  PrepareForSleep(start: boolean): boolean {
    return start;
  }
}
FakeLogindManager.configureMembers({
  methods: {
    GetSession: { inSignature: 's', outSignature: 'o' },
    GetSessionByPID: { inSignature: 'u', outSignature: 'o' },
  },
  signals: { PrepareForSleep: { signature: 'b' } },
});

interface TestBuses {
  readonly session: string;
  readonly system: string;
}

describe('DbusIdleSource against real dbus-daemons', { skip: missingDaemon ?? false }, () => {
  const dir = missingDaemon ? '' : mkdtempSync(join(tmpdir(), 'cwa-dbus-'));
  const daemons = new Set<ChildProcess>();
  const children = new Set<ChildProcess>();
  const connections = new Set<MessageBus>();
  const sources = new Set<DbusIdleSource>();
  let daemonSerial = 0;

  afterEach(() => {
    for (const s of sources) s.dispose();
    sources.clear();
  });

  after(async () => {
    for (const bus of connections) bus.disconnect();
    await Promise.all(
      [...daemons, ...children].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  });

  function socketPath(label: string): string {
    return join(dir, `${label}-${++daemonSerial}.sock`);
  }

  /** A private dbus-daemon on a socket in the test's folder; resolves with its address. */
  function startDaemon(label: string, socket = socketPath(label)): Promise<string> {
    const child = spawn('dbus-daemon', ['--session', '--print-address', '--nofork', `--address=unix:path=${socket}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    daemons.add(child);
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    return new Promise((resolve, reject) => {
      let stdout = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
        const end = stdout.indexOf('\n');
        if (end >= 0) resolve(stdout.slice(0, end).trim());
      });
      child.once('error', reject);
      child.once('exit', (code, signal) => reject(new Error(`dbus-daemon (${label}) exited (${code ?? signal}) before printing its address: ${stderr.trim()}`)));
    });
  }

  async function startBuses(): Promise<TestBuses> {
    const [session, system] = await Promise.all([startDaemon('session'), startDaemon('system')]);
    return { session, system };
  }

  function connection(address: string): MessageBus {
    const bus = dbus.sessionBus({ busAddress: address });
    // The daemons are killed while these are still open.
    bus.on('error', () => undefined);
    connections.add(bus);
    return bus;
  }

  /** Exports `objects` on a connection of their own that owns `name`, as a real service does. */
  async function serve(address: string, name: string, objects: ReadonlyArray<readonly [string, DbusInterface]>): Promise<MessageBus> {
    const bus = connection(address);
    for (const [path, iface] of objects) bus.export(path, iface);
    assert.equal(await bus.requestName(name, dbus.NameFlag.DO_NOT_QUEUE), dbus.RequestNameReply.PRIMARY_OWNER, `could not own ${name}`);
    return bus;
  }

  async function serveLogind(address: string): Promise<{ session: FakeLogindSession; manager: FakeLogindManager }> {
    const session = new FakeLogindSession();
    const manager = new FakeLogindManager();
    await serve(address, LOGIN1.name, [
      [LOGIN1.path, manager],
      [LOGIN1.session, session],
    ]);
    return { session, manager };
  }

  async function startSource(buses: TestBuses, overrides: Partial<DbusIdleSourceOptions> = {}) {
    const problems = new Awaitable<string>();
    const events = new Awaitable<PowerEvent>();
    const source = new DbusIdleSource({
      sessionBusAddress: buses.session,
      systemBusAddress: buses.system,
      clock: systemClock,
      pollMs: POLL_MS,
      onProblem: problems.push,
      ...overrides,
    });
    sources.add(source);
    source.onPowerEvent(events.push);
    await source.start();
    return { source, problems, events };
  }

  /** Never more idle than there was; behind it by at most `lag` (one poll, or a source's resolution). */
  function assertIdle(source: DbusIdleSource, user: InputClock, lag: number, what: string): number {
    const idle = source.idleMs();
    const truth = user.idleMs();
    assert.ok(idle <= truth + 1, `${what}: reported ${idle} ms idle, but the user was idle only ${truth} ms`);
    assert.ok(idle >= truth - lag, `${what}: reported ${idle} ms idle, more than ${lag} ms behind the ${truth} ms the user was idle`);
    return idle;
  }

  it('reads idle from Mutter when it is present, and sees new input at the next poll', { timeout: 20_000 }, async () => {
    const buses = await startBuses();
    const user = new InputClock(5_000);
    const mutter = new FakeMutter(user);
    await serve(buses.session, MUTTER.name, [[MUTTER.path, mutter]]);
    // Lower-preference sources that say something else: they must not be read.
    await serve(buses.session, SCREENSAVER_NAME, [['/org/freedesktop/ScreenSaver', new FakeScreenSaver(new InputClock(60_000))]]);
    (await serveLogind(buses.system)).session.idleSince(120_000);

    const { source, problems } = await startSource(buses);

    assert.equal(source.source, 'mutter');
    // 5 s when the service was set up, plus however long the setup took since.
    const idle = assertIdle(source, user, TOLERANCE_MS, 'Mutter at 5 s');
    assert.ok(idle >= 5_000, `expected at least the 5000 ms the service started with, got ${idle}`);
    user.input();
    await mutter.calls.more(2);
    assertIdle(source, user, TOLERANCE_MS, 'Mutter after input');
    assert.ok(source.idleMs() < 5_000, `input was not seen: still ${source.idleMs()} ms idle`);
    assert.deepEqual(problems.items, []);
  });

  it('falls back to org.freedesktop.ScreenSaver seconds (on /ScreenSaver) when Mutter is absent', { timeout: 20_000 }, async () => {
    const buses = await startBuses();
    const user = new InputClock(7_400);
    await serve(buses.session, SCREENSAVER_NAME, [['/ScreenSaver', new FakeScreenSaver(user)]]);
    (await serveLogind(buses.system)).session.idleSince(120_000);

    const { source, problems } = await startSource(buses);

    assert.equal(source.source, 'screensaver');
    // Whole seconds: up to one second behind, on top of the poll.
    const idle = assertIdle(source, user, 1_000 + TOLERANCE_MS, 'ScreenSaver at 7.4 s');
    assert.ok(idle >= 7_000, `expected at least the 7 whole seconds reported, got ${idle}`);
    assert.deepEqual(problems.items, []);
  });

  it("falls back to logind's IdleSinceHintMonotonic when only logind answers, and to 0 when it says active", { timeout: 20_000 }, async () => {
    const buses = await startBuses();
    const user = new InputClock(9_000);
    const login = await serveLogind(buses.system);
    // From the same input, so logind can only be behind the truth, never ahead of it.
    login.session.idleSince(user.idleMs());

    const { source, problems } = await startSource(buses);

    assert.equal(source.source, 'logind');
    assertIdle(source, user, TOLERANCE_MS, 'logind idle since 9 s');
    login.session.active();
    await login.session.reads.more(2);
    assert.equal(source.idleMs(), 0, 'logind says the user is active');
    assert.deepEqual(problems.items, []);
  });

  it('reports ScreenSaver ActiveChanged as lock-screen and unlock-screen, once per transition', { timeout: 20_000 }, async () => {
    const buses = await startBuses();
    const user = new InputClock(0);
    const kdePath = new FakeScreenSaver(user);
    const legacyPath = new FakeScreenSaver(user);
    await serve(buses.session, SCREENSAVER_NAME, [
      ['/org/freedesktop/ScreenSaver', kdePath],
      ['/ScreenSaver', legacyPath],
    ]);
    const { events } = await startSource(buses);

    // KDE announces every change on both paths.
    kdePath.ActiveChanged(true);
    legacyPath.ActiveChanged(true);
    kdePath.ActiveChanged(false);
    legacyPath.ActiveChanged(false);
    await events.reach(2);
    // Signals from one sender arrive in order: by this event, both duplicates were seen.
    kdePath.ActiveChanged(true);
    await events.reach(3);
    assert.deepEqual(events.items, ['lock-screen', 'unlock-screen', 'lock-screen']);
  });

  it('reports logind Lock, Unlock and LockedHint, and a second source announcing the same lock adds nothing', { timeout: 20_000 }, async () => {
    const buses = await startBuses();
    const login = await serveLogind(buses.system);
    const saver = new FakeScreenSaver(new InputClock(0));
    await serve(buses.session, SCREENSAVER_NAME, [['/org/freedesktop/ScreenSaver', saver]]);
    const { events } = await startSource(buses);

    login.session.Lock();
    assert.deepEqual(await events.reach(1), ['lock-screen']);
    login.session.Unlock();
    assert.deepEqual(await events.reach(2), ['lock-screen', 'unlock-screen']);
    login.session.setLocked(true);
    assert.deepEqual(await events.reach(3), ['lock-screen', 'unlock-screen', 'lock-screen']);
    // The screen saver confirms the lock logind already reported, then unlocks.
    saver.ActiveChanged(true);
    saver.ActiveChanged(false);
    assert.deepEqual(await events.reach(4), ['lock-screen', 'unlock-screen', 'lock-screen', 'unlock-screen']);
  });

  it('reports logind PrepareForSleep(true/false) as suspend and resume', { timeout: 20_000 }, async () => {
    const buses = await startBuses();
    const login = await serveLogind(buses.system);
    const { events } = await startSource(buses);

    login.manager.PrepareForSleep(true);
    assert.deepEqual(await events.reach(1), ['suspend']);
    login.manager.PrepareForSleep(false);
    assert.deepEqual(await events.reach(2), ['suspend', 'resume']);
  });

  it('with no idle source, says what it tried and never reports the user as active', { timeout: 20_000 }, async () => {
    const buses = await startBuses();
    const { source, problems } = await startSource(buses);

    assert.equal(source.source, null);
    const message = await problems.find((p) => p.startsWith('No D-Bus idle source answered'));
    for (const tried of ['Mutter', 'org.freedesktop.ScreenSaver', 'logind']) assert.ok(message.includes(tried), `the message does not name ${tried}: ${message}`);
    assert.match(message, /Check that the agent runs in the user's graphical session/);
    const idle = source.idleMs();
    assert.notEqual(idle, 0);
    assert.equal(idle, Number.POSITIVE_INFINITY, 'no reading: no evidence of input');
  });

  it('names the address and what to check when a bus cannot be reached', { timeout: 20_000 }, async () => {
    const unreachable = { session: `unix:path=${join(dir, 'no-session.sock')}`, system: `unix:path=${join(dir, 'no-system.sock')}` };
    const { source, problems } = await startSource(unreachable);

    const session = await problems.find((p) => p.includes('session bus at'));
    assert.ok(session.includes(unreachable.session), session);
    assert.match(session, /DBUS_SESSION_BUS_ADDRESS/);
    const system = await problems.find((p) => p.includes('system bus at'));
    assert.ok(system.includes(unreachable.system), system);
    assert.match(system, /systemctl status dbus/);
    assert.equal(source.idleMs(), Number.POSITIVE_INFINITY);
  });

  it('keeps the last reading growing, and says so, when the source goes away', { timeout: 20_000 }, async () => {
    const buses = await startBuses();
    const user = new InputClock(2_000);
    const mutterBus = await serve(buses.session, MUTTER.name, [[MUTTER.path, new FakeMutter(user)]]);
    const { source, problems } = await startSource(buses);
    assert.equal(source.source, 'mutter');
    const before = source.idleMs();

    mutterBus.disconnect();
    const message = await problems.find((p) => p.startsWith('No D-Bus idle source answered'));

    assert.match(message, /Mutter IdleMonitor/);
    assert.match(message, /grows from the last reading/);
    assert.equal(source.source, null);
    const idle = assertIdle(source, user, TOLERANCE_MS, 'after Mutter went away');
    assert.ok(idle > before, `idle stopped growing: ${idle} ms after ${before} ms`);
  });

  it('falls back to the next source, and says so, when Mutter goes away', { timeout: 20_000 }, async () => {
    const buses = await startBuses();
    const mutterBus = await serve(buses.session, MUTTER.name, [[MUTTER.path, new FakeMutter(new InputClock(2_000))]]);
    const login = await serveLogind(buses.system);
    login.session.idleSince(30_000);
    const { source, problems } = await startSource(buses);
    assert.equal(source.source, 'mutter');

    mutterBus.disconnect();
    const message = await problems.find((p) => p.startsWith('The idle source stopped answering'));

    assert.match(message, /Mutter IdleMonitor/);
    assert.match(message, /reading idle from systemd-logind/);
    assert.equal(source.source, 'logind');
  });

  it('moves to Mutter when it appears after start (the desktop starts after the agent)', { timeout: 20_000 }, async () => {
    const buses = await startBuses();
    (await serveLogind(buses.system)).session.idleSince(60_000);
    const { source, problems } = await startSource(buses, { retryMs: 200 });
    assert.equal(source.source, 'logind');

    const user = new InputClock(3_000);
    const mutter = new FakeMutter(user);
    await serve(buses.session, MUTTER.name, [[MUTTER.path, mutter]]);
    await mutter.calls.reach(2);

    assert.equal(source.source, 'mutter');
    assertIdle(source, user, TOLERANCE_MS, 'Mutter after the switch');
    assert.deepEqual(problems.items, []);
  });

  it('connects to a session bus that was not there at start, and then reads and hears it', { timeout: 20_000 }, async () => {
    const socket = socketPath('late-session');
    const system = await startDaemon('system');
    const { source, problems, events } = await startSource({ session: `unix:path=${socket}`, system }, { retryMs: 200 });
    const refused = await problems.find((p) => p.includes('session bus at'));
    assert.match(refused, /Retrying every 0.2 s/);

    const session = await startDaemon('late-session', socket);
    const user = new InputClock(4_000);
    const mutter = new FakeMutter(user);
    await serve(session, MUTTER.name, [[MUTTER.path, mutter]]);
    const saver = new FakeScreenSaver(user);
    await serve(session, SCREENSAVER_NAME, [['/org/freedesktop/ScreenSaver', saver]]);
    await mutter.calls.reach(2);

    assert.equal(source.source, 'mutter');
    assertIdle(source, user, TOLERANCE_MS, 'Mutter on the late bus');
    // Subscribed on the new connection before its first reading.
    saver.ActiveChanged(true);
    assert.deepEqual(await events.reach(1), ['lock-screen']);
  });

  it('leaves injected connections open and without its listeners after dispose', { timeout: 20_000 }, async () => {
    const buses = await startBuses();
    await serve(buses.session, MUTTER.name, [[MUTTER.path, new FakeMutter(new InputClock(1_000))]]);
    await serveLogind(buses.system);
    const sessionBus = connection(buses.session);
    const systemBus = connection(buses.system);
    const listening = [sessionBus.listenerCount('message'), systemBus.listenerCount('message')];

    const { source } = await startSource(buses, { sessionBus, systemBus });
    assert.equal(source.source, 'mutter');
    assert.deepEqual([sessionBus.listenerCount('message'), systemBus.listenerCount('message')], listening.map((n) => n + 1));
    source.dispose();

    assert.deepEqual([sessionBus.listenerCount('message'), systemBus.listenerCount('message')], listening);
    const reply = await sessionBus.call(
      new dbus.Message({ destination: MUTTER.name, path: MUTTER.path, interface: 'org.gnome.Mutter.IdleMonitor', member: 'GetIdletime' }),
    );
    assert.equal(reply?.signature, 't', 'the injected connection still works');
  });

  /**
   * Runs a fresh Node process that uses a DbusIdleSource and disposes it when its stdin
   * closes, which happens once `ready` resolves. Nothing else keeps that process alive, so
   * it must then exit by itself; one that is still running after EXIT_WITHIN_MS fails.
   */
  async function runChild(buses: TestBuses, body: string, ready: Promise<unknown>): Promise<string> {
    const modulePath = join(__dirname, '../../../main/platform/dbus-idle-source.js');
    const clockPath = join(__dirname, '../../../main/platform/clock.js');
    const script = `
      const { DbusIdleSource } = require(${JSON.stringify(modulePath)});
      const { systemClock } = require(${JSON.stringify(clockPath)});
      const options = { sessionBusAddress: ${JSON.stringify(buses.session)}, systemBusAddress: ${JSON.stringify(buses.system)}, clock: systemClock };
      ${body}
      process.stdin.resume();
      process.stdin.once('end', () => source.dispose());`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
    // A child that died early must fail the test, not leave it waiting for `ready`.
    await Promise.race([ready, closed]);
    child.stdin.end();
    const deadline = setTimeout(() => child.kill('SIGKILL'), EXIT_WITHIN_MS);
    const { code, signal } = await closed;
    clearTimeout(deadline);
    assert.notEqual(signal, 'SIGKILL', `the process still ran ${EXIT_WITHIN_MS} ms after dispose(): something DbusIdleSource opened is still open`);
    assert.equal(code, 0, `the child process failed: ${stderr}`);
    return stdout;
  }

  it('dispose() after polling leaves nothing running: the process exits by itself', { timeout: 30_000 }, async () => {
    const buses = await startBuses();
    const mutter = new FakeMutter(new InputClock(3_000));
    await serve(buses.session, MUTTER.name, [[MUTTER.path, mutter]]);
    await serveLogind(buses.system);

    const stdout = await runChild(
      buses,
      `const source = new DbusIdleSource({ ...options, pollMs: 10 });
      source.onPowerEvent(() => {});
      source.start().then(() => process.stdout.write(String(source.source)));`,
      mutter.calls.reach(3),
    );

    assert.equal(stdout, 'mutter');
  });

  it('dispose() during a call that never returns cancels it: the process still exits at once', { timeout: 30_000 }, async () => {
    const buses = await startBuses();
    const mutter = new FakeMutter(new InputClock(0), true);
    await serve(buses.session, MUTTER.name, [[MUTTER.path, mutter]]);

    // The call would only time out after a minute: exiting within EXIT_WITHIN_MS proves dispose() cancelled it.
    const stdout = await runChild(
      buses,
      `const source = new DbusIdleSource({ ...options, callTimeoutMs: 60000 });
      source.start().then(() => process.stdout.write('started ' + source.source));`,
      mutter.calls.reach(1),
    );

    assert.equal(stdout, 'started null', 'start() settles when dispose() cancels its first reading');
  });
});
