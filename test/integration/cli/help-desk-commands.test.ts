// agentctl why, logs and diagnostics as a help-desk technician uses them on a real
// workstation: a real Agent (encrypted audit buffer, OS keychain, status socket) whose
// nurse signs in and is locked by idle; each command with good and bad input, its exit
// status (0 ok, 2 usage or operational problem) and a message the technician can act on.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../../../main/agent';
import { runAgentctl } from '../../../main/cli/agentctl';
import { KeytarKeyStore, type KeyStore } from '../../../main/platform/keystore';
import { createAgentLogger, type Logger } from '../../../main/platform/logger';
import { defaultPaths, type AgentPaths } from '../../../main/platform/paths';
import { startStatusServer } from '../../../main/status/status-server';
import { openTestStore, uniqueService } from '../../support/audit-fixture';
import { readZip, type ZipEntryText } from '../../support/bundle-zip';
import { RealTimeIdleSource } from '../../support/real-time-idle';
import { RecordingLockPresenter, RecordingOsSession } from '../../support/session-doubles';

const NURSE = 'nurse-0042';
const isRoot = process.getuid?.() === 0;

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

async function ctl(argv: string[], env: NodeJS.ProcessEnv, keyStore?: KeyStore): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runAgentctl(argv, { out: (l) => out.push(l), err: (l) => err.push(l), env, keyStore });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** A usage error: exit 2, what was wrong, and the command's own usage (not all of agentctl's). */
function assertUsage(r: Run, problem: RegExp, usage: RegExp): void {
  assert.equal(r.code, 2, `${r.out}\n${r.err}`);
  assert.equal(r.out, '');
  assert.match(r.err, problem);
  assert.match(r.err, /\n\nUsage:\n/);
  assert.match(r.err, usage);
  assert.doesNotMatch(r.err, /Commands:/, 'only the command at hand, not the whole manual');
}

/** A folder this process cannot create files in (root writes anywhere chmod allows; /sys refuses even root). */
function unwritableFolder(base: string): string {
  if (isRoot) return '/sys';
  const dir = join(base, 'read-only');
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o500);
  return dir;
}

const EXPECTED_FILES = [
  'README.txt',
  'audit.json',
  'certificates.json',
  'directory.json',
  'errors.json',
  'keychain.json',
  'logs/files.json',
  'logs/recent.jsonl',
  'policy/effective.json',
  'policy/in-force.json',
  'policy/machine-file.json',
  'session-history.json',
  'session-history.txt',
  'status.json',
  'status.txt',
  'versions.json',
];

/** The bundle's files by their name inside the bundle folder; every entry sits in that one folder. */
function byName(entries: readonly ZipEntryText[], device: string): Map<string, string> {
  const folder = entries[0]!.name.split('/')[0]!;
  assert.match(folder, new RegExp(`^cwa-diagnostics-${device.slice(0, 12)}-\\d{8}T\\d{6}Z$`));
  const files = new Map<string, string>();
  for (const e of entries) {
    assert.ok(e.name.startsWith(`${folder}/`), e.name);
    assert.equal(e.mode, 0o600, `${e.name} is stored owner-only`);
    files.set(e.name.slice(folder.length + 1), e.text);
  }
  return files;
}

describe('help-desk commands on a workstation whose nurse was locked by idle', () => {
  let dir: string;
  let paths: AgentPaths;
  let env: NodeJS.ProcessEnv;
  let keyStore: KeytarKeyStore;
  let logger: Logger;
  let agent: Agent | null = null;
  let status: { close(): Promise<void> } | null = null;
  let device: string;
  const presenter = new RecordingLockPresenter();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cwa-help-desk-'));
    const service = uniqueService('help-desk');
    env = { CWA_DATA_DIR: join(dir, 'data'), CWA_POLICY_FILE: join(dir, 'policy.json'), CWA_KEYCHAIN_SERVICE: service };
    paths = defaultPaths('linux', env);
    keyStore = new KeytarKeyStore(service);
    writeFileSync(paths.policyFile, JSON.stringify({ session: { lockAfterSeconds: 2, warnAfterSeconds: 0.5 }, logging: { level: 'debug' } }));
    logger = createAgentLogger({ logDir: paths.logDir });
    const idle = new RealTimeIdleSource();
    agent = await Agent.start({ version: '0.1.0-test', paths, keyStore, logger, machineId: 'help-desk', session: { idle, presenter, os: new RecordingOsSession() } });
    const running = agent;
    status = await startStatusServer(paths.statusSocket, () => running.status());
    device = agent.status().deviceId;
    // The nurse signs in with badge + PIN, walks away, and the screen locks after 2 s idle (warned at 0.5 s).
    await agent.dispatch({ type: 'badge', user: NURSE });
    idle.activity();
    await agent.dispatch({ type: 'pin-ok', user: NURSE });
    const locked = presenter.next('showLock', 15_000);
    idle.activity();
    assert.equal((await locked).reason, 'idle');
    // A few lines of the agent's own log, so the log has more than the --log-lines bound below.
    const sink = logger.transports[0]!;
    const written = new Promise<void>((resolve) => {
      let n = 0;
      sink.on('logged', () => ++n === 5 && resolve());
    });
    for (let i = 1; i <= 5; i++) logger.info(`help desk test line ${i}`, { i });
    await written;
  });

  after(async () => {
    await status?.close();
    await agent?.stop('test done');
    logger?.close();
    for (const a of ['audit-db-key', 'device-signing-key', 'directory-org-key']) await keyStore.delete(a).catch(() => false);
    if (existsSync(join(dir, 'read-only'))) chmodSync(join(dir, 'read-only'), 0o700);
    rmSync(dir, { recursive: true, force: true });
  });

  describe('agentctl why', () => {
    it('answers "why did it lock?" from the audit buffer: the idle lock, its owner, the policy limit, while the agent runs', async () => {
      const r = await ctl(['why'], env, keyStore);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /^Last lock: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}nurse-0042's session locked after \d+ s without input \(policy: lock after 2 s idle\)\.\n/);
      assert.match(r.out, new RegExp(`Last \\d+ session events on device ${device}, oldest first \\(times UTC[+-]\\d\\d:\\d\\d\\):`));
      const lines = r.out.split('\n');
      const order = [/The agent started/, /Locked at start-up/, /nurse-0042 unlocked with badge \+ PIN/, /Idle warning shown to nurse-0042/, /nurse-0042's session locked after/];
      let at = 0;
      for (const re of order) {
        const next = lines.findIndex((l, i) => i > at && re.test(l));
        assert.ok(next > at, `expected ${re} after line ${at} in:\n${r.out}`);
        at = next;
      }
    });

    it('--json gives the same events as data; --last N limits them to the newest N', async () => {
      const all = await ctl(['why', '--json'], env, keyStore);
      assert.equal(all.code, 0, all.err);
      const parsed = JSON.parse(all.out) as { device: string; events: { action: string; user: string | null; reason: string | null; facts: Record<string, unknown>; text: string }[] };
      assert.equal(parsed.device, device);
      const lock = parsed.events.filter((e) => e.action === 'session.lock').at(-1)!;
      assert.deepEqual([lock.user, lock.reason], [NURSE, 'idle']);
      assert.equal(typeof lock.facts.idleSeconds, 'number');
      assert.match(lock.text, /locked after/);
      const two = await ctl(['why', '--last', '2', '--json'], env, keyStore);
      const last2 = (JSON.parse(two.out) as typeof parsed).events;
      assert.deepEqual(last2, parsed.events.slice(-2));
    });

    it('refuses an unknown option, a stray argument and bad --last values with exit 2 and its usage', async () => {
      assertUsage(await ctl(['why', '--verbose'], env, keyStore), /agentctl: Unknown option '--verbose'/, /why \[--last N\] \[--json\]/);
      assertUsage(await ctl(['why', 'yesterday'], env, keyStore), /agentctl: .*'yesterday'/, /why \[--last N\]/);
      for (const bad of ['0', '-3', 'ten', '2.5', '501']) {
        assertUsage(await ctl(['why', `--last=${bad}`], env, keyStore), new RegExp(`--last must be a whole number from 1 to 500 \\(got "${bad.replace('.', '\\.')}"\\)`), /why \[--last N\]/);
      }
    });

    it('says there is nothing yet on an empty buffer, and names the path when there is no buffer', async () => {
      const t = await openTestStore('why-empty');
      try {
        const empty = await ctl(['why'], { CWA_AUDIT_DB: t.path, CWA_KEYCHAIN_SERVICE: t.service, CWA_POLICY_FILE: join(t.dir, 'none.json') }, t.keyStore);
        assert.equal(empty.code, 0, empty.err);
        assert.equal(empty.out, `No session events in the audit buffer of device ${t.store.deviceMeta().device} yet.`);
      } finally {
        await t.cleanup();
      }
      const missing = join(dir, 'nowhere', 'audit.db');
      const none = await ctl(['why'], { ...env, CWA_AUDIT_DB: missing }, keyStore);
      assert.equal(none.code, 2);
      assert.equal(none.err, `agentctl: There is no audit database at ${missing}. Check the path (agentctl prints the default with --help).`);
    });
  });

  describe('agentctl logs', () => {
    it("shows the agent's newest lines, oldest first, filtered by level, as text or JSON lines", async () => {
      const all = await ctl(['logs', '--lines', '5000'], env);
      assert.equal(all.code, 0, all.err);
      assert.match(all.out, /^\d{4}-\d\d-\d\dT[\d:.]+Z INFO {2}agent 0\.1\.0-test started: device [0-9a-f]{32}/m);
      const two = await ctl(['logs', '--lines', '2'], env);
      assert.deepEqual(two.out.split('\n'), all.out.split('\n').slice(-2));
      const json = await ctl(['logs', '--json', '--lines', '5000'], env);
      const entries = json.out.split('\n').map((l) => JSON.parse(l) as { timestamp: string; level: string; message: string });
      assert.equal(entries.length, all.out.split('\n').length);
      assert.ok(entries.every((e) => typeof e.timestamp === 'string' && typeof e.message === 'string'));
      assert.ok(entries.some((e) => e.level === 'info'), 'the agent logs at info');
      const warn = await ctl(['logs', '--level', 'warn', '--json', '--lines', '5000'], env);
      const severe = warn.out === '' ? [] : warn.out.split('\n').map((l) => (JSON.parse(l) as { level: string }).level);
      assert.deepEqual(severe, entries.filter((e) => e.level === 'warn' || e.level === 'error').map((e) => e.level));
    });

    it('refuses bad --lines and --level values and unknown options with exit 2 and its usage', async () => {
      for (const bad of ['0', 'all', '5001', '-1']) {
        assertUsage(await ctl(['logs', `--lines=${bad}`], env), new RegExp(`--lines must be a whole number from 1 to 5000 \\(got "${bad}"\\)`), /logs \[--lines N\] \[--level L\] \[--json\]/);
      }
      assertUsage(await ctl(['logs', '--level', 'verbose'], env), /--level must be one of error, warn, info, debug \(got "verbose"\)/, /logs \[--lines N\]/);
      assertUsage(await ctl(['logs', '--follow'], env), /Unknown option '--follow'/, /logs \[--lines N\]/);
    });

    it('says where it looked when there is no log folder, and that an empty one has nothing at that level', async () => {
      const nowhere = join(dir, 'no-logs-here');
      const none = await ctl(['logs'], { ...env, CWA_LOG_DIR: nowhere });
      assert.equal(none.code, 2);
      assert.equal(none.out, '');
      assert.equal(none.err, `agentctl: there is no log folder at ${nowhere}: the agent has not run here yet, or logs elsewhere (CWA_LOG_DIR, CWA_DATA_DIR).`);
      const emptyDir = join(dir, 'empty-logs');
      mkdirSync(emptyDir);
      const empty = await ctl(['logs', '--level', 'error'], { ...env, CWA_LOG_DIR: emptyDir });
      assert.equal(empty.code, 0, empty.err);
      assert.equal(empty.out, `No log lines at level error or more severe in ${emptyDir}.`);
    });

    it('says permission denied, and what to do, for a log folder it may not read', { skip: isRoot ? 'root reads every folder' : false }, async () => {
      const locked = join(dir, 'locked-logs');
      mkdirSync(locked, { mode: 0o000 });
      try {
        const r = await ctl(['logs'], { ...env, CWA_LOG_DIR: locked });
        assert.equal(r.code, 2);
        assert.equal(r.err, `agentctl: cannot read the log in ${locked}: permission denied: run as the agent's account or an administrator.`);
      } finally {
        chmodSync(locked, 0o700);
      }
    });
  });

  describe('agentctl diagnostics', () => {
    const leftovers = (folder: string) => readdirSync(folder).filter((n) => n.includes('.partial-'));

    it('with the agent running: an owner-only zip with every part, status from the socket, the idle lock and the log', async () => {
      const out = join(dir, 'bundle-running.zip');
      const r = await ctl(['diagnostics', '--out', out], env, keyStore);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, new RegExp(`^wrote ${out} \\(16 files, \\d+ bytes\\) for device ${device}; agent running$`));
      assert.equal(statSync(out).mode & 0o777, 0o600);
      assert.deepEqual(leftovers(dir), []);
      const files = byName(await readZip(out), device);
      assert.deepEqual([...files.keys()].sort(), EXPECTED_FILES);

      const st = JSON.parse(files.get('status.json')!) as { deviceId: string; version: string; session: { phase: string; owner: string } };
      assert.deepEqual([st.deviceId, st.version, st.session.phase, st.session.owner], [device, '0.1.0-test', 'locked', NURSE]);
      assert.match(files.get('status.txt')!, new RegExp(`^device {3}${device}`, 'm'));
      assert.match(files.get('README.txt')!, /^Agent: {6}running, version 0\.1\.0-test, since /m);
      assert.match(files.get('README.txt')!, /^Everything listed above was collected\.$/m);
      assert.match(files.get('session-history.txt')!, /nurse-0042's session locked after \d+ s without input \(policy: lock after 2 s idle\)\./);
      const effective = JSON.parse(files.get('policy/effective.json')!) as { session: { lockAfterSeconds: number }; logging: { level: string } };
      assert.deepEqual([effective.session.lockAfterSeconds, effective.logging.level], [2, 'debug']);
      const inForce = JSON.parse(files.get('policy/in-force.json')!) as { source: string };
      assert.equal(inForce.source, paths.policyFile);
      const audit = JSON.parse(files.get('audit.json')!) as { buffer: { count: number; chainHead: { seq: number } }; runningAgent: unknown };
      assert.ok(audit.buffer.count > 0 && audit.buffer.chainHead.seq > 0);
      assert.notEqual(audit.runningAgent, undefined);
      const keychain = JSON.parse(files.get('keychain.json')!) as { auditDatabaseKey: boolean; deviceSigningKey: boolean; organisationDirectoryKey: { present: boolean } };
      assert.deepEqual([keychain.auditDatabaseKey, keychain.deviceSigningKey], [true, true]);
      const recent = files.get('logs/recent.jsonl')!.trimEnd().split('\n').map((l) => JSON.parse(l) as { message: string });
      assert.ok(recent.some((e) => /^agent 0\.1\.0-test started/.test(e.message)));
      const logFiles = JSON.parse(files.get('logs/files.json')!) as { folder: string; capBytes: number; files: { path: string }[] };
      assert.equal(logFiles.folder, paths.logDir);
      assert.equal(logFiles.capBytes, 5 * 1024 * 1024 * 5);
      assert.ok(logFiles.files.some((f) => f.path === join(paths.logDir, 'agent.log')));
      const versions = JSON.parse(files.get('versions.json')!) as { agentctl: string; runningAgent: string; runtime: { node: string } };
      assert.deepEqual([versions.runningAgent, versions.runtime.node], ['0.1.0-test', process.versions.node]);
    });

    it('--log-lines and --events bound what goes in', async () => {
      const out = join(dir, 'bundle-small.zip');
      const r = await ctl(['diagnostics', '--out', out, '--log-lines', '3', '--events', '2'], env, keyStore);
      assert.equal(r.code, 0, r.err);
      const files = byName(await readZip(out), device);
      const recent = files.get('logs/recent.jsonl')!.trimEnd().split('\n').map((l) => JSON.parse(l) as { message: string });
      assert.deepEqual(recent.map((e) => e.message), ['help desk test line 3', 'help desk test line 4', 'help desk test line 5']);
      assert.equal((JSON.parse(files.get('session-history.json')!) as { events: unknown[] }).events.length, 2);
    });

    it('refuses an --out that is not a .zip, a missing --out, bad counts and unknown options with exit 2 and its usage', async () => {
      const usage = /diagnostics --out FILE\.zip \[--force\] \[--log-lines N\] \[--events N\]/;
      assertUsage(await ctl(['diagnostics', '--out', join(dir, 'bundle.tar')], env, keyStore), /--out must name a \.zip file \(got "bundle\.tar"\)/, usage);
      assertUsage(await ctl(['diagnostics'], env, keyStore), /diagnostics needs --out FILE\.zip \(where to write the bundle\)/, usage);
      assertUsage(await ctl(['diagnostics', '--out', join(dir, 'x.zip'), '--log-lines', '0'], env, keyStore), /--log-lines must be a whole number from 1 to 20000/, usage);
      assertUsage(await ctl(['diagnostics', '--out', join(dir, 'x.zip'), '--events', 'many'], env, keyStore), /--events must be a whole number from 1 to 1000 \(got "many"\)/, usage);
      assertUsage(await ctl(['diagnostics', '--out', join(dir, 'x.zip'), '--include-keys'], env, keyStore), /Unknown option '--include-keys'/, usage);
      assert.equal(existsSync(join(dir, 'x.zip')), false);
    });

    it('never overwrites an existing file without --force, and replaces it with --force', async () => {
      const out = join(dir, 'ticket-4711.zip');
      writeFileSync(out, 'an earlier bundle');
      const refused = await ctl(['diagnostics', '--out', out], env, keyStore);
      assert.equal(refused.code, 2);
      assert.equal(refused.err, `agentctl: ${out} already exists: pass --force to replace it, or choose another name.`);
      assert.equal(statSync(out).size, 'an earlier bundle'.length, 'the file is untouched');
      const forced = await ctl(['diagnostics', '--out', out, '--force'], env, keyStore);
      assert.equal(forced.code, 0, forced.err);
      assert.deepEqual([...byName(await readZip(out), device).keys()].sort(), EXPECTED_FILES);
      assert.deepEqual(leftovers(dir), []);
    });

    it('says plainly when the target is a folder, the folder does not exist, or cannot be written, and leaves nothing behind', async () => {
      const folder = join(dir, 'bundles.zip');
      mkdirSync(folder);
      const isFolder = await ctl(['diagnostics', '--out', folder], env, keyStore);
      assert.equal(isFolder.code, 2);
      assert.equal(isFolder.err, `agentctl: ${folder} is a folder: give a file name, e.g. ${join(folder, 'diagnostics.zip')}`);

      const missing = join(dir, 'no-such-folder', 'b.zip');
      const absent = await ctl(['diagnostics', '--out', missing], env, keyStore);
      assert.equal(absent.code, 2);
      assert.equal(absent.err, `agentctl: cannot write ${missing}: the folder ${join(dir, 'no-such-folder')} does not exist.`);

      const readOnly = unwritableFolder(dir);
      const target = join(readOnly, 'b.zip');
      const denied = await ctl(['diagnostics', '--out', target], env, keyStore);
      assert.equal(denied.code, 2);
      assert.equal(denied.err, `agentctl: cannot write ${target}: permission denied in ${readOnly}. Choose a folder you can write to (your home folder or desktop).`);
      assert.equal(existsSync(target), false);
      assert.deepEqual(leftovers(dir), []);
    });

    it('with the agent stopped: everything from disk, and the README says the agent was not reachable', async () => {
      await status!.close();
      status = null;
      await agent!.stop('help desk test: agent stopped');
      agent = null;
      const out = join(dir, 'bundle-stopped.zip');
      const r = await ctl(['diagnostics', '--out', out], env, keyStore);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, new RegExp(`for device ${device}; agent not running$`));
      const files = byName(await readZip(out), device);
      assert.deepEqual([...files.keys()].sort(), EXPECTED_FILES);
      const st = JSON.parse(files.get('status.json')!) as { running: boolean; why: string };
      assert.equal(st.running, false);
      assert.match(st.why, /the agent is not running/);
      assert.match(files.get('README.txt')!, /^Agent: {6}not reachable: .*the agent is not running/m);
      assert.match(files.get('status.txt')!, /Everything else in this bundle was read from disk\./);
      assert.match(files.get('session-history.txt')!, /nurse-0042's session locked after \d+ s without input/);
      assert.match(files.get('session-history.txt')!, /The agent stopped\./);
      assert.equal((JSON.parse(files.get('policy/in-force.json')!) as { unavailable: boolean }).unavailable, true);
      assert.ok((JSON.parse(files.get('audit.json')!) as { buffer: { count: number } }).buffer.count > 0);

      // why works with the agent stopped too.
      const why = await ctl(['why', '--last', '1'], env, keyStore);
      assert.equal(why.code, 0, why.err);
      assert.match(why.out, /The agent stopped\.$/);
    });
  });
});
