// Policy from the Windows registry, read in-process (reg.exe and scripting hosts are often
// blocked on hardened workstations): Group Policy's key and the MSI's installer values,
// both in the layout of locations.ts, so the reader finds exactly what the ADMX templates
// and the MSI write. The registry itself is behind the small RegistryReader port; the
// mapping from values to a policy document is pure and tested without Windows.
import { createHash } from 'node:crypto';
import { registryLocation } from './locations';
import { policySettings, setValueAt, type PolicySetting } from './settings';
import { SOURCE_LABELS, type PolicySource, type ReadRejection, type SourceName, type SourceReading } from './sources';

export type RegistryValueType = 'REG_SZ' | 'REG_EXPAND_SZ' | 'REG_MULTI_SZ' | 'REG_DWORD' | 'REG_QWORD' | 'REG_BINARY' | 'REG_NONE' | 'REG_OTHER';

export interface RegistryValue {
  readonly name: string;
  readonly type: RegistryValueType;
  /** REG_DWORD: number; REG_QWORD: bigint; REG_SZ/REG_EXPAND_SZ: string; REG_MULTI_SZ: string[]; others: bytes. */
  readonly data: number | bigint | string | readonly string[] | Uint8Array;
}

export interface RegistryKeyContents {
  readonly subkeys: readonly string[];
  readonly values: readonly RegistryValue[];
}

/** Read access to HKEY_LOCAL_MACHINE (the 64-bit view). */
export interface RegistryReader {
  /** The subkeys and values of HKLM\<path>; null when the key does not exist. Throws when it cannot be read. */
  readKey(path: string): Promise<RegistryKeyContents | null>;
}

/** A key below the root and everything in it, by lower-cased relative path (the registry ignores case). */
export type RegistryTree = ReadonlyMap<string, { readonly path: string; readonly contents: RegistryKeyContents }>;

const MAX_DEPTH = 6;
const MAX_KEYS = 256;

/** Reads the root key and its subkeys; null when the root does not exist. */
export async function readRegistryTree(reader: RegistryReader, root: string): Promise<RegistryTree | null> {
  const top = await reader.readKey(root);
  if (!top) return null;
  const tree = new Map<string, { path: string; contents: RegistryKeyContents }>();
  const visit = async (relative: string, contents: RegistryKeyContents, depth: number): Promise<void> => {
    tree.set(relative.toLowerCase(), { path: relative, contents });
    if (depth >= MAX_DEPTH) return;
    for (const name of contents.subkeys) {
      if (tree.size >= MAX_KEYS) return;
      const child = relative ? `${relative}\\${name}` : name;
      const sub = await reader.readKey(`${root}\\${child}`);
      if (sub) await visit(child, sub, depth + 1);
    }
  };
  await visit('', top, 0);
  return tree;
}

type Converted = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly reason: string; readonly fix: string };

/** How a value shows in a message: `REG_SZ "ten"`, `REG_DWORD 7`. */
export function describeRegistryValue(v: RegistryValue): string {
  switch (v.type) {
    case 'REG_SZ':
    case 'REG_EXPAND_SZ':
      return `${v.type} ${JSON.stringify(String(v.data)).slice(0, 80)}`;
    case 'REG_DWORD':
    case 'REG_QWORD':
      return `${v.type} ${String(v.data)}`;
    case 'REG_MULTI_SZ':
      return `REG_MULTI_SZ ${JSON.stringify(v.data).slice(0, 80)}`;
    default:
      return `${v.type} (${v.data instanceof Uint8Array ? v.data.length : 0} bytes)`;
  }
}

/** What IT should write, per setting: `REG_DWORD 1 (on) or 0 (off)`. */
export function registryExpectation(setting: PolicySetting): string {
  const loc = registryLocation(setting);
  switch (setting.kind) {
    case 'boolean':
      return 'REG_DWORD 1 (on) or 0 (off)';
    case 'integer':
      return `${loc.type} holding a whole number`;
    case 'number':
      return 'REG_SZ holding a number such as "300"';
    case 'enum':
      return `REG_SZ holding one of ${setting.choices.join(', ')}`;
    case 'string':
      return 'REG_SZ';
    case 'json':
      return 'REG_SZ holding JSON text';
    case 'list':
      return `a subkey "${loc.value}" with values named 1, 2, 3, … each ${loc.type}`;
  }
}

const expandEnv = (text: string, env: NodeJS.ProcessEnv) => text.replace(/%([^%\s]+)%/g, (all, name: string) => env[name] ?? all);

function toNumber(v: RegistryValue, whole: boolean): number | null {
  if (v.type === 'REG_DWORD' && typeof v.data === 'number') return v.data;
  if (v.type === 'REG_QWORD' && (typeof v.data === 'bigint' || typeof v.data === 'number')) {
    const n = Number(v.data);
    return Number.isSafeInteger(n) ? n : null;
  }
  if (v.type === 'REG_SZ' && typeof v.data === 'string') {
    const text = v.data.trim();
    if (!(whole ? /^-?\d+$/ : /^-?\d+(\.\d+)?$/).test(text)) return null;
    return Number(text);
  }
  return null;
}

function convertScalar(setting: PolicySetting, kind: 'boolean' | 'integer' | 'number' | 'string' | 'enum' | 'json', v: RegistryValue, env: NodeJS.ProcessEnv): Converted {
  const fail = (expected: string): Converted => ({ ok: false, reason: `${describeRegistryValue(v)} where ${expected} was expected`, fix: `write it as ${registryExpectation(setting)}` });
  switch (kind) {
    case 'boolean':
      if ((v.type === 'REG_DWORD' || v.type === 'REG_QWORD') && (Number(v.data) === 0 || Number(v.data) === 1)) return { ok: true, value: Number(v.data) === 1 };
      return fail('REG_DWORD 0 or 1');
    case 'integer': {
      const n = toNumber(v, true);
      return n === null ? fail('a whole number') : { ok: true, value: n };
    }
    case 'number': {
      const n = toNumber(v, false);
      return n === null ? fail('a number') : { ok: true, value: n };
    }
    case 'string':
    case 'enum':
    case 'json': {
      if (v.type !== 'REG_SZ' && v.type !== 'REG_EXPAND_SZ') return fail(kind === 'json' ? 'REG_SZ holding JSON text' : 'REG_SZ text');
      const text = v.type === 'REG_EXPAND_SZ' ? expandEnv(String(v.data), env) : String(v.data);
      if (kind !== 'json') return { ok: true, value: text };
      try {
        return { ok: true, value: JSON.parse(text) as unknown };
      } catch (err) {
        return { ok: false, reason: `${describeRegistryValue(v)} is not valid JSON (${(err as Error).message})`, fix: `write it as ${registryExpectation(setting)}` };
      }
    }
  }
}

function convertList(setting: PolicySetting, key: RegistryKeyContents | undefined, multi: RegistryValue | undefined, env: NodeJS.ProcessEnv): Converted | null {
  const itemKind = setting.itemKind === 'integer' ? 'integer' : 'string';
  if (multi && multi.type === 'REG_MULTI_SZ' && Array.isArray(multi.data)) {
    return convertItems(setting, itemKind, multi.data.map((text, i) => ({ name: String(i + 1), type: 'REG_SZ' as const, data: String(text) })), env);
  }
  if (!key) return null;
  const named = key.values.filter((v) => v.name !== '' && !v.name.startsWith('**'));
  const odd = named.find((v) => !/^[1-9]\d*$/.test(v.name));
  if (odd) return { ok: false, reason: `the list has a value named "${odd.name}"; list values are named 1, 2, 3, …`, fix: `write it as ${registryExpectation(setting)}` };
  return convertItems(setting, itemKind, [...named].sort((a, b) => Number(a.name) - Number(b.name)), env);
}

function convertItems(setting: PolicySetting, itemKind: 'integer' | 'string', items: readonly RegistryValue[], env: NodeJS.ProcessEnv): Converted {
  const out: unknown[] = [];
  for (const item of items) {
    const c = convertScalar(setting, itemKind, item, env);
    if (!c.ok) return { ok: false, reason: `item ${item.name}: ${c.reason}`, fix: c.fix };
    out.push(c.value);
  }
  return { ok: true, value: out };
}

export interface RegistryDocument {
  readonly document: Record<string, unknown>;
  readonly rejected: readonly ReadRejection[];
  /** SHA-256 over every value read, so a change anywhere shows. */
  readonly hash: string;
}

/**
 * The policy document a registry tree holds, per locations.ts. A value of the wrong type
 * is rejected for that setting (with the key it sits in); values and subkeys that are no
 * setting are reported too, so a misspelt value name does not go unnoticed.
 */
export function documentFromRegistry(tree: RegistryTree, rootLabel: string, env: NodeJS.ProcessEnv = process.env): RegistryDocument {
  const document: Record<string, unknown> = {};
  const rejected: ReadRejection[] = [];
  /** Lower-cased `key path|value name` of every value a setting accounts for. */
  const claimed = new Set<string>();
  /** Lower-cased paths of the keys that hold settings (sections) and of list keys. */
  const sections = new Set<string>(['']);
  const lists = new Set<string>();
  const where = (relative: string) => `${rootLabel}${relative ? `\\${relative}` : ''}`;
  for (const setting of policySettings()) {
    const loc = registryLocation(setting);
    const keyPath = loc.subkey.toLowerCase();
    for (let i = 1; i < setting.path.length; i++) sections.add(setting.path.slice(0, i).join('\\').toLowerCase());
    const key = tree.get(keyPath);
    const value = key?.contents.values.find((v) => v.name.toLowerCase() === loc.value.toLowerCase());
    if (value) claimed.add(`${keyPath}|${value.name.toLowerCase()}`);
    let converted: Converted | null;
    let raw: unknown;
    if (loc.list) {
      const listPath = `${keyPath}\\${loc.value.toLowerCase()}`;
      lists.add(listPath);
      const listKey = tree.get(listPath);
      converted = convertList(setting, listKey?.contents, value, env);
      raw = value ? value.data : listKey?.contents.values.map((v) => v.data);
    } else {
      converted = value ? convertScalar(setting, setting.kind as Parameters<typeof convertScalar>[1], value, env) : null;
      raw = value?.data;
    }
    if (!converted) continue;
    if (converted.ok) setValueAt(document, setting.path, converted.value);
    else rejected.push({ key: setting.key, value: jsonSafe(raw), reason: converted.reason, fix: converted.fix, where: where(loc.subkey) });
  }
  const lines: string[] = [];
  for (const [lower, { path, contents }] of [...tree].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    for (const v of contents.values) lines.push(`${lower}|${v.name.toLowerCase()}|${v.type}|${registryDataText(v)}`);
    const parent = lower.includes('\\') ? lower.slice(0, lower.lastIndexOf('\\')) : '';
    if (!sections.has(lower) && !lists.has(lower)) {
      // Report a stray key once, where it hangs off a known section (not every key below it).
      if (sections.has(parent)) {
        rejected.push({ key: path.split('\\').join('.'), value: null, reason: 'unknown section or setting (check the spelling of the key name)', fix: 'delete the key, or correct its name', where: where(path) });
      }
      continue;
    }
    // The root holds no setting (the MSI may keep its own values there); list keys hold items.
    if (lower === '' || lists.has(lower)) continue;
    for (const v of contents.values) {
      if (v.name === '' || v.name.startsWith('**') || claimed.has(`${lower}|${v.name.toLowerCase()}`)) continue;
      rejected.push({ key: `${path.split('\\').join('.')}.${v.name}`, value: jsonSafe(v.data), reason: `${describeRegistryValue(v)}: unknown setting (check the spelling of the value name)`, fix: 'delete the value, or correct its name', where: where(path) });
    }
  }
  lines.sort();
  return { document, rejected, hash: createHash('sha256').update(lines.join('\n')).digest('hex') };
}

function jsonSafe(data: unknown): unknown {
  if (typeof data === 'bigint') return data.toString();
  if (data instanceof Uint8Array) return `(${data.length} bytes)`;
  if (Array.isArray(data)) return data.map(jsonSafe);
  return data;
}

function registryDataText(v: RegistryValue): string {
  if (v.data instanceof Uint8Array) return Buffer.from(v.data).toString('hex');
  if (typeof v.data === 'bigint') return v.data.toString();
  return JSON.stringify(v.data);
}

/** Policy from HKLM\<root>: Group Policy (GPO_KEY) or the installer's values (INSTALLER_KEY). */
export class RegistryPolicySource implements PolicySource {
  readonly location: string;

  constructor(
    readonly name: Extract<SourceName, 'group-policy' | 'installer'>,
    private readonly root: string,
    private readonly reader: () => RegistryReader,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.location = `HKLM\\${root}`;
  }

  async read(): Promise<SourceReading> {
    let tree: RegistryTree | null;
    try {
      tree = await readRegistryTree(this.reader(), this.root);
    } catch (err) {
      return {
        state: 'unreadable',
        why: `cannot read the registry key ${this.location} (${err instanceof Error ? err.message : String(err)})`,
        fix: `check that the agent's account may read ${this.location}`,
      };
    }
    if (!tree) return { state: 'absent' };
    const { document, rejected, hash } = documentFromRegistry(tree, `${SOURCE_LABELS[this.name]} ${this.location}`, this.env);
    return { state: 'ok', document, origin: this.location, hash, rejected };
  }
}
