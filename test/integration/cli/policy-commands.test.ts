// agentctl policy as IT uses it: `check` validates a file before it ships (JSON, a plist,
// a .mobileconfig) and prints every error as `path: reason` with a fix; `show` reads the
// running agent's effective policy over the status socket: problems first, the winning
// source per setting and what it overrode. The agent is the real one (real keychain, real
// audit store); Group Policy and installer values come from the in-memory registry stand-in.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Agent } from '../../../main/agent';
import { runAgentctl } from '../../../main/cli/agentctl';
import { GPO_KEY, INSTALLER_KEY } from '../../../main/policy/locations';
import { PolicyFileSource } from '../../../main/policy/policy-file';
import { policyStatusSchema } from '../../../main/policy/policy-status';
import { RegistryPolicySource } from '../../../main/policy/registry-source';
import { KeytarKeyStore } from '../../../main/platform/keystore';
import { createAgentLogger } from '../../../main/platform/logger';
import { defaultPaths } from '../../../main/platform/paths';
import { startStatusServer, type StatusServer } from '../../../main/status/status-server';
import { uniqueService } from '../../support/audit-fixture';
import { MemoryRegistry, writePolicyToRegistry } from '../../support/memory-registry';
import { until } from '../../support/until';

const run = promisify(execFile);
const BIN = join(__dirname, '../../../main/cli/agentctl.js');
const SHIPPED_PROFILE = resolve(__dirname, '../../../../build/policy/org.clinicalworkstation.agent.mobileconfig');

async function ctl(argv: string[], env: NodeJS.ProcessEnv) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runAgentctl(argv, { out: (l) => out.push(l), err: (l) => err.push(l), env });
  return { code, out, err: err.join('\n') };
}

async function plistXml(value: unknown): Promise<string> {
  const { build } = await import('plist');
  return build(value as Parameters<typeof build>[0]);
}

describe('agentctl policy check FILE', () => {
  let dir: string;
  const env = () => ({ CWA_DATA_DIR: join(dir, 'no-agent') });
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'cwa-policy-check-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('passes a good file with exit 0 and says how many settings it sets', async () => {
    const path = join(dir, 'good.json');
    writeFileSync(path, `\uFEFF${JSON.stringify({ session: { profile: 'emergency-department', tapOut: 'off' }, logging: { level: 'warn' } })}`);
    const r = await ctl(['policy', 'check', path], env());
    assert.equal(r.code, 0, r.out.join('\n') + r.err);
    assert.deepEqual(r.out, [`OK: 3 settings in ${path}; every other setting keeps its default`]);
  });

  it('fails a bad file with exit 1, every error as "path: reason" followed by its fix', async () => {
    const path = join(dir, 'bad.json');
    writeFileSync(path, JSON.stringify({ session: { lockAfterSeconds: 3600, strongFactor: 'sms', lockAfterSecond: 5 }, forwarding: { batch: { maxEvents: 0 } }, colour: 'blue' }));
    const r = await ctl(['policy', 'check', path], env());
    assert.equal(r.code, 1);
    assert.deepEqual(r.out, [
      'session.lockAfterSeconds: 3600 s is above the limit of 900 s for workstations that can show patient data; set allowExtendedTimeouts: true to allow up to 3600 s',
      '  fix: change it as the reason says, or remove it so the next source or the default applies',
      'session.strongFactor: Invalid option: expected one of "pin"|"fido2"',
      '  fix: use one of pin, fido2',
      'forwarding.batch.maxEvents: Too small: expected number to be >=1',
      '  fix: use a whole number from 1 to 10000',
      'session.lockAfterSecond: unknown setting (check the spelling)',
      '  fix: did you mean session.lockAfterSeconds? Correct the spelling, or remove it',
      'colour: unknown setting (check the spelling)',
      '  fix: remove it, or correct its spelling (agentctl policy show --all lists every setting)',
      `FAILED: 5 errors in ${path}. The agent would reject these values and use the next source's value or the default instead.`,
    ]);
  });

  it('fails a file that is not JSON, or not one JSON object, saying the agent cannot read it at all', async () => {
    const notJson = join(dir, 'trailing-comma.json');
    writeFileSync(notJson, '{ "session": { "lockAfterSeconds": 300, } }');
    const r = await ctl(['policy', 'check', notJson], env());
    assert.equal(r.code, 1);
    assert.match(r.out[0] ?? '', /^\(file\): not valid JSON \(.+\)$/);
    assert.equal(r.out[1], '  fix: fix the JSON syntax at the position named (strict JSON: double quotes, no comments, no trailing commas)');
    assert.equal(r.out[2], `FAILED: the agent cannot read ${notJson} at all; it would keep the policy it last read from there.`);
    assert.equal(r.out.length, 3);

    const list = join(dir, 'list.json');
    writeFileSync(list, '[{ "session": {} }]');
    const l = await ctl(['policy', 'check', list], env());
    assert.equal(l.code, 1);
    assert.equal(l.out[0], '(file): the file must hold one JSON object: { "session": { … }, … }');
  });

  it('says clearly, with exit 2, when the file does not exist or no file is named', async () => {
    const missing = join(dir, 'nowhere', 'policy.json');
    const r = await ctl(['policy', 'check', missing], env());
    assert.equal(r.code, 2);
    assert.deepEqual(r.out, []);
    assert.equal(r.err, `agentctl: cannot read ${missing}: ENOENT`);
    const none = await ctl(['policy', 'check'], env());
    assert.equal(none.code, 2);
    assert.match(none.err, /^agentctl: policy check needs one FILE \(got 0\)/);
    const unknown = await ctl(['policy', 'apply'], env());
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /unknown policy subcommand "apply"[\s\S]*policy check FILE/);
  });

  it('checks the shipped .mobileconfig template: each placeholder is an error with its setting path', async () => {
    const r = await ctl(['policy', 'check', SHIPPED_PROFILE], env());
    assert.equal(r.code, 1);
    const errors = r.out.filter((l) => !l.startsWith('  fix: ') && !l.startsWith('FAILED: '));
    assert.ok(errors.includes('session.lockAfterSeconds: Invalid input: expected number, received string'), errors.join('\n'));
    for (const line of errors) assert.match(line, /^[a-z][\w.]*: \S/, line);
    assert.equal(r.out.filter((l) => l.startsWith('  fix: ')).length, errors.length, 'a fix for every error');
    assert.match(r.out.at(-1) ?? '', new RegExp(`^FAILED: ${errors.length} errors in `));
  });

  it('passes a filled-in .mobileconfig and a managed-preferences .plist', async () => {
    const payload = { PayloadType: 'org.clinicalworkstation.agent', PayloadUUID: 'B3C9D2E1-0000-4000-8000-000000000004', PayloadVersion: 1, session: { lockAfterSeconds: 240 }, auth: { helpDesk: 'Call extension 4357.' } };
    const profile = join(dir, 'ward.mobileconfig');
    writeFileSync(profile, await plistXml({ PayloadType: 'Configuration', PayloadContent: [payload] }));
    const p = await ctl(['policy', 'check', profile], env());
    assert.equal(p.code, 0, p.out.join('\n'));
    assert.deepEqual(p.out, [`OK: 2 settings in ${profile}; every other setting keeps its default`]);

    const prefs = join(dir, 'org.clinicalworkstation.agent.plist');
    writeFileSync(prefs, await plistXml({ session: { lockAfterSeconds: 'five minutes' } }));
    const bad = await ctl(['policy', 'check', prefs], env());
    assert.equal(bad.code, 1);
    assert.equal(bad.out[0], 'session.lockAfterSeconds: Invalid input: expected number, received string');

    const noPayload = join(dir, 'other.mobileconfig');
    writeFileSync(noPayload, await plistXml({ PayloadContent: [{ PayloadType: 'com.apple.wifi.managed' }] }));
    const np = await ctl(['policy', 'check', noPayload], env());
    assert.equal(np.code, 1);
    assert.equal(np.out[0], '(file): the profile has no payload for org.clinicalworkstation.agent');
  });

  it('exits 1 as a real process (the compiled bin) for a file with errors', async () => {
    const path = join(dir, 'bin-bad.json');
    writeFileSync(path, JSON.stringify({ session: { tapOut: 'sometimes' } }));
    const failed = await run(process.execPath, [BIN, 'policy', 'check', path], { env: { ...process.env, ...env() } }).then(
      () => null,
      (err: { code: number; stdout: string }) => err,
    );
    assert.equal(failed?.code, 1);
    assert.match(failed!.stdout, /^session\.tapOut: Invalid option: expected one of "lock"\|"logoff"\|"off"\n {2}fix: use one of lock, logoff, off\nFAILED: 1 error in /);
  });

  it('prints one JSON object with --json', async () => {
    const path = join(dir, 'json-bad.json');
    writeFileSync(path, JSON.stringify({ session: { tapOut: 'sometimes', graceHours: 2 } }));
    const r = await ctl(['policy', 'check', path, '--json'], env());
    assert.equal(r.code, 1);
    assert.equal(r.out.length, 1);
    assert.deepEqual(JSON.parse(r.out[0]!), {
      file: path,
      ok: false,
      settings: 1,
      errors: [{ path: 'session.tapOut', reason: 'Invalid option: expected one of "lock"|"logoff"|"off"', fix: 'use one of lock, logoff, off' }],
    });
    const good = join(dir, 'json-good.json');
    writeFileSync(good, '{}');
    const g = await ctl(['policy', 'check', '--json', good], env());
    assert.equal(g.code, 0);
    assert.deepEqual(JSON.parse(g.out[0]!), { file: good, ok: true, settings: 0, errors: [] });
  });
});

describe('agentctl policy show (a running agent)', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let agent: Agent | null = null;
  let status: StatusServer | null = null;
  let keyStore: KeytarKeyStore;
  const registry = new MemoryRegistry();
  const GPO = `Group Policy HKLM\\${GPO_KEY}`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cwa-policy-show-'));
    const service = uniqueService('policy-show');
    env = { CWA_DATA_DIR: join(dir, 'data'), CWA_POLICY_FILE: join(dir, 'etc', 'policy.json'), CWA_KEYCHAIN_SERVICE: service };
    const paths = defaultPaths('linux', env);
    keyStore = new KeytarKeyStore(service);
    mkdirSync(join(dir, 'etc'));
    writeFileSync(paths.policyFile, JSON.stringify({ session: { lockAfterSeconds: 600, strongFactor: 'fido2' }, auth: { helpDesk: 'Call extension 1000.' }, logging: { level: 'warn' } }));
    chmodSync(paths.policyFile, 0o644);
    // Group Policy sets a shorter lock and a factor that does not exist; the MSI a help desk line.
    writePolicyToRegistry(registry, GPO_KEY, { session: { lockAfterSeconds: 120, strongFactor: 'sms' } });
    writePolicyToRegistry(registry, INSTALLER_KEY, { auth: { helpDesk: 'Call extension 2000.' } });
    agent = await Agent.start({
      version: '0.1.0-test',
      paths,
      keyStore,
      logger: createAgentLogger({ console: false }),
      machineId: 'policy-show-test',
      policyPollMs: 50,
      policySources: [
        new RegistryPolicySource('group-policy', GPO_KEY, () => registry, {}),
        new RegistryPolicySource('installer', INSTALLER_KEY, () => registry, {}),
        new PolicyFileSource({ name: 'machine-file', path: paths.policyFile }),
      ],
    });
    const running = agent;
    status = await startStatusServer(paths.statusSocket, () => running.status());
  });

  after(async () => {
    await status?.close();
    await agent?.stop('test done');
    for (const a of ['audit-db-key', 'device-signing-key']) await keyStore.delete(a).catch(() => false);
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists problems first, then each setting with its value, winning source and what it overrode', async () => {
    const r = await ctl(['policy', 'show'], env);
    assert.equal(r.code, 0, r.err);
    const text = r.out.join('\n');
    const file = env.CWA_POLICY_FILE!;
    assert.deepEqual(r.out.slice(0, 2), [
      `PROBLEM  session.strongFactor from Group Policy: Invalid option: expected one of "pin"|"fido2" (${GPO})`,
      '         fix: use one of pin, fido2',
    ]);
    assert.equal(
      (r.out[2] ?? '').replace(/sha256 [0-9a-f]{16}…/, 'sha256 …'),
      `policy   ${GPO} + installer value HKLM\\${INSTALLER_KEY} + policy file ${file} (sha256 …); 4 settings set, 1 rejected`,
    );
    assert.deepEqual(
      r.out.filter((l) => l.startsWith('source ')).map((l) => l.replace(/sha256 [0-9a-f]{16}…/, 'sha256 …')),
      [
        `source   Group Policy: read from HKLM\\${GPO_KEY}, sha256 …`,
        `source   installer value: read from HKLM\\${INSTALLER_KEY}, sha256 …`,
        `source   policy file: read from ${file}, sha256 …`,
      ],
    );

    const table = r.out.slice(r.out.indexOf('') + 1);
    assert.match(table[0] ?? '', /^SETTING +VALUE +SOURCE +NOTES$/);
    const cells = tableCells(table);
    assert.deepEqual(cells[0], ['session.strongFactor', 'fido2', 'policy file', 'rejected from Group Policy: Invalid option: expected one of "pin"|"fido2"'], 'the problem row first');
    const row = (key: string) => cells.find((c) => c[0] === key);
    assert.deepEqual(row('session.lockAfterSeconds'), ['session.lockAfterSeconds', '120', 'Group Policy', 'overrode policy file 600']);
    assert.deepEqual(row('auth.helpDesk'), ['auth.helpDesk', 'Call extension 2000.', 'installer value', 'overrode policy file Call extension 1000.']);
    assert.deepEqual(row('logging.level'), ['logging.level', 'warn', 'policy file', '']);
    assert.equal(cells.length, 4, 'only the settings some source sets');
    assert.equal(row('forwarding.batch.maxEvents'), undefined);
    assert.match(text, /^Settings not listed are at their default \(--all lists them\)\.$/m);
  });

  it('lists every setting with --all, the defaults last', async () => {
    const r = await ctl(['policy', 'show', '--all'], env);
    assert.equal(r.code, 0, r.err);
    const cells = tableCells(r.out.slice(r.out.indexOf('') + 1));
    assert.ok(cells.length >= 50, `${cells.length} rows`);
    assert.deepEqual(cells.find((c) => c[0] === 'forwarding.batch.maxEvents'), ['forwarding.batch.maxEvents', '500', 'default', '']);
    assert.deepEqual(cells.find((c) => c[0] === 'syslog.host'), ['syslog.host', '(not set)', 'default', '']);
    assert.deepEqual(cells.find((c) => c[0] === 'auth.badge.prefix'), ['auth.badge.prefix', '', 'default', ''], 'an empty value keeps its column');
    const firstDefault = cells.findIndex((c) => c[2] === 'default');
    assert.ok(cells.slice(firstDefault).every((c) => c[2] === 'default'), 'the defaults come after every setting a source sets');
    assert.equal(firstDefault, 4);
    assert.doesNotMatch(r.out.join('\n'), /Settings not listed/);
  });

  it('prints the effective policy as JSON with --json', async () => {
    const r = await ctl(['policy', 'show', '--json'], env);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.length, 1);
    const policy = policyStatusSchema.parse(JSON.parse(r.out[0]!));
    assert.deepEqual(policy.rejections.map((x) => [x.source, x.key, x.value]), [['group-policy', 'session.strongFactor', 'sms']]);
    assert.deepEqual(policy.sources.map((s) => [s.name, s.state]), [
      ['group-policy', 'ok'],
      ['installer', 'ok'],
      ['machine-file', 'ok'],
    ]);
    const lock = policy.effective.find((e) => e.key === 'session.lockAfterSeconds');
    assert.deepEqual([lock?.value, lock?.source, lock?.overrode], [120, 'group-policy', [{ source: 'machine-file', value: 600 }]]);
  });

  it('runs as a real process (the compiled bin) against the running agent', async () => {
    const { stdout } = await run(process.execPath, [BIN, 'policy', 'show', '--json'], { env: { ...process.env, ...env } });
    const policy = policyStatusSchema.parse(JSON.parse(stdout));
    assert.equal(policy.effective.find((e) => e.key === 'session.lockAfterSeconds')?.value, 120);
    assert.equal(policy.errors.length, 1);
  });

  it('shows a source that cannot be read as the first problem, and the GPO lock timeout still in force', async () => {
    registry.failing = new Error('RegOpenKeyExW failed: Access is denied. (5)');
    await until('the agent to notice the registry failing', () => agent!.status().policy.sources[0]?.state === 'unreadable');
    const r = await ctl(['policy', 'show'], env);
    assert.equal(r.code, 0, r.err);
    assert.equal(
      (r.out[0] ?? '').replace(/ at \S+ stays/, ' at … stays'),
      `PROBLEM  Group Policy: CANNOT BE READ: cannot read the registry key HKLM\\${GPO_KEY} (RegOpenKeyExW failed: Access is denied. (5)); ` +
        `the policy read from it at … stays in force (fix: check that the agent's account may read HKLM\\${GPO_KEY})`,
    );
    const cells = tableCells(r.out.slice(r.out.indexOf('') + 1));
    assert.deepEqual(cells.find((c) => c[0] === 'session.lockAfterSeconds'), ['session.lockAfterSeconds', '120', 'Group Policy', 'overrode policy file 600']);
  });
});

describe('agentctl policy show without an agent', () => {
  it('says plainly that no agent is running, with exit 2', async () => {
    const dataDir = join(tmpdir(), `cwa-no-agent-${process.pid}`);
    const r = await ctl(['policy', 'show'], { CWA_DATA_DIR: dataDir });
    assert.equal(r.code, 2);
    assert.deepEqual(r.out, []);
    assert.equal(r.err, `agentctl: Cannot read agent status from ${join(dataDir, 'status.sock')}: the agent is not running (or runs with another data folder).`);
  });
});

/** The rows of the settings table (header first), cut at the header's column starts. */
function tableCells(table: readonly string[]): string[][] {
  const header = table[0] ?? '';
  const starts = ['SETTING', 'VALUE', 'SOURCE', 'NOTES'].map((h) => header.indexOf(h));
  return table
    .slice(1)
    .filter((l) => l.length > 0 && !l.startsWith('Settings not listed'))
    .map((l) => starts.map((at, i) => l.slice(at, starts[i + 1] ?? l.length).trim()));
}
