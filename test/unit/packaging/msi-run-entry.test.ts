// The MSI's machine-wide Run entry (build/msi-project-created.cjs), loaded the way
// electron-builder loads the configured hook: it adds one HKLM Run value that starts the app
// under its supervisor for every user, as a product component (so uninstalling removes it),
// keeps the project well-formed XML, and refuses a project it does not recognise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadBuilderConfig } from '../../support/electron-builder-probe';
import { resolveFunction } from 'app-builder-lib/out/util/resolve';

const ROOT = resolve(__dirname, '../../../..');

// The shape of electron-builder's MSI template around the files (templates/msi/template.xml).
const PROJECT = `<?xml version="1.0" encoding="UTF-8"?>
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="*" Name="Clinical Workstation Agent" Version="0.1.0" Manufacturer="x" Language="1033" UpgradeCode="00000000-0000-0000-0000-000000000001">
    <Package InstallerVersion="500" Compressed="yes" InstallScope="perMachine"/>
    <Feature Id="ProductFeature" Absent="disallow">
      <ComponentGroupRef Id="ProductComponents"/>
    </Feature>
    <ComponentGroup Id="ProductComponents" Directory="APPLICATIONFOLDER">
      <Component><File Name="Clinical Workstation Agent.exe" Source="a.exe" ReadOnly="yes" KeyPath="yes"/></Component>
    </ComponentGroup>
  </Product>
</Wix>
`;

function xpath(file: string, expr: string): string {
  return execFileSync('xmllint', ['--xpath', expr, file], { encoding: 'utf8' }).trim();
}

test('the MSI project gets one machine-wide Run entry that starts the app under its supervisor', async () => {
  const config = (await loadBuilderConfig(ROOT)) as { msiProjectCreated?: string };
  assert.equal(typeof config.msiProjectCreated, 'string', 'electron-builder.yml names no msiProjectCreated hook');
  const hook = (await resolveFunction(undefined, config.msiProjectCreated, 'msiProjectCreated', ROOT)) as unknown as (path: string) => Promise<void>;
  assert.equal(typeof hook, 'function');
  const dir = mkdtempSync(join(tmpdir(), 'cwa-msi-'));
  try {
    const file = join(dir, 'project.wxs');
    writeFileSync(file, PROJECT);
    await hook(file);
    await hook(file);
    execFileSync('xmllint', ['--noout', file]);
    const ns = "*[local-name()='ComponentGroup'][@Id='ProductComponents']/*[local-name()='Component'][@Id='MachineRunEntry']";
    assert.equal(xpath(file, `count(//${ns})`), '1', 'one Run component, even after the hook ran twice');
    const value = `//${ns}/*[local-name()='RegistryValue']`;
    assert.equal(xpath(file, `string(${value}/@Root)`), 'HKLM');
    assert.equal(xpath(file, `string(${value}/@Key)`), 'Software\\Microsoft\\Windows\\CurrentVersion\\Run');
    assert.equal(xpath(file, `string(${value}/@Value)`), '"[APPLICATIONFOLDER]Clinical Workstation Agent.exe" --supervise');
    assert.equal(xpath(file, `string(${value}/@KeyPath)`), 'yes');
    assert.match(xpath(file, `string(//${ns}/@Guid)`), /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/);
    // The original file component is still there.
    assert.match(readFileSync(file, 'utf8'), /Clinical Workstation Agent\.exe" Source="a\.exe"/);

    writeFileSync(file, '<Wix><Product/></Wix>');
    await assert.rejects(hook(file), /no <ComponentGroup Id="ProductComponents">/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
