// Policy from an MDM configuration profile on macOS: macOS writes the profile's payload for
// our preference domain to /Library/Managed Preferences/<domain>.plist (binary or XML), and
// the agent reads that file directly (no `defaults` or scripting host). The payload is the
// policy document itself, nested dictionaries per section (locations.ts).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { DOMParser } from '@xmldom/xmldom';
import { parseBuffer } from 'bplist-parser';
import { MAC_MANAGED_PREFERENCES, MAC_PREFERENCE_DOMAIN } from './locations';
import { writableByOthers } from './policy-file';
import { policySettings, setValueAt, valueAt } from './settings';
import { SOURCE_LABELS, type PolicySource, type ReadRejection, type SourceReading } from './sources';

export class PlistError extends Error {}

/**
 * plist is an ES module only: loaded on first use (CommonJS cannot require it). The XML is
 * checked first with the parser plist itself uses, reporting to us: plist's own parser
 * would print each XML error of a damaged file to the console and carry on.
 */
async function parseXmlPlist(bytes: Buffer): Promise<unknown> {
  const xml = bytes.toString('utf8');
  const problems: string[] = [];
  new DOMParser({
    onError: (level, message) => {
      if (level !== 'warning') problems.push(message.split('\n')[0]!.trim());
    },
  }).parseFromString(xml, 'text/xml');
  if (problems.length > 0) throw new PlistError(`the XML is not well formed: ${problems[0]}`);
  const { parse } = await import('plist');
  return parse(xml);
}

/** The top-level value of a binary (bplist00) or XML property list. */
export async function parsePropertyList(bytes: Buffer): Promise<unknown> {
  try {
    if (bytes.subarray(0, 8).toString('latin1') === 'bplist00') return parseBuffer(bytes)[0];
    return await parseXmlPlist(bytes);
  } catch (err) {
    throw new PlistError(`not a valid property list (${err instanceof Error ? err.message : String(err)})`);
  }
}

function isDictionary(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Date);
}

/**
 * A property list dictionary as a policy document: plist integers, reals, booleans,
 * strings, arrays and dictionaries map to JSON; dates and data have no place in policy
 * and are rejected with their path. Top-level Payload* keys (a profile's own bookkeeping,
 * which macOS may copy into the managed preferences) are not settings and are skipped.
 */
export function documentFromPlist(root: unknown, where: string): { document: Record<string, unknown>; rejected: ReadRejection[] } {
  const rejected: ReadRejection[] = [];
  if (!isDictionary(root)) throw new PlistError('the property list does not hold a dictionary at the top');
  const convert = (v: unknown, path: readonly string[]): { ok: boolean; value?: unknown } => {
    if (typeof v === 'string' || typeof v === 'boolean') return { ok: true, value: v };
    if (typeof v === 'number') return { ok: true, value: v };
    if (typeof v === 'bigint') {
      if (Number.isSafeInteger(Number(v))) return { ok: true, value: Number(v) };
      rejected.push({ key: path.join('.'), value: v.toString(), reason: 'integer too large', fix: 'use a smaller <integer>', where });
      return { ok: false };
    }
    if (Array.isArray(v)) {
      const items = v.map((item, i) => convert(item, [...path, String(i)]));
      return items.every((i) => i.ok) ? { ok: true, value: items.map((i) => i.value) } : { ok: false };
    }
    if (isDictionary(v)) {
      const out: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(v)) {
        const c = convert(item, [...path, k]);
        if (c.ok) out[k] = c.value;
      }
      return { ok: true, value: out };
    }
    const kind = v instanceof Date ? '<date>' : v instanceof Uint8Array ? '<data>' : typeof v;
    rejected.push({ key: path.join('.'), value: v instanceof Date ? v.toISOString() : null, reason: `a ${kind} value, which no policy setting takes`, fix: 'use <string>, <integer>, <real>, <true/>/<false/>, <array> or <dict>', where });
    return { ok: false };
  };
  const document: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(root)) {
    if (k.startsWith('Payload')) continue;
    const c = convert(v, [k]);
    if (c.ok) document[k] = c.value;
  }
  // A structured setting may be a <dict> or, as in the ADMX, its JSON text in a <string>.
  for (const setting of policySettings()) {
    const v = setting.kind === 'json' ? valueAt(document, setting.path) : undefined;
    if (typeof v !== 'string' || !/^\s*[[{]/.test(v)) continue;
    try {
      setValueAt(document, setting.path, JSON.parse(v));
    } catch {
      // Left as text: the schema rejects it with the setting's path.
    }
  }
  // A bad item inside a setting (a <data> in a list) is that setting's rejection, so the
  // effective-policy view shows it on the setting's row.
  return { document, rejected: rejected.map((r) => withSettingKey(r)) };
}

function withSettingKey(r: ReadRejection): ReadRejection {
  const path = r.key.split('.');
  const setting = policySettings().find((s) => s.path.length < path.length && s.path.every((p, i) => path[i] === p));
  return setting ? { ...r, key: setting.key, reason: `${path.slice(setting.path.length).join('.')}: ${r.reason}` } : r;
}

/**
 * The policy payload of a .mobileconfig (unsigned XML): the payload whose PayloadType is
 * our preference domain, or the com.apple.ManagedClient.preferences form
 * (domain → Forced → mcx_preference_settings).
 */
export function payloadOfProfile(profile: unknown): Record<string, unknown> {
  if (!isDictionary(profile) || !Array.isArray(profile.PayloadContent)) throw new PlistError('not a configuration profile (no PayloadContent array)');
  for (const payload of profile.PayloadContent as unknown[]) {
    if (!isDictionary(payload)) continue;
    if (payload.PayloadType === MAC_PREFERENCE_DOMAIN) return payload;
    if (payload.PayloadType === 'com.apple.ManagedClient.preferences' && isDictionary(payload.PayloadContent)) {
      const domain = payload.PayloadContent[MAC_PREFERENCE_DOMAIN];
      const forced = isDictionary(domain) && Array.isArray(domain.Forced) ? (domain.Forced as unknown[])[0] : undefined;
      if (isDictionary(forced) && isDictionary(forced.mcx_preference_settings)) return forced.mcx_preference_settings;
    }
  }
  throw new PlistError(`the profile has no payload for ${MAC_PREFERENCE_DOMAIN}`);
}

export class ManagedPreferencesSource implements PolicySource {
  readonly name = 'mdm' as const;

  constructor(readonly location: string = MAC_MANAGED_PREFERENCES) {}

  async read(): Promise<SourceReading> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.location);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return { state: 'absent' };
      return { state: 'unreadable', why: `${this.location} cannot be read (${code ?? String(err)})`, fix: "check that the agent's account may read it" };
    }
    const unsafe = await writableByOthers(this.location);
    if (unsafe) return { state: 'unreadable', why: unsafe, fix: 'reinstall the configuration profile; macOS writes this file as root' };
    let root: unknown;
    try {
      root = await parsePropertyList(bytes);
      const where = `${SOURCE_LABELS.mdm} ${this.location}`;
      const { document, rejected } = documentFromPlist(root, where);
      return { state: 'ok', document, origin: this.location, hash: createHash('sha256').update(bytes).digest('hex'), rejected };
    } catch (err) {
      return { state: 'unreadable', why: `${this.location}: ${(err as Error).message}`, fix: 'reinstall the configuration profile (agentctl policy check PROFILE.mobileconfig shows what is wrong in it)' };
    }
  }
}
