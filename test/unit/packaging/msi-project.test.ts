// The msiProjectCreated hook (build/msi-project-created.cjs) on the WiX project electron-builder
// itself renders from its MSI template for this project (electron-builder.yml, the real
// MsiTarget, a stand-in app folder): the result is well-formed, every installer property IT
// may set is Secure, read back from the registry (remembered across repair and upgrade) and
// written where the agent's registry reader looks for installer values, and the start-at-login
// entry and the wizard's "Run" both start the agent under its supervisor.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// First: app-builder-lib's index, which MsiTarget's own imports expect to be loaded already.
import { probePackager } from '../../support/electron-builder-probe';
import { Arch } from 'builder-util';
import MsiTarget from 'app-builder-lib/out/targets/MsiTarget';
import { getEffectiveOptions } from 'app-builder-lib/out/options/CommonWindowsInstallerConfiguration';
import { INSTALLER_KEY, registryLocation } from '../../../main/policy/locations';
import { policySettings } from '../../../main/policy/settings';

interface InstallerProperty {
  readonly property: string;
  readonly setting: string;
  readonly startsWith?: string;
  readonly choices?: readonly string[];
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const hook = require('../../../../build/msi-project-created.cjs') as {
  editMsiProject(wxs: string): string;
  INSTALLER_KEY: string;
  INSTALLER_PROPERTIES: readonly InstallerProperty[];
};

/** electron-builder's own MsiTarget, asked only to render its project (WiX is not run). */
class RenderOnlyMsiTarget extends MsiTarget {
  render(appOutDir: string): Promise<string> {
    return this.writeManifest(appOutDir, Arch.x64, getEffectiveOptions(this.options, this.packager));
  }
}

let rendered = '';
let edited = '';
let dir = '';

/** Evaluates an XPath expression over the edited project (namespace-agnostic: local-name()). */
function xpath(expr: string): string {
  return execFileSync('xmllint', ['--nonet', '--xpath', `string(${expr})`, join(dir, 'edited.wxs')], { encoding: 'utf8' }).replace(/\n$/, '');
}
const el = (name: string) => `*[local-name()='${name}']`;

before(async () => {
  rendered = await probePackager('win', 'x64', async ({ packager, scratch }) => {
    const app = join(scratch, 'app');
    mkdirSync(join(app, 'resources'), { recursive: true });
    writeFileSync(join(app, 'Clinical Workstation Agent.exe'), 'stand-in');
    writeFileSync(join(app, 'resources', 'app.asar'), 'stand-in');
    return new RenderOnlyMsiTarget(packager as never, join(scratch, 'out')).render(app);
  });
  edited = hook.editMsiProject(rendered);
  dir = mkdtempSync(join(tmpdir(), 'cwa-msi-project-'));
  writeFileSync(join(dir, 'rendered.wxs'), rendered);
  writeFileSync(join(dir, 'edited.wxs'), edited);
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
});

describe("the MSI project electron-builder renders, after the hook", () => {
  it("is electron-builder's per-machine template, with the pinned UpgradeCode", () => {
    assert.match(rendered, /<ComponentGroup Id="ProductComponents"/);
    assert.match(rendered, /<Property Id="ALLUSERS" Secure="yes" Value="1"\/>/, 'per-machine install');
    assert.match(rendered, /UpgradeCode="94D9743D-1D1D-5CBD-8DB2-23A1A3AECD25"/);
    assert.match(rendered, /<MajorUpgrade /, 'a newer version replaces the old one');
  });

  it('is well-formed XML (xmllint) and the hook changes nothing on a second run', () => {
    execFileSync('xmllint', ['--noout', '--nonet', join(dir, 'edited.wxs')]);
    assert.equal(hook.editMsiProject(edited), edited);
  });

  it('keeps every file component electron-builder declared', () => {
    assert.equal(xpath(`count(//${el('File')}[@Id='mainExecutable'])`), '1');
    assert.equal(xpath(`count(//${el('File')})`), String((rendered.match(/<File /g) ?? []).length));
  });

  it('the wizard\'s "Run" and the machine-wide Run value start the agent under its supervisor', () => {
    assert.equal(xpath(`//${el('CustomAction')}[@Id='runAfterFinish']/@ExeCommand`), '--supervise');
    const run = `//${el('Component')}[@Id='MachineRunEntry']/${el('RegistryValue')}`;
    assert.equal(xpath(`${run}/@Root`), 'HKLM');
    assert.equal(xpath(`${run}/@Value`), '"[APPLICATIONFOLDER]Clinical Workstation Agent.exe" --supervise');
  });

  it('declares the installer properties IT sets on the msiexec command line', () => {
    assert.deepEqual(
      hook.INSTALLER_PROPERTIES.map((p) => p.property),
      ['COLLECTOR_URL', 'COLLECTOR_CA_FILE', 'COLLECTOR_CLIENT_CERT_FILE', 'SESSION_PROFILE'],
    );
    assert.equal(hook.INSTALLER_KEY, INSTALLER_KEY, 'the hook writes where the agent reads installer values');
  });

  for (const entry of hook.INSTALLER_PROPERTIES) {
    describe(entry.property, () => {
      const property = () => `//${el('Product')}/${el('Property')}[@Id='${entry.property}']`;

      it('is a policy setting whose installer value the agent reads as text at this registry location', () => {
        const setting = policySettings().find((s) => s.key === entry.setting);
        assert.ok(setting, `${entry.setting} is a policy setting`);
        const at = registryLocation(setting);
        assert.equal(at.type, 'REG_SZ');
        assert.equal(xpath(`${property()}/${el('RegistrySearch')}/@Key`), `${INSTALLER_KEY}\\${at.subkey}`.replace(/\\$/, ''));
        assert.equal(xpath(`${property()}/${el('RegistrySearch')}/@Name`), at.value);
        if (entry.choices && setting.kind === 'enum') assert.deepEqual([...entry.choices], [...setting.choices], 'the launch condition accepts exactly the schema\'s choices');
      });

      it('is Secure, so a value given to the UI side reaches the per-machine install', () => {
        assert.equal(xpath(`count(${property()})`), '1');
        assert.equal(xpath(`${property()}/@Secure`), 'yes');
      });

      it('is remembered: read back from the registry value the install writes (repair and upgrade keep it)', () => {
        const search = `${property()}/${el('RegistrySearch')}`;
        assert.equal(xpath(`${search}/@Root`), 'HKLM');
        const component = `//${el('Component')}[@Id='InstallerValue_${entry.property}']`;
        const value = `${component}/${el('RegistryValue')}`;
        assert.equal(xpath(`${value}/@Root`), 'HKLM');
        assert.equal(xpath(`${value}/@Key`), xpath(`${search}/@Key`));
        assert.equal(xpath(`${value}/@Name`), xpath(`${search}/@Name`));
        assert.equal(xpath(`${value}/@Value`), `[${entry.property}]`);
        assert.equal(xpath(`${value}/@Type`), 'string');
        assert.equal(xpath(`${component}/${el('Condition')}`), entry.property, 'written only when there is a value');
        assert.match(xpath(`${component}/@Guid`), /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/, 'a fixed GUID: registry components cannot have generated ones');
        assert.equal(xpath(`count(//${el('ComponentGroup')}[@Id='ProductComponents']/${el('Component')}[@Id='InstallerValue_${entry.property}'])`), '1');
      });

      it('a value on the command line wins over the remembered one (saved before AppSearch, restored after), in both sequences', () => {
        for (const sequence of ['InstallUISequence', 'InstallExecuteSequence']) {
          const rows = `//${el(sequence)}/${el('Custom')}`;
          assert.equal(xpath(`${rows}[@Action='SaveCmdLine_${entry.property}']/@Before`), 'AppSearch', sequence);
          assert.equal(xpath(`${rows}[@Action='SetFromCmdLine_${entry.property}']/@After`), 'AppSearch', sequence);
          assert.equal(xpath(`${rows}[@Action='SetFromCmdLine_${entry.property}']`), `CMDLINE_${entry.property}`, sequence);
        }
        assert.equal(xpath(`//${el('CustomAction')}[@Id='SaveCmdLine_${entry.property}']/@Value`), `[${entry.property}]`);
        assert.equal(xpath(`//${el('CustomAction')}[@Id='SetFromCmdLine_${entry.property}']/@Value`), `[CMDLINE_${entry.property}]`);
      });

      if (entry.startsWith || entry.choices) {
        it('a malformed value stops the install before anything is written, but never a repair or an uninstall', () => {
          const conditions = [...edited.matchAll(/<Condition Message="([^"]*)"><!\[CDATA\[([^\]]*)\]\]><\/Condition>/g)].filter((m) => m[2]!.includes(entry.property));
          assert.equal(conditions.length, 1);
          const [, message, test] = conditions[0]!;
          assert.match(test!, new RegExp(`^Installed OR NOT ${entry.property} OR `));
          assert.match(message!, new RegExp(`^${entry.property} must `));
        });
      }
    });
  }
});
