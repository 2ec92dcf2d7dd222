// Start at login and restart after a crash, per OS, as the installers ship it: the systemd
// user unit and XDG autostart entry (deb), the LaunchAgent (pkg). Each file is parsed and
// checked for those settings, and for the executable path electron-builder will really
// install, computed from electron-builder.yml (read by electron-builder's own loader) and
// package.json.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, lstatSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DebugLogger } from 'builder-util';
import { validateConfiguration } from 'app-builder-lib/out/util/config/config';
import { loadBuilderConfig } from '../../support/electron-builder-probe';
import type { Configuration } from 'electron-builder';
import { SUPERVISE_FLAG } from '../../../main/platform/supervisor';

const root = resolve(__dirname, '../../../..');
const UNIT = 'build/linux/clinical-workstation-agent.service';
const UNIT_LINK = 'build/linux/graphical-session.target.wants/clinical-workstation-agent.service';
const DESKTOP = 'build/linux/clinical-workstation-agent.desktop';
const PLIST = 'build/mac/org.clinicalworkstation.agent.plist';

type Ini = Map<string, Map<string, string[]>>;

/** systemd unit / desktop entry syntax: [Section], key=value, # and ; comments. */
function parseIni(text: string): Ini {
  const sections: Ini = new Map();
  let current: Map<string, string[]> | null = null;
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      assert.ok(!sections.has(header[1]!), `line ${i + 1}: section [${header[1]}] appears twice`);
      current = new Map();
      sections.set(header[1]!, current);
      continue;
    }
    const eq = line.indexOf('=');
    assert.ok(current !== null && eq > 0, `line ${i + 1} is neither a section, a key=value nor a comment: ${line}`);
    const key = line.slice(0, eq).trim();
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return sections;
}

/** The one value of `key` in `section`; fails if it is missing or set twice. */
function value(ini: Ini, section: string, key: string): string {
  const values = ini.get(section)?.get(key);
  assert.ok(values !== undefined, `[${section}] has no ${key}=`);
  assert.equal(values.length, 1, `[${section}] sets ${key}= more than once`);
  return values[0]!;
}

/** A command line as systemd's ExecStart= and the desktop entry's Exec= split it: double quotes, backslash escapes. */
function splitCommandLine(line: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && i + 1 < line.length) {
      word = (word ?? '') + line[++i];
    } else if (c === '"') {
      quoted = !quoted;
      word = word ?? '';
    } else if (c === ' ' && !quoted) {
      if (word !== null) words.push(word);
      word = null;
    } else {
      word = (word ?? '') + c;
    }
  }
  assert.ok(!quoted, `unbalanced quotes in ${line}`);
  if (word !== null) words.push(word);
  return words;
}

const missingXmllint = spawnSync('xmllint', ['--version']).error ? 'xmllint is not on PATH (apt-get install libxml2-utils)' : false;

/** The text of the plist value an XPath selects, read by libxml2. */
function plistXpath(expr: string): string {
  // Recent libxml2 ends the answer with a newline, older versions do not.
  return execFileSync('xmllint', ['--xpath', expr, join(root, PLIST)], { encoding: 'utf8' }).replace(/\n$/, '');
}
/** The element that follows `<key>name</key>` in the dict at `dictPath`. */
const after = (dictPath: string, key: string): string => `${dictPath}/key[.="${key}"]/following-sibling::*[1]`;

let config: Configuration;
let linuxExecutable: string;
let macExecutable: string;

before(async () => {
  config = await loadBuilderConfig(root);
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string };
  const productName = config.productName;
  assert.ok(productName, 'electron-builder.yml sets productName');
  // Names electron-builder would change when it makes a file name of them are out of scope here.
  assert.match(productName, /^[A-Za-z0-9 ._-]+$/);
  assert.match(pkg.name, /^[a-z0-9._-]+$/);
  // Without executableName, electron-builder names the Linux binary after package.json's
  // name, installs the deb into /opt/<productName>, and names the macOS bundle and its
  // binary after productName.
  assert.equal(config.executableName ?? config.linux?.executableName ?? null, null, 'executableName is not set; if it is, these paths change');
  linuxExecutable = `/opt/${productName}/${pkg.name.toLowerCase()}`;
  macExecutable = `/Applications/${productName}.app/Contents/MacOS/${productName}`;
  assert.equal(linuxExecutable, '/opt/Clinical Workstation Agent/clinical-workstation-agent');
});

describe('Linux: systemd user unit', () => {
  const unit = (): Ini => parseIni(readFileSync(join(root, UNIT), 'utf8'));

  it('restarts the agent when it fails, with a pause, and rate-limits a crash loop', () => {
    const u = unit();
    assert.equal(value(u, 'Service', 'Restart'), 'on-failure', 'a clean exit (the agent told to quit) is not restarted; a crash is');
    assert.match(value(u, 'Service', 'RestartSec'), /^[1-9]\d*s?$/);
    assert.match(value(u, 'Unit', 'StartLimitIntervalSec'), /^[1-9]\d*$/);
    assert.match(value(u, 'Unit', 'StartLimitBurst'), /^[1-9]\d*$/);
  });

  it('starts with the graphical session and stops with it', () => {
    const u = unit();
    assert.equal(value(u, 'Install', 'WantedBy'), 'graphical-session.target');
    assert.equal(value(u, 'Unit', 'PartOf'), 'graphical-session.target');
    assert.equal(value(u, 'Unit', 'After'), 'graphical-session.target');
  });

  it('runs the binary the deb installs, directly (systemd restarts it, not the Supervisor)', () => {
    assert.deepEqual(splitCommandLine(value(unit(), 'Service', 'ExecStart')), [linuxExecutable]);
  });

  it('is enabled by a relative symlink in graphical-session.target.wants (systemd ignores a copy there)', () => {
    assert.ok(lstatSync(join(root, UNIT_LINK)).isSymbolicLink(), `${UNIT_LINK} must be a symlink`);
    assert.equal(readlinkSync(join(root, UNIT_LINK)), '../clinical-workstation-agent.service');
    assert.equal(realpathSync(join(root, UNIT_LINK)), realpathSync(join(root, UNIT)));
  });
});

describe('Linux: XDG autostart entry', () => {
  const entry = (): Ini => parseIni(readFileSync(join(root, DESKTOP), 'utf8'));

  it('autostarts the binary the deb installs under the Supervisor', () => {
    const e = entry();
    assert.deepEqual([...e.keys()], ['Desktop Entry']);
    assert.equal(value(e, 'Desktop Entry', 'Type'), 'Application');
    assert.equal(value(e, 'Desktop Entry', 'X-GNOME-Autostart-enabled'), 'true');
    assert.equal(e.get('Desktop Entry')?.get('Hidden'), undefined, 'Hidden=true would disable the entry');
    assert.deepEqual(splitCommandLine(value(e, 'Desktop Entry', 'Exec')), [linuxExecutable, SUPERVISE_FLAG]);
  });

  it('steps aside where systemd runs the session, so the user unit starts the agent there', () => {
    assert.equal(value(entry(), 'Desktop Entry', 'X-GNOME-HiddenUnderSystemd'), 'true');
  });
});

describe('macOS: LaunchAgent', { skip: missingXmllint }, () => {
  const dict = '/plist/dict';

  it('is a well-formed property list', () => {
    execFileSync('xmllint', ['--noout', join(root, PLIST)]);
    assert.equal(plistXpath('count(/plist/dict)'), '1');
  });

  it('is labelled with the appId and runs the binary inside the installed app bundle', () => {
    assert.equal(plistXpath(`string(${after(dict, 'Label')}[self::string])`), config.appId);
    assert.equal(plistXpath(`count(${after(dict, 'ProgramArguments')}[self::array]/*)`), '1');
    assert.equal(plistXpath(`string(${after(dict, 'ProgramArguments')}/string[1])`), macExecutable);
    assert.equal(plistXpath(`string(${after(dict, 'AssociatedBundleIdentifiers')}/string[1])`), config.appId);
  });

  it('starts at login in GUI sessions and is restarted by launchd after a crash, not after a clean exit', () => {
    assert.equal(plistXpath(`name(${after(dict, 'RunAtLoad')})`), 'true');
    assert.equal(plistXpath(`name(${after(`${after(dict, 'KeepAlive')}[self::dict]`, 'SuccessfulExit')})`), 'false');
    assert.ok(Number(plistXpath(`string(${after(dict, 'ThrottleInterval')}[self::integer])`)) > 0, 'ThrottleInterval is a positive integer');
    assert.equal(plistXpath(`string(${after(dict, 'LimitLoadToSessionType')})`), 'Aqua');
  });
});

describe('electron-builder.yml', () => {
  it('is a configuration electron-builder accepts', async () => {
    await validateConfiguration(config, new DebugLogger(false));
  });

  it('packs the unit, its enabling link and the autostart entry into the deb at the paths systemd and XDG read', () => {
    const mappings = new Map((config.deb?.fpm ?? []).map((arg) => arg.split('=', 2) as [string, string]));
    assert.deepEqual(Object.fromEntries(mappings), {
      [UNIT]: '/usr/lib/systemd/user/clinical-workstation-agent.service',
      [UNIT_LINK]: '/usr/lib/systemd/user/graphical-session.target.wants/clinical-workstation-agent.service',
      [DESKTOP]: '/etc/xdg/autostart/clinical-workstation-agent.desktop',
    });
    // The link is relative, so it resolves beside the unit once installed.
    assert.equal(dirname(mappings.get(UNIT_LINK)!), `${dirname(mappings.get(UNIT)!)}/graphical-session.target.wants`);
  });

  it('seals the LaunchAgent in the app bundle, and the pkg postinstall installs it from there', () => {
    const extra = config.mac?.extraResources;
    assert.ok(Array.isArray(extra), 'mac.extraResources is a list');
    assert.ok(
      extra.some((e) => typeof e === 'object' && e !== null && e.from === PLIST && e.to === `LaunchAgents/${config.appId}.plist`),
      `mac.extraResources maps ${PLIST} to LaunchAgents/${config.appId}.plist`,
    );
    const scripts = join(root, config.directories?.buildResources ?? 'build', config.pkg?.scripts ?? 'pkg-scripts');
    const postinstall = join(scripts, 'postinstall');
    assert.ok(statSync(postinstall).isFile());
    accessSync(postinstall, constants.X_OK); // pkgbuild runs only executable scripts
    const script = readFileSync(postinstall, 'utf8');
    assert.match(script, /^#!\/bin\/sh\n/);
    assert.ok(script.includes(`LABEL=${config.appId}\n`), 'the script installs the plist under the appId');
    assert.ok(script.includes(`SOURCE="$2/${config.productName}.app/Contents/Resources/LaunchAgents/$LABEL.plist"`), 'the script copies the plist from where mac.extraResources puts it');
    assert.ok(script.includes('/Library/LaunchAgents/$LABEL.plist'));
    assert.equal(spawnSync('sh', ['-n', postinstall]).status, 0, 'the script parses');
  });
});
