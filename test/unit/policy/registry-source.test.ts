// Policy from the Windows registry (Group Policy and installer values): every setting kind
// written where locations.ts says reads back as the same document; values of the wrong
// type, misspelt names and broken lists are rejected per setting with the key they sit in;
// a missing key is "absent", a failing read "unreadable". The registry is an in-memory
// stand-in for the OS API (it cannot run here); the mapping under test is the real one.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sep } from 'node:path';
import { GPO_KEY, INSTALLER_KEY } from '../../../main/policy/locations';
import { documentFromRegistry, readRegistryTree, RegistryPolicySource } from '../../../main/policy/registry-source';
import { defaultPolicySources } from '../../../main/policy/default-sources';
import { policySettings, setValueAt, type PolicySetting } from '../../../main/policy/settings';
import { defaultPaths } from '../../../main/platform/paths';
import { MemoryRegistry, writePolicyToRegistry } from '../../support/memory-registry';

/** A value of the right shape for every setting (not necessarily within the schema's limits: this is about the mapping). */
function sampleValue(s: PolicySetting): unknown {
  switch (s.kind) {
    case 'boolean':
      return true;
    case 'integer':
      // Beyond 32 bits where the location says REG_QWORD, so the QWORD path is exercised.
      return s.schema.maximum !== undefined && s.schema.maximum > 0xffff_ffff ? 5_000_000_000 : (s.schema.maximum ?? 7);
    case 'number':
      return 12.5;
    case 'string':
      return `C:\\Policy\\${s.path.at(-1)}`;
    case 'enum':
      return s.choices.at(-1);
    case 'list':
      // Eleven items, so "10" and "11" must sort after "9" (numeric, not text, order).
      return s.itemKind === 'integer' ? Array.from({ length: 11 }, (_, i) => 90 - i) : ['Tab', 'Enter', 'x10', 'x11'].slice(0, 2);
    case 'json':
      return s.key.endsWith('clientKey') ? { source: 'keychain', account: 'cwa-client' } : { kind: 'command', argv: ['C:\\Tools\\logoff.exe', '/f'] };
  }
}

async function read(reg: MemoryRegistry, root = GPO_KEY) {
  const tree = await readRegistryTree(reg, root);
  assert.ok(tree, 'the key exists');
  return documentFromRegistry(tree, `Group Policy HKLM\\${root}`, { ProgramData: 'C:\\ProgramData' });
}

describe('registry policy mapping', () => {
  it('reads back every setting, of every kind, from where registryLocation() writes it', async () => {
    const doc: Record<string, unknown> = {};
    for (const s of policySettings()) setValueAt(doc, s.path, sampleValue(s));
    const kinds = new Set(policySettings().map((s) => s.kind));
    assert.deepEqual([...kinds].sort(), ['boolean', 'enum', 'integer', 'json', 'list', 'number', 'string']);
    const reg = new MemoryRegistry();
    writePolicyToRegistry(reg, GPO_KEY, doc);
    const read1 = await read(reg);
    assert.deepEqual(read1.rejected, []);
    assert.deepEqual(read1.document, doc);
  });

  it('converts registry types: DWORD booleans and integers, QWORD, numbers and JSON as REG_SZ, REG_EXPAND_SZ, REG_MULTI_SZ lists, any letter case', async () => {
    const reg = new MemoryRegistry();
    reg.set(`${GPO_KEY}\\Session`, 'LockAfterSeconds', 'REG_SZ', ' 120 ');
    reg.set(`${GPO_KEY}\\session`, 'osLockOnLock', 'REG_DWORD', 0);
    reg.set(`${GPO_KEY}\\session`, 'logoffAction', 'REG_SZ', '{"kind":"os-logoff"}');
    reg.set(`${GPO_KEY}\\forwarding\\buffer`, 'budgetBytes', 'REG_QWORD', 2n ** 33n);
    reg.set(`${GPO_KEY}\\forwarding\\batch`, 'maxEvents', 'REG_SZ', '250');
    reg.set(`${GPO_KEY}\\forwarding\\https`, 'caFile', 'REG_EXPAND_SZ', '%ProgramData%\\CWA\\ca.pem');
    reg.set(`${GPO_KEY}\\auth`, 'enrollerRoles', 'REG_MULTI_SZ', ['charge-nurse', 'it']);
    const { document, rejected } = await read(reg);
    assert.deepEqual(rejected, []);
    assert.deepEqual(document, {
      session: { lockAfterSeconds: 120, osLockOnLock: false, logoffAction: { kind: 'os-logoff' } },
      forwarding: { buffer: { budgetBytes: 2 ** 33 }, batch: { maxEvents: 250 }, https: { caFile: 'C:\\ProgramData\\CWA\\ca.pem' } },
      auth: { enrollerRoles: ['charge-nurse', 'it'] },
    });
  });

  it('rejects a value of the wrong type for that setting only, naming the value, what was expected and the key', async () => {
    const reg = new MemoryRegistry();
    reg.set(`${GPO_KEY}\\session`, 'lockAfterSeconds', 'REG_SZ', 'ten');
    reg.set(`${GPO_KEY}\\session`, 'osLockOnLock', 'REG_DWORD', 7);
    reg.set(`${GPO_KEY}\\session`, 'tapOut', 'REG_DWORD', 1);
    reg.set(`${GPO_KEY}\\session`, 'logoffAction', 'REG_SZ', '{kind: os-logoff}');
    reg.set(`${GPO_KEY}\\session`, 'warnAfterSeconds', 'REG_SZ', '60');
    reg.set(`${GPO_KEY}\\forwarding\\batch`, 'maxEvents', 'REG_BINARY', new Uint8Array([1, 2]));
    reg.set(`${GPO_KEY}\\auth\\enrollerRoles`, '1', 'REG_SZ', 'charge-nurse');
    reg.set(`${GPO_KEY}\\auth\\enrollerRoles`, 'second', 'REG_SZ', 'it');
    const { document, rejected } = await read(reg);
    assert.deepEqual(document, { session: { warnAfterSeconds: 60 } }, 'the good value in the same key still counts');
    const byKey = new Map(rejected.map((r) => [r.key, r]));
    const lock = byKey.get('session.lockAfterSeconds');
    assert.equal(lock?.reason, 'REG_SZ "ten" where a number was expected');
    assert.equal(lock?.where, `Group Policy HKLM\\${GPO_KEY}\\session`);
    assert.equal(lock?.fix, 'write it as REG_SZ holding a number such as "300"');
    assert.equal(lock?.value, 'ten');
    assert.equal(byKey.get('session.osLockOnLock')?.reason, 'REG_DWORD 7 where REG_DWORD 0 or 1 was expected');
    assert.equal(byKey.get('session.tapOut')?.reason, 'REG_DWORD 1 where REG_SZ text was expected');
    assert.match(byKey.get('session.tapOut')?.fix ?? '', /REG_SZ holding one of lock, logoff, off/);
    assert.match(byKey.get('session.logoffAction')?.reason ?? '', /^REG_SZ "\{kind: os-logoff\}" is not valid JSON/);
    assert.equal(byKey.get('forwarding.batch.maxEvents')?.reason, 'REG_BINARY (2 bytes) where a whole number was expected');
    assert.match(byKey.get('auth.enrollerRoles')?.reason ?? '', /value named "second"; list values are named 1, 2, 3/);
    assert.equal(rejected.length, 6);
  });

  it('reports misspelt value names and unknown keys, and ignores the root key and GPO markers', async () => {
    const reg = new MemoryRegistry();
    reg.set(GPO_KEY, 'InstallDir', 'REG_SZ', 'C:\\Program Files\\CWA');
    reg.set(`${GPO_KEY}\\session`, 'lockAfterSecond', 'REG_DWORD', 120);
    reg.set(`${GPO_KEY}\\session`, '**delvals.', 'REG_SZ', ' ');
    reg.set(`${GPO_KEY}\\sesion`, 'tapOut', 'REG_SZ', 'lock');
    reg.set(`${GPO_KEY}\\sesion\\deeper`, 'x', 'REG_SZ', 'y');
    const { document, rejected } = await read(reg);
    assert.deepEqual(document, {});
    assert.deepEqual(
      rejected.map((r) => [r.key, r.reason]),
      [
        ['sesion', 'unknown section or setting (check the spelling of the key name)'],
        ['session.lockAfterSecond', 'REG_DWORD 120: unknown setting (check the spelling of the value name)'],
      ],
    );
  });

  it('hashes what it read, so a changed value shows as a new version', async () => {
    const reg = new MemoryRegistry();
    reg.set(`${GPO_KEY}\\session`, 'lockAfterSeconds', 'REG_SZ', '120');
    const first = (await read(reg)).hash;
    assert.equal((await read(reg)).hash, first);
    reg.set(`${GPO_KEY}\\session`, 'lockAfterSeconds', 'REG_SZ', '180');
    assert.notEqual((await read(reg)).hash, first);
    assert.match(first, /^[0-9a-f]{64}$/);
  });
});

describe('RegistryPolicySource', () => {
  it('is absent when the key does not exist, ok with its origin when it does, unreadable when the read fails', async () => {
    const reg = new MemoryRegistry();
    const gpo = new RegistryPolicySource('group-policy', GPO_KEY, () => reg);
    assert.deepEqual(await gpo.read(), { state: 'absent' });
    writePolicyToRegistry(reg, GPO_KEY, { session: { profile: 'emergency-department' } });
    const ok = await gpo.read();
    assert.equal(ok.state, 'ok');
    assert.equal(ok.state === 'ok' && ok.origin, `HKLM\\${GPO_KEY}`);
    assert.deepEqual(ok.state === 'ok' && ok.document, { session: { profile: 'emergency-department' } });
    reg.failing = new Error('RegOpenKeyExW failed: Access is denied. (5)');
    const bad = await gpo.read();
    assert.equal(bad.state, 'unreadable');
    assert.equal(bad.state === 'unreadable' && bad.why, `cannot read the registry key HKLM\\${GPO_KEY} (RegOpenKeyExW failed: Access is denied. (5))`);
    assert.equal(gpo.location, `HKLM\\${GPO_KEY}`);
  });

  it('reads installer values from the installer key with the same layout', async () => {
    const reg = new MemoryRegistry();
    writePolicyToRegistry(reg, INSTALLER_KEY, { auth: { helpDesk: 'Call 4444.' } });
    const installer = new RegistryPolicySource('installer', INSTALLER_KEY, () => reg);
    const r = await installer.read();
    assert.deepEqual(r.state === 'ok' && r.document, { auth: { helpDesk: 'Call 4444.' } });
  });

  it('does not load the Windows-only native module to list the Windows sources', () => {
    const sources = defaultPolicySources(defaultPaths('win32', { ProgramData: 'C:\\ProgramData' }), 'win32');
    assert.deepEqual(sources.map((s) => [s.name, s.location]), [
      ['group-policy', `HKLM\\${GPO_KEY}`],
      ['installer', `HKLM\\${INSTALLER_KEY}`],
      ['machine-file', 'C:\\ProgramData\\ClinicalWorkstationAgent\\policy.json'],
    ]);
    assert.ok(!Object.keys(require.cache).some((p) => p.includes(`node_modules${sep}native-reg${sep}`)), 'native-reg stays unloaded');
  });
});
