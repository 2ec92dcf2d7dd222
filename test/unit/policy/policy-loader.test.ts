// The policy in force from every source IT can use: Group Policy and installer values in
// the registry (an in-memory stand-in for the OS API), an MDM managed-preferences plist and
// the machine policy file (real files in a temp folder). Precedence across the four kinds
// of source; audit events, not repeated for the same inputs; a source that cannot be read
// keeps its last good reading, also after a restart through the policy cache, so security
// settings stay enforced; an absent source drops out; and watching picks up changes.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GPO_KEY, INSTALLER_KEY } from '../../../main/policy/locations';
import { ManagedPreferencesSource } from '../../../main/policy/managed-preferences';
import { PolicyCache } from '../../../main/policy/policy-cache';
import { PolicyFileSource } from '../../../main/policy/policy-file';
import { PolicyLoader, readEffectivePolicy, type PolicySnapshot } from '../../../main/policy/policy-loader';
import { DEFAULTS_SOURCE } from '../../../main/policy/policy-status';
import { RegistryPolicySource } from '../../../main/policy/registry-source';
import type { PolicySource } from '../../../main/policy/sources';
import { MemoryRegistry, writePolicyToRegistry } from '../../support/memory-registry';
import { MemoryAuditRecorder } from '../../support/session-doubles';

const GPO = `Group Policy HKLM\\${GPO_KEY}`;
const INSTALLER = `installer value HKLM\\${INSTALLER_KEY}`;
const onPosix = process.platform !== 'win32';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

/** Snapshots the loader reported (onChange, onRejected), awaitable by content. */
class SnapshotLog {
  readonly seen: PolicySnapshot[] = [];
  private waiters: { match: (s: PolicySnapshot) => boolean; resolve: (s: PolicySnapshot) => void }[] = [];

  push(s: PolicySnapshot): void {
    this.seen.push(s);
    const ready = this.waiters.filter((w) => w.match(s));
    this.waiters = this.waiters.filter((w) => !w.match(s));
    for (const w of ready) w.resolve(s);
  }

  /** The next reported snapshot that matches (register before causing the change). */
  next(match: (s: PolicySnapshot) => boolean, what: string): Promise<PolicySnapshot> {
    return new Promise((resolve, reject) => {
      // A guard against hanging, not a timing assertion.
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no snapshot with ${what} within 10 s`));
      }, 10_000);
      const waiter = {
        match,
        resolve: (s: PolicySnapshot) => {
          clearTimeout(timer);
          resolve(s);
        },
      };
      this.waiters.push(waiter);
    });
  }
}

/** Writes a file only its owner can change (the loader refuses anything else). */
function writeOwnerOnly(path: string, content: unknown): void {
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  chmodSync(path, 0o644);
}

async function writePlist(path: string, value: Record<string, unknown>): Promise<void> {
  const { build } = await import('plist');
  writeOwnerOnly(path, build(value as Parameters<typeof build>[0]));
}

function setup(opts: { cachePath?: string; filePollMs?: number } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'cwa-policy-loader-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const etc = join(dir, 'etc');
  mkdirSync(etc);
  chmodSync(etc, 0o755);
  const file = join(etc, 'policy.json');
  const plist = join(dir, 'managed', 'org.clinicalworkstation.agent.plist');
  mkdirSync(join(dir, 'managed'));
  const registry = new MemoryRegistry();
  // Given out of order: the loader sorts them by precedence.
  const sources: PolicySource[] = [
    new PolicyFileSource({ name: 'machine-file', path: file, pollMs: opts.filePollMs }),
    new RegistryPolicySource('installer', INSTALLER_KEY, () => registry, {}),
    new ManagedPreferencesSource(plist),
    new RegistryPolicySource('group-policy', GPO_KEY, () => registry, {}),
  ];
  const cachePath = opts.cachePath ?? join(dir, 'data', 'policy-cache.json');
  const audit = new MemoryAuditRecorder();
  const errors: Error[] = [];
  const log = new SnapshotLog();
  const rejected = new SnapshotLog();
  /** A loader as the agent builds one at start; a second call is the agent after a restart. */
  const start = (more: { cache?: PolicyCache | null; pollMs?: number } = {}) => {
    const loader = new PolicyLoader({
      sources,
      recorder: audit,
      cache: more.cache === undefined ? new PolicyCache(cachePath) : more.cache,
      onChange: (s) => log.push(s),
      onRejected: (s) => rejected.push(s),
      onError: (e) => errors.push(e),
      debounceMs: 20,
      pollMs: more.pollMs,
      now: () => Date.parse('2025-03-04T05:06:07.000Z'),
    });
    cleanups.push(() => loader.dispose());
    return loader;
  };
  return { dir, etc, file, plist, registry, sources, cachePath, audit, errors, log, rejected, start };
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const sourceState = (snap: PolicySnapshot, name: string) => snap.sources.find((s) => s.name === name)!;
const effective = (snap: PolicySnapshot, key: string) => snap.effective.find((e) => e.key === key)!;

describe('PolicyLoader: precedence and audit', () => {
  it('runs on the safe defaults when no source is configured, and audits that once', async () => {
    const { start, audit, errors } = setup();
    const loader = start();
    const snap = await loader.load();
    assert.equal(snap.source, DEFAULTS_SOURCE);
    assert.equal(snap.hash, null);
    assert.deepEqual(snap.errors, []);
    assert.equal(snap.policy.session.lockAfterSeconds, 300);
    assert.deepEqual(snap.sources.map((s) => [s.name, s.state]), [
      ['group-policy', 'absent'],
      ['mdm', 'absent'],
      ['installer', 'absent'],
      ['machine-file', 'absent'],
    ]);
    await loader.load();
    assert.deepEqual(audit.events.map((e) => [e.action, e.details.source, e.details.hash]), [['policy.loaded', DEFAULTS_SOURCE, null]]);
    assert.deepEqual(errors, []);
  });

  it('takes each setting from the highest of Group Policy, MDM, installer values and the policy file that sets it', async () => {
    const { start, registry, file, plist } = setup();
    writePolicyToRegistry(registry, GPO_KEY, { session: { lockAfterSeconds: 120 } });
    await writePlist(plist, { PayloadUUID: 'B3C9D2E1-0000-4000-8000-000000000001', session: { lockAfterSeconds: 180, tapOut: 'off' } });
    writePolicyToRegistry(registry, INSTALLER_KEY, { session: { tapOut: 'logoff' }, auth: { helpDesk: 'Call extension 2000.' } });
    const fileText = JSON.stringify({ session: { lockAfterSeconds: 600 }, auth: { helpDesk: 'Call extension 1000.' }, logging: { level: 'debug' } });
    writeOwnerOnly(file, fileText);
    const snap = await start().load();

    assert.deepEqual(snap.errors, []);
    const view = (key: string) => {
      const e = effective(snap, key);
      return [e.value, e.source, e.overrode];
    };
    assert.deepEqual(view('session.lockAfterSeconds'), [120, 'group-policy', [{ source: 'mdm', value: 180 }, { source: 'machine-file', value: 600 }]]);
    assert.deepEqual(view('session.tapOut'), ['off', 'mdm', [{ source: 'installer', value: 'logoff' }]]);
    assert.deepEqual(view('auth.helpDesk'), ['Call extension 2000.', 'installer', [{ source: 'machine-file', value: 'Call extension 1000.' }]]);
    assert.deepEqual(view('logging.level'), ['debug', 'machine-file', []]);
    assert.deepEqual([snap.policy.session.lockAfterSeconds, snap.policy.session.tapOut, snap.policy.auth.helpDesk], [120, 'off', 'Call extension 2000.']);

    assert.deepEqual(snap.sources.map((s) => [s.name, s.state, s.location]), [
      ['group-policy', 'ok', `HKLM\\${GPO_KEY}`],
      ['mdm', 'ok', plist],
      ['installer', 'ok', `HKLM\\${INSTALLER_KEY}`],
      ['machine-file', 'ok', file],
    ]);
    assert.equal(sourceState(snap, 'machine-file').hash, sha256(fileText));
    assert.equal(snap.source, `${GPO} + MDM profile ${plist} + ${INSTALLER} + policy file ${file}`);
    assert.equal(snap.hash, sha256(snap.sources.map((s) => `${s.name}=${s.hash}`).join('\n')), 'one hash over every reading in force');
  });

  it('audits policy.loaded with every source and hash; the same inputs are not audited again, a change is', async () => {
    const { start, registry, file, audit } = setup();
    writePolicyToRegistry(registry, GPO_KEY, { session: { profile: 'emergency-department' } });
    writeOwnerOnly(file, { logging: { level: 'warn' } });
    const loader = start();
    const first = await loader.load();
    await loader.load();
    await Promise.all([loader.load(), loader.load()]);
    assert.equal(audit.events.length, 1, audit.events.map((e) => e.action).join(', '));
    const loaded = audit.events[0]!;
    assert.equal(loaded.action, 'policy.loaded');
    assert.deepEqual(loaded.details, {
      source: first.source,
      hash: first.hash,
      sources: first.sources.map((s) => `${s.name}=${s.state}${s.hash ? `:${s.hash}` : ''}`),
      sessionProfile: 'emergency-department',
      allowExtendedTimeouts: false,
      rejectedSettings: 0,
    });
    assert.deepEqual((loaded.details.sources as string[]).map((s) => s.replace(/:[0-9a-f]{64}$/, '')), ['group-policy=ok', 'mdm=absent', 'installer=absent', 'machine-file=ok']);

    writeOwnerOnly(file, { logging: { level: 'error' } });
    const second = await loader.load();
    assert.equal(second.policy.logging.level, 'error');
    assert.deepEqual(audit.events.map((e) => e.action), ['policy.loaded', 'policy.loaded']);
    assert.notEqual(audit.events[1]!.details.hash, first.hash);
  });

  it('rejects a bad value for its source only, audits policy.rejected once, and clears it when fixed', async () => {
    const { start, registry, file, audit, rejected } = setup();
    writeOwnerOnly(file, { session: { lockAfterSeconds: 600, strongFactor: 'fido2' } });
    writePolicyToRegistry(registry, GPO_KEY, { session: { lockAfterSeconds: -5, tapOut: 'off' } });
    const loader = start();
    const snap = await loader.load();
    assert.equal(snap.policy.session.lockAfterSeconds, 600, "the policy file's value, the GPO's being rejected");
    assert.equal(snap.policy.session.tapOut, 'off', "the GPO's other settings apply");
    assert.deepEqual(snap.errors, [`session.lockAfterSeconds: must be at least 1 s (${GPO})`]);
    assert.deepEqual(effective(snap, 'session.lockAfterSeconds').source, 'machine-file');
    const event = audit.events.at(-1)!;
    assert.equal(event.action, 'policy.rejected');
    assert.equal(event.outcome, 8);
    assert.deepEqual([event.details.source, event.details.errors, event.details.hash], ['group-policy', snap.errors, snap.hash]);
    assert.equal(audit.events.find((e) => e.action === 'policy.loaded')?.details.rejectedSettings, 1);

    await loader.load();
    assert.equal(audit.events.filter((e) => e.action === 'policy.rejected').length, 1, 'the same problem is not audited again');
    assert.equal(rejected.seen.length, 1);

    writePolicyToRegistry(registry, GPO_KEY, { session: { lockAfterSeconds: 90 } });
    const fixed = await loader.load();
    assert.deepEqual(fixed.errors, []);
    assert.equal(fixed.policy.session.lockAfterSeconds, 90);
    assert.equal(audit.events.at(-1)!.action, 'policy.loaded');
  });

  it('loads a policy with a malformed auth.origin, rejecting that value only (a schema that throws would stop the agent)', async () => {
    const { start, file } = setup();
    writeOwnerOnly(file, { auth: { origin: 'lock screen' }, session: { tapOut: 'off' } });
    const snap = await start().load();
    assert.deepEqual(snap.errors, [`auth.origin: the pages origin must be an http(s) URL such as http://localhost (policy file ${file})`]);
    assert.equal(snap.policy.auth.origin, 'http://localhost');
    assert.equal(snap.policy.session.tapOut, 'off');
  });

  it('reports an unknown key and a value MDM could not express, with the source they came from', async () => {
    const { start, plist, file } = setup();
    await writePlist(plist, { session: { lockAfterSecond: 120, tapOut: 'off' }, auth: { helpDesk: new Date('2025-01-01T00:00:00Z') } });
    writeOwnerOnly(file, { auth: { helpDesk: 'Call extension 1000.' } });
    const snap = await start().load();
    assert.deepEqual(
      snap.rejections.map((r) => [r.source, r.key, r.reason, r.fix]),
      [
        ['mdm', 'auth.helpDesk', 'a <date> value, which no policy setting takes', 'use <string>, <integer>, <real>, <true/>/<false/>, <array> or <dict>'],
        ['mdm', 'session.lockAfterSecond', 'unknown setting (check the spelling)', 'did you mean session.lockAfterSeconds? Correct the spelling, or remove it'],
      ],
    );
    assert.equal(snap.policy.auth.helpDesk, 'Call extension 1000.');
    assert.equal(snap.policy.session.tapOut, 'off');
  });

  it('reports an audit failure without losing the policy', async () => {
    const { start, file, audit, errors } = setup();
    writeOwnerOnly(file, { session: { profile: 'back-office' } });
    audit.failing = true;
    const snap = await start().load();
    assert.equal(snap.policy.session.profile, 'back-office');
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.message, /the audit store is closed/);
  });

  it('reads the effective policy once for offline commands, without audit or cache', async () => {
    const { sources, registry, file, cachePath } = setup();
    writePolicyToRegistry(registry, GPO_KEY, { session: { lockAfterSeconds: 120, strongFactor: 'sms' } });
    writeOwnerOnly(file, { session: { lockAfterSeconds: 600, strongFactor: 'fido2' } });
    const policy = await readEffectivePolicy(sources);
    assert.deepEqual([policy.session.lockAfterSeconds, policy.session.strongFactor], [120, 'fido2']);
    assert.equal(existsSync(cachePath), false);
  });
});

describe('PolicyLoader: a source that cannot be read keeps its last good reading', () => {
  it('keeps the Group Policy lock timeout when the registry fails, also after a restart, and says so', async () => {
    const { start, registry, file, audit, cachePath, rejected } = setup();
    writePolicyToRegistry(registry, GPO_KEY, { session: { lockAfterSeconds: 120 } });
    writeOwnerOnly(file, { session: { lockAfterSeconds: 600 } });
    const loader = start();
    const good = await loader.load();
    assert.equal(good.policy.session.lockAfterSeconds, 120);
    const gpoHash = sourceState(good, 'group-policy').hash;
    assert.ok(existsSync(cachePath), 'the last good readings are cached');

    registry.failing = new Error('RegOpenKeyExW failed: Access is denied. (5)');
    const failing = await loader.load();
    assert.equal(failing.policy.session.lockAfterSeconds, 120, 'the GPO value stays enforced');
    assert.equal(effective(failing, 'session.lockAfterSeconds').source, 'group-policy');
    const gpo = sourceState(failing, 'group-policy');
    assert.deepEqual([gpo.state, gpo.hash, gpo.keptFrom], ['unreadable', gpoHash, '2025-03-04T05:06:07.000Z']);
    assert.match(gpo.why ?? '', /Access is denied/);
    assert.equal(gpo.fix, `check that the agent's account may read HKLM\\${GPO_KEY}`);
    assert.deepEqual(failing.errors, [
      `(Group Policy HKLM\\${GPO_KEY}): cannot read the registry key HKLM\\${GPO_KEY} (RegOpenKeyExW failed: Access is denied. (5)); the policy read from it at 2025-03-04T05:06:07.000Z stays in force`,
      `(installer value HKLM\\${INSTALLER_KEY}): cannot read the registry key HKLM\\${INSTALLER_KEY} (RegOpenKeyExW failed: Access is denied. (5)); the other sources and the defaults apply`,
    ]);
    assert.deepEqual(audit.events.map((e) => e.action), ['policy.loaded', 'policy.rejected'], 'the same readings are in force: no new policy.loaded');
    assert.equal(audit.events[1]!.details.source, 'group-policy,installer');
    assert.equal(rejected.seen.length, 1);

    // The agent restarts while the registry still fails: the cache still enforces the GPO.
    loader.dispose();
    const restarted = await start().load();
    assert.equal(restarted.policy.session.lockAfterSeconds, 120);
    assert.equal(sourceState(restarted, 'group-policy').keptFrom, '2025-03-04T05:06:07.000Z');
    assert.equal(restarted.hash, good.hash, 'the same readings are in force');

    // Without the cache a restart could only fall back to the file: that is what the cache prevents.
    const forgetful = await start({ cache: null }).load();
    assert.equal(forgetful.policy.session.lockAfterSeconds, 600);
    assert.match(forgetful.errors[0] ?? '', /; the other sources and the defaults apply$/);
  });

  it('keeps the policy file in force while it is group-writable or not JSON, also after a restart', { skip: !onPosix && 'mode bits mean nothing on Windows; the installer sets the ACL' }, async () => {
    const { start, file } = setup();
    writeOwnerOnly(file, { session: { lockAfterSeconds: 600 } });
    const loader = start();
    assert.equal((await loader.load()).policy.session.lockAfterSeconds, 600);

    writeOwnerOnly(file, { session: { lockAfterSeconds: 60 } });
    chmodSync(file, 0o664);
    const writable = await loader.load();
    assert.equal(writable.policy.session.lockAfterSeconds, 600, 'a value anyone in the group could have written is not taken');
    const state = sourceState(writable, 'machine-file');
    assert.deepEqual([state.state, state.why], ['unreadable', 'the file can be changed by other accounts (mode 664)']);
    assert.match(writable.errors[0] ?? '', /^\(policy file .*policy\.json\): the file can be changed by other accounts \(mode 664\); the policy read from it at .* stays in force$/);

    writeOwnerOnly(file, '{ "session": { "lockAfterSeconds": 60, } }');
    const broken = await loader.load();
    assert.equal(broken.policy.session.lockAfterSeconds, 600);
    assert.match(sourceState(broken, 'machine-file').why ?? '', /^not valid JSON/);
    assert.match(sourceState(broken, 'machine-file').fix ?? '', /agentctl policy check .*policy\.json shows every problem/);

    loader.dispose();
    const restarted = await start().load();
    assert.equal(restarted.policy.session.lockAfterSeconds, 600, 'still enforced after a restart');

    writeOwnerOnly(file, ['session']);
    const notAnObject = await start().load();
    assert.equal(notAnObject.policy.session.lockAfterSeconds, 600);
    assert.match(sourceState(notAnObject, 'machine-file').why ?? '', /must hold one JSON object/);

    writeOwnerOnly(file, { session: { lockAfterSeconds: 60 } });
    assert.equal((await start().load()).policy.session.lockAfterSeconds, 60, 'a good file is taken again');
  });

  it('drops an absent source and its cached reading: removing the policy is how IT turns it off', async () => {
    const { start, registry, file, cachePath } = setup();
    writePolicyToRegistry(registry, GPO_KEY, { session: { lockAfterSeconds: 120 } });
    writeOwnerOnly(file, { session: { lockAfterSeconds: 600, tapOut: 'off' } });
    const loader = start();
    await loader.load();
    const cache = new PolicyCache(cachePath);
    assert.deepEqual([...(await cache.load()).readings.keys()].sort(), ['group-policy', 'machine-file']);

    rmSync(file);
    const noFile = await loader.load();
    assert.equal(noFile.policy.session.tapOut, 'lock', 'back to the default');
    assert.equal(sourceState(noFile, 'machine-file').state, 'absent');
    assert.deepEqual(noFile.errors, []);
    assert.deepEqual([...(await cache.load()).readings.keys()], ['group-policy']);

    registry.deleteTree(GPO_KEY);
    const nothing = await loader.load();
    assert.equal(nothing.source, DEFAULTS_SOURCE);
    assert.equal(nothing.policy.session.lockAfterSeconds, 300);
    assert.equal(existsSync(cachePath), false, 'no reading left to keep');

    // And a restart with the registry failing has nothing to fall back on but the defaults.
    registry.failing = new Error('hive unloaded');
    assert.equal((await start().load()).policy.session.lockAfterSeconds, 300);
  });

  it('ignores a damaged cache, reports it, and writes a good one from the sources', async () => {
    for (const [content, problem] of [
      ['{"version":1,"sources":{"group-policy":', /is damaged \(not JSON\) and is ignored/],
      [JSON.stringify({ version: 2, sources: {} }), /is damaged and is ignored/],
      [JSON.stringify({ version: 1, sources: { 'group-policy': { origin: 'x', hash: 'not-a-hash', readAt: 'x', document: {} } } }), /is damaged and is ignored/],
    ] as const) {
      const { start, file, cachePath, errors } = setup();
      mkdirSync(join(cachePath, '..'), { recursive: true });
      writeFileSync(cachePath, content, { mode: 0o600 });
      writeOwnerOnly(file, { session: { lockAfterSeconds: 240 } });
      const snap = await start().load();
      assert.equal(snap.policy.session.lockAfterSeconds, 240);
      assert.equal(errors.length, 1, content);
      assert.match(errors[0]!.message, problem);
      assert.ok(errors[0]!.message.includes(cachePath));
      const reread = await new PolicyCache(cachePath).load();
      assert.equal(reread.problem, null, 'rewritten from the sources');
      assert.deepEqual([...reread.readings.keys()], ['machine-file']);
    }
  });

  it('ignores a cache other accounts could have changed', { skip: !onPosix && 'mode bits mean nothing on Windows' }, async () => {
    const { start, registry, cachePath, errors } = setup();
    writePolicyToRegistry(registry, GPO_KEY, { session: { lockAfterSeconds: 120 } });
    await start().load();
    // Someone loosens the cache and plants a longer timeout in it; then the registry fails.
    const planted = JSON.parse(JSON.stringify(await new PolicyCache(cachePath).load().then((c) => Object.fromEntries(c.readings)))) as Record<string, { document: unknown }>;
    planted['group-policy']!.document = { session: { lockAfterSeconds: 900 } };
    writeFileSync(cachePath, JSON.stringify({ version: 1, sources: planted }));
    chmodSync(cachePath, 0o666);
    registry.failing = new Error('hive unloaded');
    const snap = await start().load();
    assert.equal(snap.policy.session.lockAfterSeconds, 300, 'the planted value is not taken');
    assert.match(errors[0]?.message ?? '', /is ignored: the file can be changed by other accounts \(mode 666\)/);
  });
});

describe('PolicyLoader: watching', () => {
  it('reloads when the policy file changes in place or is replaced atomically', async () => {
    const { start, file, etc, log, rejected } = setup();
    writeOwnerOnly(file, { session: { lockAfterSeconds: 300 } });
    const loader = start();
    await loader.load();
    loader.watch();

    let next = log.next((s) => s.policy.session.lockAfterSeconds === 120, 'lockAfterSeconds 120');
    writeOwnerOnly(file, { session: { lockAfterSeconds: 120 } });
    await next;

    const bad = rejected.next((s) => s.errors.some((e) => e.startsWith('session.lockAfterSeconds: ')), 'the bad value rejected');
    writeOwnerOnly(file, { session: { lockAfterSeconds: -5 } });
    assert.equal((await bad).policy.session.lockAfterSeconds, 300, 'the default, as no other source sets it');

    next = log.next((s) => s.policy.session.lockAfterSeconds === 90, 'lockAfterSeconds 90');
    const tmp = join(etc, '.policy.json.tmp');
    writeOwnerOnly(tmp, { session: { lockAfterSeconds: 90 } });
    renameSync(tmp, file);
    const replaced = await next;
    assert.deepEqual(replaced.errors, []);
    assert.deepEqual(
      log.seen.map((s) => s.policy.session.lockAfterSeconds),
      [300, 120, 300, 90],
    );
  });

  it('picks up a policy file whose folder appears after the agent started', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwa-policy-late-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'not-yet', 'policy.json');
    const log = new SnapshotLog();
    const loader = new PolicyLoader({
      sources: [new PolicyFileSource({ name: 'machine-file', path, pollMs: 20 })],
      recorder: new MemoryAuditRecorder(),
      debounceMs: 10,
      onChange: (s) => log.push(s),
    });
    cleanups.push(() => loader.dispose());
    assert.equal((await loader.load()).source, DEFAULTS_SOURCE);
    loader.watch();
    const deployed = log.next((s) => s.policy.session.profile === 'back-office', 'the deployed profile');
    mkdirSync(join(dir, 'not-yet'));
    writeOwnerOnly(path, { session: { profile: 'back-office' } });
    const snap = await deployed;
    assert.equal(snap.source, path);
  });

  it('polls the sources it cannot watch (the registry)', async () => {
    const { start, registry, log } = setup();
    const loader = start({ pollMs: 25 });
    await loader.load();
    loader.watch();
    const next = log.next((s) => s.policy.session.tapOut === 'logoff', 'the GPO value');
    writePolicyToRegistry(registry, GPO_KEY, { session: { tapOut: 'logoff' } });
    assert.equal(effective(await next, 'session.tapOut').source, 'group-policy');
  });
});
