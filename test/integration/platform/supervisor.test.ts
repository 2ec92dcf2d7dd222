// The Supervisor against real child processes: small Node scripts written to a temporary
// folder and run with this Node. Children that must be running before a test acts say so
// over a local socket, so the tests wait on events, not on the clock.
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { createAgentLogger } from '../../../main/platform/logger';
import {
  describeSupervisorEvent,
  isSuperviseRun,
  logSupervisorEvents,
  superviseArgs,
  Supervisor,
  SUPERVISE_FLAG,
  type SupervisorEvent,
  type SupervisorLog,
  type SupervisorOptions,
} from '../../../main/platform/supervisor';
import { Awaitable } from '../../support/awaitable';

/** Generous: a loaded two-core machine can take seconds to start a Node process. */
const WAIT_MS = 30_000;
const TEST = { timeout: 90_000 };

/**
 * The child: on each run it bumps a counter file, then does what the script says for that
 * run (the last entry repeats). "hold" and "hold-ignoring-sigterm" announce
 * `<run> <pid>` on the socket once they are ready, then stay until killed.
 */
const CHILD_SCRIPT = `
const fs = require('node:fs');
const net = require('node:net');
const counter = process.env.CWA_TEST_COUNTER;
const run = Number(fs.existsSync(counter) ? fs.readFileSync(counter, 'utf8') : '0') + 1;
fs.writeFileSync(counter, String(run));
const plan = process.argv[2].split(',');
const step = plan[Math.min(run, plan.length) - 1];
const announce = () => {
  const socket = net.connect(process.env.CWA_TEST_SOCKET, () => socket.write(run + ' ' + process.pid + '\\n'));
  setInterval(() => undefined, 60_000);
};
if (step === 'exit0') process.exit(0);
else if (step === 'crash') process.exit(3);
else if (step.startsWith('crash-after:')) setTimeout(() => process.exit(4), Number(step.slice('crash-after:'.length)));
else if (step === 'hold') announce();
else if (step === 'hold-ignoring-sigterm') { process.on('SIGTERM', () => undefined); announce(); }
else { console.error('unknown step ' + step); process.exit(99); }
`;

type Ready = { readonly run: number; readonly pid: number };

let dir: string;
let socketPath: string;
let server: Server;
const ready = new Awaitable<Ready>();
let caseNo = 0;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cwa-supervisor-'));
  writeFileSync(join(dir, 'child.js'), CHILD_SCRIPT);
  socketPath = process.platform === 'win32' ? `\\\\.\\pipe\\cwa-supervisor-${process.pid}` : join(dir, 'ready.sock');
  server = createServer((socket) => {
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const [run, pid] = buffered.slice(0, nl).split(' ').map(Number);
        buffered = buffered.slice(nl + 1);
        ready.push({ run: run!, pid: pid! });
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
});

/** Every supervisor a test made: stopped after each test, so a failing test leaves no child behind. */
const supervisors: Supervisor[] = [];
afterEach(async () => {
  await within(Promise.all(supervisors.splice(0).map((s) => s.stop('SIGKILL'))), 'stopping the test\'s supervisors');
});

after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

/** A supervisor of the child script with `plan`, fast timings, and its events recorded. */
function supervise(plan: string, overrides: Partial<SupervisorOptions> = {}) {
  const counter = join(dir, `counter-${++caseNo}`);
  const events = new Awaitable<SupervisorEvent>();
  const supervisor = new Supervisor({
    command: process.execPath,
    args: [join(dir, 'child.js'), plan],
    env: { ...process.env, CWA_TEST_COUNTER: counter, CWA_TEST_SOCKET: socketPath },
    stdio: ['ignore', 'ignore', 'inherit'],
    initialDelayMs: 50,
    maxDelayMs: 400,
    stopGraceMs: 5_000,
    onEvent: events.push,
    ...overrides,
  });
  supervisors.push(supervisor);
  const runs = (): number => Number(readFileSync(counter, 'utf8'));
  const ofType = <K extends SupervisorEvent['type']>(type: K): Extract<SupervisorEvent, { type: K }>[] =>
    events.items.filter((e): e is Extract<SupervisorEvent, { type: K }> => e.type === type);
  const nth = <K extends SupervisorEvent['type']>(n: number, type: K): Promise<Extract<SupervisorEvent, { type: K }>> =>
    events.nth(n, (e) => e.type === type, `${type} #${n}`, WAIT_MS) as Promise<Extract<SupervisorEvent, { type: K }>>;
  const ended = () => within(supervisor.ended, 'the end of supervision');
  const stop = (signal?: NodeJS.Signals) => within(supervisor.stop(signal), 'stop()');
  return { supervisor, events, runs, ofType, nth, ended, stop };
}

/** Fails the test, rather than hanging it, when `promise` does not settle in time. */
function within<T>(promise: Promise<T>, what: string): Promise<T> {
  return Promise.race([promise, delay(WAIT_MS, null, { ref: false }).then(() => assert.fail(`${what} did not resolve within ${WAIT_MS} ms`))]);
}

/** The pid's process is gone (the supervisor left nothing running). */
function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Long enough that a restart the supervisor wrongly scheduled would have happened. */
const QUIET_MS = 1_500;

describe('Supervisor', { skip: process.platform === 'win32' ? 'POSIX signals: the Windows supervisor is exercised on Windows CI' : false }, () => {
  it('restarts a child that crashes twice, then stops supervising when it exits 0', TEST, async () => {
    const { supervisor, runs, ofType, ended } = supervise('crash,crash,exit0');
    supervisor.start();
    assert.deepEqual(await ended(), { reason: 'clean-exit', restarts: 2 });
    assert.deepEqual(
      ofType('exited').map((e) => [e.run, e.code, e.signal, e.outcome]),
      [
        [1, 3, null, 'crashed'],
        [2, 3, null, 'crashed'],
        [3, 0, null, 'clean'],
      ],
    );
    assert.equal(supervisor.restarts, 2);
    await delay(QUIET_MS);
    assert.equal(runs(), 3, 'no run after the clean exit');
    assert.equal(ofType('started').length, 3);
    assert.equal(ofType('restart-scheduled').length, 2);
  });

  it('doubles the delay between restarts up to the cap', TEST, async () => {
    const { supervisor, ofType, nth, stop } = supervise('crash', { initialDelayMs: 50, maxDelayMs: 400 });
    supervisor.start();
    await nth(6, 'restart-scheduled');
    await stop();
    assert.deepEqual(
      ofType('restart-scheduled').slice(0, 6).map((e) => [e.restart, e.delayMs]),
      [
        [1, 50],
        [2, 100],
        [3, 200],
        [4, 400],
        [5, 400],
        [6, 400],
      ],
    );
  });

  it('goes back to the shortest delay after a run that lasted stableAfterMs', TEST, async () => {
    // Runs 1, 2 and 4 crash at once; run 3 lasts well past stableAfterMs before it crashes.
    // An immediate crash would have to take the full 3 s to start for this to misread it.
    const { supervisor, ofType, ended } = supervise('crash,crash,crash-after:4500,crash,exit0', { stableAfterMs: 3_000 });
    supervisor.start();
    assert.deepEqual(await ended(), { reason: 'clean-exit', restarts: 4 });
    const exits = ofType('exited');
    assert.ok(exits[2]!.ranMs >= 3_000, `run 3 lasted ${exits[2]!.ranMs} ms`);
    assert.deepEqual(
      ofType('restart-scheduled').map((e) => e.delayMs),
      [50, 100, 50, 100],
    );
  });

  it('restarts a child killed by a signal it did not send (SIGKILL from outside)', TEST, async () => {
    const { supervisor, nth, ofType, stop } = supervise('hold');
    supervisor.start();
    const first = await ready.nth(1, (r) => r.pid === supervisor.pid, 'run 1 ready', WAIT_MS);
    process.kill(first.pid, 'SIGKILL');
    const exited = await nth(1, 'exited');
    assert.deepEqual([exited.pid, exited.code, exited.signal, exited.outcome], [first.pid, null, 'SIGKILL', 'crashed']);
    const second = await nth(2, 'started');
    assert.notEqual(second.pid, first.pid);
    assert.equal(second.run, 2);
    assert.deepEqual(ofType('restart-scheduled').map((e) => e.delayMs), [50]);
    await stop();
    assert.equal(supervisor.restarts, 1);
  });

  it('stop() terminates a running child with SIGTERM, resolves when it is gone, and no restart follows', TEST, async () => {
    const { supervisor, runs, ofType, stop } = supervise('hold');
    supervisor.start();
    const child = await ready.nth(1, (r) => r.pid === supervisor.pid, 'child ready', WAIT_MS);
    const end = await stop();
    assert.deepEqual(end, { reason: 'stopped', restarts: 0 });
    assert.ok(isGone(child.pid), 'the child has exited by the time stop() resolves');
    assert.deepEqual(ofType('exited').map((e) => [e.signal, e.outcome]), [['SIGTERM', 'stopped']]);
    assert.deepEqual(ofType('stopping').map((e) => [e.pid, e.signal]), [[child.pid, 'SIGTERM']]);
    await delay(QUIET_MS);
    assert.equal(runs(), 1, 'no run after stop()');
    assert.equal(ofType('restart-scheduled').length, 0);
    assert.equal(supervisor.pid, undefined);
  });

  it('stop() SIGKILLs a child that ignores SIGTERM once the grace period is over', TEST, async () => {
    const { supervisor, runs, ofType, stop } = supervise('hold-ignoring-sigterm', { stopGraceMs: 500 });
    supervisor.start();
    const child = await ready.nth(1, (r) => r.pid === supervisor.pid, 'child ready', WAIT_MS);
    const end = await stop();
    assert.equal(end.reason, 'stopped');
    assert.ok(isGone(child.pid));
    assert.deepEqual(ofType('killed-after-grace').map((e) => [e.pid, e.graceMs]), [[child.pid, 500]]);
    assert.deepEqual(ofType('exited').map((e) => [e.signal, e.outcome]), [['SIGKILL', 'stopped']]);
    await delay(QUIET_MS);
    assert.equal(runs(), 1);
  });

  it('stop(SIGKILL) during a graceful stop kills the child at once, without waiting out the grace period', TEST, async () => {
    const { supervisor, ofType, stop } = supervise('hold-ignoring-sigterm', { stopGraceMs: 120_000 });
    supervisor.start();
    const child = await ready.nth(1, (r) => r.pid === supervisor.pid, 'child ready', WAIT_MS);
    const graceful = supervisor.stop();
    assert.deepEqual(await stop('SIGKILL'), { reason: 'stopped', restarts: 0 });
    assert.deepEqual(await graceful, { reason: 'stopped', restarts: 0 });
    assert.ok(isGone(child.pid));
    assert.deepEqual(ofType('exited').map((e) => [e.signal, e.outcome]), [['SIGKILL', 'stopped']]);
    assert.equal(ofType('killed-after-grace').length, 0);
  });

  it('stop() while waiting to restart cancels the restart', TEST, async () => {
    const { supervisor, runs, nth, ofType, stop } = supervise('crash', { initialDelayMs: 5_000, maxDelayMs: 5_000 });
    supervisor.start();
    await nth(1, 'restart-scheduled');
    assert.deepEqual(await stop(), { reason: 'stopped', restarts: 1 });
    assert.equal(ofType('stopping').length, 0, 'there was no child to signal');
    assert.equal(runs(), 1);
  });

  it('a clean exit (code 0) on the first run ends supervision without a restart', TEST, async () => {
    const { supervisor, runs, ofType, ended, stop } = supervise('exit0');
    supervisor.start();
    assert.deepEqual(await ended(), { reason: 'clean-exit', restarts: 0 });
    assert.deepEqual(ofType('exited').map((e) => [e.code, e.outcome]), [[0, 'clean']]);
    assert.deepEqual(ofType('ended'), [{ type: 'ended', reason: 'clean-exit', restarts: 0 }]);
    await delay(QUIET_MS);
    assert.equal(runs(), 1);
    await stop();
    assert.equal(ofType('ended').length, 1, 'stop() after the end changes nothing');
  });

  it('a program that cannot be started is reported and retried with backoff until stop()', TEST, async () => {
    const { supervisor, nth, ofType, stop } = supervise('exit0', { command: join(dir, 'no-such-program') });
    supervisor.start();
    await nth(3, 'spawn-failed');
    await stop();
    assert.match(ofType('spawn-failed')[0]!.error, /ENOENT/);
    assert.deepEqual(ofType('restart-scheduled').slice(0, 3).map((e) => e.delayMs), [50, 100, 200]);
    assert.equal(ofType('started').length, 0);
  });

  it('passes the environment and arguments to the child', TEST, async () => {
    // The counter file and socket reach the child only through env; the plan only through args.
    const { supervisor, runs, stop } = supervise('hold');
    supervisor.start();
    await ready.nth(1, (r) => r.pid === supervisor.pid, 'child ready', WAIT_MS);
    assert.equal(runs(), 1);
    await stop();
  });
});

describe('supervisor arguments and settings', () => {
  it('superviseArgs drops only --supervise and keeps the order of the rest', () => {
    assert.equal(SUPERVISE_FLAG, '--supervise');
    assert.deepEqual(superviseArgs(['--supervise']), []);
    assert.deepEqual(superviseArgs(['dist/main/index.js', '--supervise', '--enable-logging', '--supervise-x']), ['dist/main/index.js', '--enable-logging', '--supervise-x']);
    assert.ok(isSuperviseRun(['C:\\Program Files\\Clinical Workstation Agent\\Clinical Workstation Agent.exe', '--supervise']));
    assert.ok(!isSuperviseRun(['/opt/Clinical Workstation Agent/clinical-workstation-agent', '--supervise=1']));
  });

  it('refuses delays that are not positive, or a cap below the first delay', () => {
    assert.throws(() => new Supervisor({ command: process.execPath, initialDelayMs: 0 }), /initialDelayMs must be a positive/);
    assert.throws(() => new Supervisor({ command: process.execPath, stopGraceMs: Number.NaN }), /stopGraceMs must be a positive/);
    assert.throws(() => new Supervisor({ command: process.execPath, initialDelayMs: 2_000, maxDelayMs: 1_000 }), /maxDelayMs \(1000\) must not be less than initialDelayMs \(2000\)/);
    const s = new Supervisor({ command: process.execPath, args: ['-e', ''] });
    supervisors.push(s);
    s.start();
    assert.throws(() => s.start(), /already started/);
  });

  it('logs a crash as an error with its exit status, and the restart delay as a warning', () => {
    const lines: [string, string][] = [];
    const log: SupervisorLog = {
      info: (m) => lines.push(['info', m]),
      warn: (m) => lines.push(['warn', m]),
      error: (m) => lines.push(['error', m]),
    };
    const onEvent = logSupervisorEvents(log);
    onEvent({ type: 'exited', run: 4, pid: 4242, code: null, signal: 'SIGSEGV', ranMs: 1234, outcome: 'crashed' });
    onEvent({ type: 'restart-scheduled', restart: 4, delayMs: 8000 });
    onEvent({ type: 'exited', run: 5, pid: 4243, code: 0, signal: null, ranMs: 61_000, outcome: 'clean' });
    assert.deepEqual(lines, [
      ['error', 'supervisor: the agent stopped unexpectedly (killed by SIGSEGV, after 1.2 s, run 4)'],
      ['warn', 'supervisor: restarting the agent in 8.0 s (restart 4 since the supervisor started)'],
      ['info', 'supervisor: the agent quit normally (after 61 s); not restarting it'],
    ]);
    assert.equal(describeSupervisorEvent({ type: 'spawn-failed', run: 1, error: 'spawn x ENOENT' }).level, 'error');
    // The agent's own winston logger is a SupervisorLog.
    const agentLog: SupervisorLog = createAgentLogger({ console: false });
    assert.equal(typeof logSupervisorEvents(agentLog), 'function');
  });
});
