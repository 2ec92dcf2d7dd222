// The machine policy file: defaults when absent, per-field errors when bad (the last valid
// policy stays), reload on change (also atomic replace), and an audit event for each outcome.
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULTS_SOURCE, PolicyFile, type PolicySnapshot } from '../../../main/policy/policy-file';
import { parsePolicyText } from '../../../main/policy/schema';
import { MemoryAuditRecorder } from '../../support/session-doubles';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function setup(opts: { watch?: boolean } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'cwa-policy-'));
  const path = join(dir, 'policy.json');
  const audit = new MemoryAuditRecorder();
  const changes: PolicySnapshot[] = [];
  const rejections: PolicySnapshot[] = [];
  let notify: (() => void) | null = null;
  const file = new PolicyFile({
    path,
    recorder: audit,
    debounceMs: 30,
    pollMs: 50,
    onChange: (s) => {
      changes.push(s);
      notify?.();
    },
    onRejected: (s) => {
      rejections.push(s);
      notify?.();
    },
  });
  cleanups.push(() => {
    file.dispose();
    rmSync(dir, { recursive: true, force: true });
  });
  if (opts.watch) file.watch();
  /** Resolves at the next accepted or rejected reload. */
  const nextReload = () =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no reload within 5 s')), 5000);
      notify = () => {
        clearTimeout(timer);
        notify = null;
        resolve();
      };
    });
  const write = (content: unknown) => writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return { dir, path, audit, file, changes, rejections, nextReload, write };
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('policy file', () => {
  it('uses the safe defaults when no file is deployed, and audits it', async () => {
    const { file, audit } = setup();
    const snap = await file.load();
    assert.equal(snap.source, DEFAULTS_SOURCE);
    assert.equal(snap.hash, null);
    assert.equal(snap.policy.session.lockAfterSeconds, 300);
    assert.deepEqual(audit.events.map((e) => [e.action, e.details.source]), [['policy.loaded', DEFAULTS_SOURCE]]);
  });

  it('loads a valid file with its sha256 and source; the same bytes again are not re-audited', async () => {
    const { file, audit, write, path } = setup();
    const text = JSON.stringify({ session: { profile: 'emergency-department' } });
    write(text);
    const snap = await file.load();
    assert.equal(snap.source, path);
    assert.equal(snap.hash, sha256(text));
    assert.equal(snap.policy.session.lockAfterSeconds, 180);
    await file.load();
    assert.deepEqual(audit.events.map((e) => [e.action, e.details.hash, e.details.sessionProfile]), [['policy.loaded', sha256(text), 'emergency-department']]);
  });

  it('rejects a bad file field by field, keeps the last valid policy, and audits policy.rejected', async () => {
    const { file, audit, write } = setup();
    write({ session: { lockAfterSeconds: 600 } });
    await file.load();
    const bad = JSON.stringify({ session: { lockAfterSeconds: 3600, strongFactor: 'sms', lockAfterSecond: 5 } });
    write(bad);
    const snap = await file.load();
    assert.equal(snap.policy.session.lockAfterSeconds, 600);
    assert.deepEqual(snap.errors, [
      'session.strongFactor: Invalid option: expected one of "pin"|"fido2"',
      'session.lockAfterSecond: unknown setting (check the spelling)',
    ]);
    const rejected = audit.events.at(-1);
    assert.equal(rejected?.action, 'policy.rejected');
    assert.equal(rejected?.outcome, 8);
    assert.deepEqual(rejected?.details.errors, snap.errors);
    assert.equal(rejected?.details.hash, sha256(bad));
    // Reading the same bad file again reports it in status but does not flood the audit log.
    await file.load();
    assert.equal(audit.events.filter((e) => e.action === 'policy.rejected').length, 1);
    // With the field errors fixed, the bound is what is reported next.
    write({ session: { lockAfterSeconds: 3600 } });
    assert.deepEqual((await file.load()).errors, [
      'session.lockAfterSeconds: 3600 s is above the limit of 900 s for workstations that can show patient data; set allowExtendedTimeouts: true to allow up to 3600 s',
    ]);
    assert.equal(file.current.policy.session.lockAfterSeconds, 600);
  });

  it('refuses a policy file other accounts could have written, keeping the policy in force', async (t) => {
    if (process.platform === 'win32') {
      t.skip('mode bits mean nothing on Windows; the installer sets the ACL');
      return;
    }
    const { file, path, write } = setup();
    write({ session: { lockAfterSeconds: 600 } });
    await file.load();
    write({ session: { lockAfterSeconds: 60 } });
    chmodSync(path, 0o666);
    const snap = await file.load();
    assert.equal(snap.policy.session.lockAfterSeconds, 600);
    assert.match(snap.errors[0] ?? '', /^\(file\): the policy file can be changed by other accounts \(mode 666\)/);
    chmodSync(path, 0o644);
    assert.equal((await file.load()).policy.session.lockAfterSeconds, 60);
  });

  it('says which part of the file is broken when it is not JSON', async () => {
    const { file, write } = setup();
    write('{ "session": { "lockAfterSeconds": 300, } }');
    const snap = await file.load();
    assert.equal(snap.source, DEFAULTS_SOURCE);
    assert.match(snap.errors[0] ?? '', /^\(file\): not valid JSON/);
  });

  it('reloads when the file changes, also when it is replaced atomically', async () => {
    const { file, write, nextReload, changes, rejections, dir, path } = setup({ watch: true });
    await file.load();
    let reload = nextReload();
    write({ session: { lockAfterSeconds: 120 } });
    await reload;
    assert.equal(file.current.policy.session.lockAfterSeconds, 120);
    reload = nextReload();
    write({ session: { lockAfterSeconds: -5 } });
    await reload;
    assert.equal(rejections.length, 1);
    assert.equal(file.current.policy.session.lockAfterSeconds, 120);
    reload = nextReload();
    const tmp = join(dir, 'policy.json.tmp');
    writeFileSync(tmp, JSON.stringify({ session: { lockAfterSeconds: 90 } }));
    renameSync(tmp, path);
    await reload;
    assert.equal(file.current.policy.session.lockAfterSeconds, 90);
    assert.deepEqual(changes.map((c) => c.policy.session.lockAfterSeconds), [300, 120, 90]);
    assert.deepEqual(file.current.errors, []);
  });

  it('polls a path whose folder does not exist yet and picks the file up when IT deploys it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwa-policy-late-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'not-yet', 'policy.json');
    let resolveChange: (s: PolicySnapshot) => void = () => undefined;
    const file = new PolicyFile({ path, recorder: new MemoryAuditRecorder(), debounceMs: 10, pollMs: 30, onChange: (s) => resolveChange(s) });
    cleanups.push(() => file.dispose());
    await file.load();
    file.watch();
    // The ref'd timer also keeps the event loop alive: the agent's polling is unref'd on purpose.
    let timer: NodeJS.Timeout | undefined;
    const changed = new Promise<PolicySnapshot>((resolve, reject) => {
      resolveChange = resolve;
      timer = setTimeout(() => reject(new Error('the deployed file was not picked up within 5 s')), 5000);
    });
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'not-yet'));
    writeFileSync(path, JSON.stringify({ session: { profile: 'back-office' } }));
    try {
      assert.equal((await changed).policy.session.profile, 'back-office');
    } finally {
      clearTimeout(timer);
    }
  });

  it('finds the file through CWA_POLICY_FILE when no path is given', () => {
    const before = process.env.CWA_POLICY_FILE;
    process.env.CWA_POLICY_FILE = '/tmp/cwa-test-policy.json';
    try {
      assert.equal(new PolicyFile({ recorder: new MemoryAuditRecorder() }).path, '/tmp/cwa-test-policy.json');
    } finally {
      if (before === undefined) delete process.env.CWA_POLICY_FILE;
      else process.env.CWA_POLICY_FILE = before;
    }
  });

  it('reports an audit failure without losing the policy', async () => {
    const errors: Error[] = [];
    const audit = new MemoryAuditRecorder();
    audit.failing = true;
    const file = new PolicyFile({ path: join(tmpdir(), 'cwa-policy-missing-dir', 'policy.json'), recorder: audit, onError: (e) => errors.push(e) });
    const snap = await file.load();
    assert.equal(snap.source, DEFAULTS_SOURCE);
    assert.equal(errors.length, 1);
  });
});

describe('top-level policy schema', () => {
  it('composes session and forwarding sections with paths from the top', () => {
    const ok = parsePolicyText('\uFEFF{}');
    assert.ok(ok.ok);
    assert.equal(ok.ok && ok.policy.forwarding.batch.maxEvents, 500);
    const bad = parsePolicyText(JSON.stringify({ forwarding: { batch: { maxEvents: 0 } }, session: { tapOut: 'sometimes' }, colour: 'blue' }));
    assert.ok(!bad.ok);
    const errors = bad.ok ? [] : bad.errors;
    assert.ok(errors.some((e) => e.startsWith('forwarding.batch.maxEvents: ')), errors.join('\n'));
    assert.ok(errors.some((e) => e.startsWith('session.tapOut: ')), errors.join('\n'));
    assert.ok(errors.includes('colour: unknown setting (check the spelling)'), errors.join('\n'));
  });

  it('applies the syslog-only retention rule at syslog.retentionWhenOnlyTransport', () => {
    const r = parsePolicyText(JSON.stringify({ syslog: { host: 'siem.example.org', caFile: '/etc/cwa/ca.pem', clientCertFile: '/etc/cwa/c.pem', clientKey: { source: 'file', path: '/etc/cwa/k.pem' } } }));
    assert.ok(!r.ok);
    assert.match(r.ok ? '' : (r.errors[0] ?? ''), /^syslog\.retentionWhenOnlyTransport: /);
  });
});
