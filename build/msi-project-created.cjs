// electron-builder's msiProjectCreated hook: adds the machine-wide Run entry to the MSI's
// WiX project, so the agent starts under its supervisor (--supervise) at every user's
// login on a shared workstation, not only for the account that installed it. The value is
// a component of the product (HKLM, per-machine install): uninstalling removes it. Plain
// CommonJS because electron-builder loads it by path at package time.
'use strict';
const { readFile, writeFile } = require('node:fs/promises');

const RUN_KEY = 'Software\\Microsoft\\Windows\\CurrentVersion\\Run';
const RUN_NAME = 'Clinical Workstation Agent';
const EXE = 'Clinical Workstation Agent.exe';
// Fixed, so upgrades keep one component: a registry key path cannot have an auto-generated GUID.
const COMPONENT_GUID = '6B1F6C52-8E0D-4C8A-9B8E-2B7A1D6E4F31';

/** The WiX project with the Run entry added to ProductComponents; refuses a project it does not recognise. */
function addMachineRunEntry(wxs) {
  const open = /<ComponentGroup\s+Id="ProductComponents"[^>]*>/.exec(wxs);
  if (!open) throw new Error('msiProjectCreated: no <ComponentGroup Id="ProductComponents"> in the WiX project; electron-builder\'s MSI template changed');
  if (wxs.includes('Id="MachineRunEntry"')) return wxs;
  const component =
    `\n      <Component Id="MachineRunEntry" Guid="${COMPONENT_GUID}">` +
    `\n        <RegistryValue Root="HKLM" Key="${RUN_KEY}" Name="${RUN_NAME}" Type="string" Value="&quot;[APPLICATIONFOLDER]${EXE}&quot; --supervise" KeyPath="yes"/>` +
    `\n      </Component>`;
  const at = open.index + open[0].length;
  return wxs.slice(0, at) + component + wxs.slice(at);
}

async function msiProjectCreated(projectFile) {
  await writeFile(projectFile, addMachineRunEntry(await readFile(projectFile, 'utf8')));
}

module.exports = { msiProjectCreated, addMachineRunEntry, RUN_KEY, RUN_NAME, EXE };
