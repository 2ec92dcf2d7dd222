// agentctl as the help desk and an auditor use it: device, export, verify (exit codes and output).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openTestStore } from '../../support/audit-fixture';
import { runAgentctl } from '../../../main/cli/agentctl';
import type { KeyStore } from '../../../main/platform/keystore';

async function ctl(argv: string[], env: NodeJS.ProcessEnv, keyStore: KeyStore) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runAgentctl(argv, { out: (l) => out.push(l), err: (l) => err.push(l), env, keyStore });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

test('export → verify round trip, with and without the auditor key, and a tampered export fails with exit 1', async () => {
  const t = await openTestStore('agentctl');
  try {
    for (let i = 0; i < 25; i++) await t.store.record({ action: 'session.unlock', user: 'nurse-0007', method: 'badge' });
    const env = { CWA_AUDIT_DB: t.path, CWA_KEYCHAIN_SERVICE: t.service, CWA_MACHINE_ID: t.machineId };
    const auditor = join(t.dir, 'auditor.pem');
    const auditorPub = join(t.dir, 'auditor.pub.pem');
    execFileSync('openssl', ['genpkey', '-algorithm', 'X25519', '-out', auditor]);
    execFileSync('openssl', ['pkey', '-in', auditor, '-pubout', '-out', auditorPub]);

    const dev = await ctl(['device', '--json'], env, t.keyStore);
    assert.equal(dev.code, 0, dev.err);
    const device = JSON.parse(dev.out) as { deviceId: string; publicKey: string };
    assert.equal(device.deviceId, t.store.deviceMeta().device);
    const devKey = join(t.dir, 'device.pub.pem');
    writeFileSync(devKey, device.publicKey);

    const dbCheck = await ctl(['verify', t.path], env, t.keyStore);
    assert.equal(dbCheck.code, 0, dbCheck.out + dbCheck.err);
    assert.match(dbCheck.out, /^OK .*25 events verified \(seq 1\.\.25\)/);

    const noRecipient = await ctl(['export', '--out', join(t.dir, 'x.jsonl')], env, t.keyStore);
    assert.equal(noRecipient.code, 2);
    assert.match(noRecipient.err, /--recipient/);
    assert.match(noRecipient.err, /openssl genpkey -algorithm X25519/);

    const out = join(t.dir, 'export.jsonl');
    const exp = await ctl(['export', '--out', out, '--recipient', auditorPub, '--since', '5'], env, t.keyStore);
    assert.equal(exp.code, 0, exp.err);
    assert.match(exp.out, /exported 21 events \(seq 5\.\.25\)/);

    const blind = await ctl(['verify', out, '--device-key', devKey], env, t.keyStore);
    assert.equal(blind.code, 0, blind.out + blind.err);
    assert.match(blind.out, /not decrypted/);
    const full = await ctl(['verify', out, '--identity', auditor, '--json'], env, t.keyStore);
    assert.equal(full.code, 0, full.out);
    assert.equal((JSON.parse(full.out) as { contentChecked: number }).contentChecked, 21);

    const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
    writeFileSync(out, `${[...lines.slice(0, 4), ...lines.slice(5)].join('\n')}\n`);
    const bad = await ctl(['verify', out], env, t.keyStore);
    assert.equal(bad.code, 1);
    assert.match(bad.out, /^FAILED .*first bad seq 9: gap/);

    const expect = await ctl(['verify', t.path, '--expect-last', `30:${'a'.repeat(64)}`], env, t.keyStore);
    assert.equal(expect.code, 1);
    assert.match(expect.out, /first bad seq 26: truncated-tail/);

    const usage = await ctl(['verify', t.path, '--expect-last', 'nonsense'], env, t.keyStore);
    assert.equal(usage.code, 2);
    assert.match(usage.err, /SEQ:HASH/);
    const unknown = await ctl(['frobnicate'], env, t.keyStore);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /unknown command "frobnicate"/);

    // The wrong thing to verify is named as such, not as a keychain or SQLite error.
    const missingExport = await ctl(['verify', join(t.dir, 'missing.jsonl')], env, t.keyStore);
    assert.deepEqual([missingExport.code, /There is no export at .*missing\.jsonl/.test(missingExport.err)], [2, true], missingExport.err);
    const missingDb = await ctl(['verify', join(t.dir, 'missing.db')], env, t.keyStore);
    assert.deepEqual([missingDb.code, /There is no audit database at .*missing\.db/.test(missingDb.err)], [2, true], missingDb.err);
    const dir = await ctl(['verify', t.dir], env, t.keyStore);
    assert.deepEqual([dir.code, /is not a file: give the audit database or an export/.test(dir.err)], [2, true], dir.err);
    const notAnExport = join(t.dir, 'agent-log.jsonl');
    writeFileSync(notAnExport, '{"level":"info","message":"policy in force"}\n');
    const wrongFile = await ctl(['verify', notAnExport], env, t.keyStore);
    assert.equal(wrongFile.code, 1, wrongFile.err);
    assert.match(wrongFile.out, /malformed: line 1 is not a cwa-audit-export header/);
  } finally {
    await t.cleanup();
  }
});

test('agentctl runs as a real process (the compiled bin) and verifies a database through the OS keychain', async () => {
  const t = await openTestStore('agentctl-bin');
  try {
    await t.store.record({ action: 'agent.start' });
    await t.store.close();
    const bin = join(__dirname, '../../../main/cli/agentctl.js');
    const out = execFileSync(process.execPath, [bin, 'verify', t.path], { env: { ...process.env, CWA_KEYCHAIN_SERVICE: t.service }, encoding: 'utf8' });
    assert.match(out, /^OK .*1 events verified/);
    let failed: { status: number; stderr: string } | undefined;
    try {
      execFileSync(process.execPath, [bin, 'verify', t.path], { env: { ...process.env, CWA_KEYCHAIN_SERVICE: `${t.service}-other` }, encoding: 'utf8', stdio: 'pipe' });
    } catch (err) {
      failed = err as { status: number; stderr: string };
    }
    assert.equal(failed?.status, 2);
    assert.match(failed!.stderr, /key is missing from the OS keychain service/);
  } finally {
    await t.cleanup();
  }
});
