// electron-builder's msiProjectCreated hook: edits the WiX project electron-builder renders from
// its MSI template, before WiX compiles it, for shared workstations:
// - start at login for every user: a machine-wide HKLM Run value starts the agent under its
//   supervisor (--supervise), and the wizard's "Run" checkbox starts it the same way;
// - installer values: the public properties IT sets on the msiexec command line are written where
//   the agent reads installer values (HKLM\SOFTWARE\ClinicalWorkstation\Agent, below Group Policy)
//   and remembered, so a repair or an upgrade that does not repeat them keeps them;
// - launch conditions that refuse a malformed value before anything is installed.
// `editMsiProject` is a pure function of the project text, tested on the project electron-builder's
// own template renders. Plain CommonJS: electron-builder loads this file by path at package time.
'use strict';
const { createHash } = require('node:crypto');
const { readFile, writeFile } = require('node:fs/promises');

const RUN_KEY = 'Software\\Microsoft\\Windows\\CurrentVersion\\Run';
const RUN_NAME = 'Clinical Workstation Agent';
const EXE = 'Clinical Workstation Agent.exe';
const SUPERVISE_FLAG = '--supervise';
// Fixed, so upgrades keep one component: a registry key path cannot have an auto-generated GUID.
const RUN_COMPONENT_GUID = '6B1F6C52-8E0D-4C8A-9B8E-2B7A1D6E4F31';

/** Under HKEY_LOCAL_MACHINE: where the agent reads installer values (INSTALLER_KEY in main/policy/locations.ts). */
const INSTALLER_KEY = 'SOFTWARE\\ClinicalWorkstation\\Agent';

/**
 * The msiexec properties IT may set, each the installer value of one policy setting (its dotted
 * key in main/policy/settings.ts), written as REG_SZ at that setting's registry location. The
 * client key is not among them: it is a structured setting (a keychain account or a key file)
 * that a command-line property cannot carry, so it belongs in the policy file with the rest.
 */
const INSTALLER_PROPERTIES = Object.freeze([
  Object.freeze({ property: 'COLLECTOR_URL', setting: 'forwarding.https.url', startsWith: 'https://' }),
  Object.freeze({ property: 'COLLECTOR_CA_FILE', setting: 'forwarding.https.caFile' }),
  Object.freeze({ property: 'COLLECTOR_CLIENT_CERT_FILE', setting: 'forwarding.https.clientCertFile' }),
  Object.freeze({ property: 'SESSION_PROFILE', setting: 'session.profile', choices: Object.freeze(['shared-clinical', 'emergency-department', 'back-office']) }),
]);

// Each installer value's component GUID is derived from its registry location, so it stays the
// same across builds and changes exactly when the location does (the component rule).
const COMPONENT_NAMESPACE = '71D4C1C1-EB18-4520-B5B1-85E1FF8FFE96';

/** RFC 4122 version 5 (SHA-1, name-based) UUID, upper case as WiX's pedantic mode wants it. */
function uuidV5(name, namespace) {
  const hash = createHash('sha1').update(Buffer.from(namespace.replace(/-/g, ''), 'hex')).update(name, 'utf8').digest();
  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const h = hash.subarray(0, 16).toString('hex').toUpperCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The key (below HKLM) and value name of an installer property: the setting's section path and its last part. */
function registryLocationOf(entry) {
  const path = entry.setting.split('.');
  return { key: [INSTALLER_KEY, ...path.slice(0, -1)].join('\\'), name: path[path.length - 1] };
}

function componentGuidOf(entry) {
  const { key, name } = registryLocationOf(entry);
  return uuidV5(`HKLM\\${key}\\${name}`, COMPONENT_NAMESPACE);
}

const xmlAttr = (s) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The launch condition an entry's value must meet, with the message IT reads when it does not; null for none. */
function launchConditionOf(entry) {
  const p = entry.property;
  // `Installed OR`: never block a repair or an uninstall; an upgrade is a new product and is checked.
  if (entry.startsWith) {
    return {
      test: `Installed OR NOT ${p} OR ${p} ~<< "${entry.startsWith}"`,
      message: `${p} must start with ${entry.startsWith} (the agent sends nothing in clear), e.g. ${p}=${entry.startsWith}audit.example.org:8443`,
    };
  }
  if (entry.choices) {
    return {
      test: `Installed OR NOT ${p} OR ${entry.choices.map((c) => `${p} = "${c}"`).join(' OR ')}`,
      message: `${p} must be one of: ${entry.choices.join(', ')}`,
    };
  }
  return null;
}

/** Product-level declarations: each property, read back from the registry (AppSearch), and what keeps a command-line value. */
function productElements() {
  const lines = ['    <!-- Installer values (build/msi-project-created.cjs): set on the msiexec command line, written below HKLM\\' + INSTALLER_KEY + ', remembered. -->'];
  for (const entry of INSTALLER_PROPERTIES) {
    const p = entry.property;
    const { key, name } = registryLocationOf(entry);
    // Secure: a value given to the client (UI) side reaches the per-machine execute sequence.
    lines.push(`    <Property Id="${p}" Secure="yes">`);
    lines.push(`      <RegistrySearch Id="Remembered_${p}" Root="HKLM" Key="${xmlAttr(key)}" Name="${xmlAttr(name)}" Type="raw"/>`);
    lines.push('    </Property>');
    // AppSearch would overwrite a value from the command line with the stored one: keep the former.
    lines.push(`    <CustomAction Id="SaveCmdLine_${p}" Property="CMDLINE_${p}" Value="[${p}]" Execute="firstSequence"/>`);
    lines.push(`    <CustomAction Id="SetFromCmdLine_${p}" Property="${p}" Value="[CMDLINE_${p}]" Execute="firstSequence"/>`);
    const condition = launchConditionOf(entry);
    if (condition) lines.push(`    <Condition Message="${xmlAttr(condition.message)}"><![CDATA[${condition.test}]]></Condition>`);
  }
  return lines.join('\n') + '\n';
}

/** The rows both sequences need: save the command-line value before AppSearch, put it back after. */
function sequenceRows(indent) {
  return INSTALLER_PROPERTIES.flatMap(({ property: p }) => [
    `${indent}<Custom Action="SaveCmdLine_${p}" Before="AppSearch"/>`,
    `${indent}<Custom Action="SetFromCmdLine_${p}" After="AppSearch">CMDLINE_${p}</Custom>`,
  ]).join('\n');
}

/** The product's components: the Run value, and one registry value per installer property given. */
function components() {
  const out = [
    `      <Component Id="MachineRunEntry" Guid="${RUN_COMPONENT_GUID}">`,
    `        <RegistryValue Root="HKLM" Key="${RUN_KEY}" Name="${RUN_NAME}" Type="string" Value="&quot;[APPLICATIONFOLDER]${EXE}&quot; ${SUPERVISE_FLAG}" KeyPath="yes"/>`,
    '      </Component>',
  ];
  for (const entry of INSTALLER_PROPERTIES) {
    const p = entry.property;
    const { key, name } = registryLocationOf(entry);
    // Installed only when the property has a value (given now or remembered); Transitive: a
    // reinstall re-evaluates that, so REINSTALL=ALL with a new value adds it. Uninstalling removes it.
    out.push(`      <Component Id="InstallerValue_${p}" Guid="${componentGuidOf(entry)}" Transitive="yes">`);
    out.push(`        <Condition>${p}</Condition>`);
    out.push(`        <RegistryValue Root="HKLM" Key="${xmlAttr(key)}" Name="${xmlAttr(name)}" Type="string" Value="[${p}]" KeyPath="yes"/>`);
    out.push('      </Component>');
  }
  return '\n' + out.join('\n');
}

function insertAt(text, at, insert) {
  return text.slice(0, at) + insert + text.slice(at);
}

/** Inserts whole lines just before the line that closes <Product>. */
function insertBeforeProductEnd(wxs, lines) {
  const end = wxs.lastIndexOf('</Product>');
  return insertAt(wxs, wxs.lastIndexOf('\n', end) + 1, lines);
}

/** Adds the rows to the project's <name> sequence, or adds that sequence when the template has none. */
function addToSequence(wxs, name) {
  const open = new RegExp(`<${name}>`).exec(wxs);
  if (open) return insertAt(wxs, open.index + open[0].length, '\n' + sequenceRows('      '));
  return insertBeforeProductEnd(wxs, `    <${name}>\n${sequenceRows('      ')}\n    </${name}>\n`);
}

/**
 * The WiX project with the Run value, the installer values and their launch conditions added,
 * and the wizard's "Run" starting the agent under its supervisor. Unchanged when it already has
 * them; refuses a project it does not recognise (electron-builder's template changed).
 */
function editMsiProject(wxs) {
  const group = /<ComponentGroup\s+Id="ProductComponents"[^>]*>/.exec(wxs);
  if (!group || !wxs.includes('</Product>')) {
    throw new Error('msiProjectCreated: no <ComponentGroup Id="ProductComponents"> inside <Product> in the WiX project; electron-builder\'s MSI template changed');
  }
  if (wxs.includes('Id="MachineRunEntry"')) return wxs;
  let out = insertAt(wxs, group.index + group[0].length, components());
  out = out.replace(/(<CustomAction\s+Id="runAfterFinish"[^>]*?\sExeCommand=")"/, `$1${SUPERVISE_FLAG}"`);
  out = insertBeforeProductEnd(out, productElements());
  out = addToSequence(out, 'InstallUISequence');
  out = addToSequence(out, 'InstallExecuteSequence');
  return out;
}

async function msiProjectCreated(projectFile) {
  await writeFile(projectFile, editMsiProject(await readFile(projectFile, 'utf8')));
}

module.exports = {
  msiProjectCreated,
  editMsiProject,
  registryLocationOf,
  componentGuidOf,
  uuidV5,
  INSTALLER_KEY,
  INSTALLER_PROPERTIES,
  COMPONENT_NAMESPACE,
  RUN_KEY,
  RUN_NAME,
  EXE,
  SUPERVISE_FLAG,
};
