// The effective policy: the sources' partial documents merged per setting, highest
// precedence first, into one document the one schema accepts. A value the schema refuses
// is rejected for its source only (the next source's value, or the default, applies to
// that setting) and recorded with its path, reason and a fix, like Chrome's policy page.
// Pure: no I/O, so the precedence rules are tested exhaustively.
import type { z } from 'zod';
import { agentPolicySchema, type AgentPolicy } from './schema';
import { policySettings, setValueAt, valueAt, type JsonSchema, type PolicySetting } from './settings';
import { precedenceOf, SOURCE_LABELS, type ReadRejection, type SettingSource, type SourceName } from './sources';

/** One source's document, as the merge takes it. */
export interface SourceDocument {
  readonly source: SourceName;
  /** For messages: e.g. `policy file /etc/clinical-workstation-agent/policy.json`. */
  readonly where: string;
  readonly document: unknown;
  /** Values the source could not express (found while reading it). */
  readonly rejected?: readonly ReadRejection[];
}

export interface Rejection {
  /** A setting's key, or the dotted path of something that is no setting. */
  readonly key: string;
  readonly source: SourceName;
  readonly where: string;
  readonly value: unknown;
  /** What is wrong, e.g. `Too big: expected number to be <=10000`. */
  readonly reason: string;
  /** One line on what to change. */
  readonly fix: string;
}

export interface EffectiveSetting {
  readonly key: string;
  /** The value in force, as the agent runs on it; undefined when nothing sets it and it has no default. */
  readonly value: unknown;
  readonly source: SettingSource;
  /**
   * The values of lower-precedence sources this one overrode; `invalid` says why one would
   * be rejected if it applied (the source above it removed), with what to change.
   */
  readonly overrode: readonly OverriddenValue[];
  /** This setting's values that were rejected, from any source. */
  readonly rejected: readonly Rejection[];
}

export interface OverriddenValue {
  readonly source: SourceName;
  readonly value: unknown;
  readonly invalid?: { readonly reason: string; readonly fix: string };
}

export interface EffectivePolicy {
  readonly policy: AgentPolicy;
  /** The composed document of the winning values (it parses to `policy`). */
  readonly document: Record<string, unknown>;
  /** Every setting, in schema order. */
  readonly settings: readonly EffectiveSetting[];
  /** Every rejection (settings' and keys that are no setting), highest-precedence source first. */
  readonly rejections: readonly Rejection[];
}

interface Candidate {
  readonly source: SourceName;
  readonly where: string;
  readonly value: unknown;
}

const SEP = '\u0000';
const pathKey = (path: readonly string[]) => path.join(SEP);

let index: { readonly bySetting: ReadonlyMap<string, PolicySetting>; readonly sections: ReadonlySet<string> } | null = null;

function settingIndex(): NonNullable<typeof index> {
  if (!index) {
    const bySetting = new Map<string, PolicySetting>();
    const sections = new Set<string>();
    for (const s of policySettings()) {
      bySetting.set(pathKey(s.path), s);
      for (let i = 0; i < s.path.length; i++) sections.add(pathKey(s.path.slice(0, i)));
    }
    index = { bySetting, sections };
  }
  return index;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Date);
}

/** A source's document split into setting values and keys that are no setting. */
export function splitDocument(input: SourceDocument): { values: Map<string, unknown>; stray: Rejection[] } {
  const { bySetting, sections } = settingIndex();
  const values = new Map<string, unknown>();
  const stray: Rejection[] = [];
  const reject = (path: readonly string[], value: unknown, reason: string, fix: string) =>
    stray.push({ key: path.length > 0 ? path.join('.') : '(document)', source: input.source, where: input.where, value, reason, fix });
  const walk = (node: unknown, path: readonly string[]): void => {
    const setting = bySetting.get(pathKey(path));
    if (setting) {
      values.set(setting.key, node);
      return;
    }
    if (!sections.has(pathKey(path))) {
      reject(path, node, 'unknown setting (check the spelling)', unknownKeyFix(path));
      return;
    }
    if (!isPlainObject(node)) {
      const what = path.length > 0 ? `${path.join('.')} is a section` : 'a policy is a set of sections';
      reject(path, node, `${what}: expected an object of settings, found ${describeJson(node)}`, path.length > 0 ? `write it as { "setting": value, … }` : 'write the policy as one JSON object: { "session": { … }, … }');
      return;
    }
    for (const [k, v] of Object.entries(node)) walk(v, [...path, k]);
  };
  walk(input.document, []);
  return { values, stray };
}

/** Merges the sources' documents per setting; the result always parses with the one schema. */
export function mergePolicy(inputs: readonly SourceDocument[]): EffectivePolicy {
  const ordered = [...inputs].sort((a, b) => precedenceOf(a.source) - precedenceOf(b.source));
  const settings = policySettings();
  const candidates = new Map<string, Candidate[]>(settings.map((s) => [s.key, []]));
  const rejections: Rejection[] = [];
  for (const input of ordered) {
    const { values, stray } = splitDocument(input);
    for (const r of input.rejected ?? []) rejections.push({ ...r, source: input.source });
    rejections.push(...stray);
    for (const [key, value] of values) candidates.get(key)!.push({ source: input.source, where: input.where, value });
  }
  /** Per setting, the index of the candidate in force (candidates before it were rejected). */
  const chosen = new Map<string, number>(settings.map((s) => [s.key, 0]));
  const current = (key: string): Candidate | undefined => candidates.get(key)![chosen.get(key)!];
  const compose = (): Record<string, unknown> => {
    const doc: Record<string, unknown> = {};
    for (const s of settings) {
      const c = current(s.key);
      if (c) setValueAt(doc, s.path, c.value);
    }
    return doc;
  };
  // Every round rejects at least one candidate, so this ends (at worst with the defaults alone).
  const rounds = [...candidates.values()].reduce((n, c) => n + c.length, 0) + 1;
  for (let round = 0; round <= rounds; round++) {
    const document = compose();
    const parsed = agentPolicySchema.safeParse(document);
    if (parsed.success) return result(parsed.data, document, candidates, chosen, rejections);
    const verdicts = judge(parsed.error.issues, document, current);
    if (verdicts.size === 0) break;
    for (const [key, v] of verdicts) {
      const c = current(key)!;
      rejections.push({ key, source: c.source, where: c.where, value: c.value, reason: v.reason, fix: v.fix });
      chosen.set(key, chosen.get(key)! + 1);
    }
  }
  // Unreachable while the defaults parse (a test proves they do).
  throw new Error('the policy sources could not be merged into a valid policy');
}

/** Which candidates the schema's issues reject: per setting key, why and what to do. */
function judge(
  issues: readonly z.core.$ZodIssue[],
  document: Record<string, unknown>,
  current: (key: string) => Candidate | undefined,
): Map<string, { reason: string; fix: string }> {
  const { bySetting } = settingIndex();
  const settings = policySettings();
  const verdicts = new Map<string, { reason: string; fix: string }>();
  for (const issue of issues) {
    const path = issue.path.map(String);
    let setting: PolicySetting | undefined;
    for (let i = path.length; i > 0 && !setting; i--) setting = bySetting.get(pathKey(path.slice(0, i)));
    if (setting && current(setting.key)) {
      // A rule between settings (warn before lock, min ≤ max) names the other side: of the
      // values in conflict, the one from the lowest-precedence source gives way.
      const other = conflictingSetting(issue, setting, current);
      if (other) {
        const winner = current(setting.key)!;
        if (!verdicts.has(other.key)) {
          verdicts.set(other.key, {
            reason: `conflicts with ${setting.key} from ${SOURCE_LABELS[winner.source]} (${valueText(winner.value, 40)}): ${setting.key} ${issue.message}`,
            fix: `change it so that the two agree, or remove it so the ${setting.key} from ${SOURCE_LABELS[winner.source]} applies with the default`,
          });
        }
        continue;
      }
      if (!verdicts.has(setting.key)) verdicts.set(setting.key, { reason: issueReason(issue, path.slice(setting.path.length)), fix: settingFix(setting, issue) });
      continue;
    }
    // The issue is about something no source set (a required field missing, a cross-field
    // rule): reject what the highest-precedence source set around it.
    const dotted = path.join('.');
    const missing = valueAt(document, path) === undefined;
    const reason = missing && issue.code === 'invalid_type' ? `needs ${dotted} as well, which no source sets` : `${dotted}: ${issue.message}`;
    const fix = missing && issue.code === 'invalid_type' ? `set ${dotted} in the same place, or remove this setting` : `change the settings as the reason says, or remove this setting`;
    for (let scope = setting ? setting.path.slice(0, -1) : path; ; scope = scope.slice(0, -1)) {
      const around = settings.filter((s) => current(s.key) && scope.every((p, i) => s.path[i] === p));
      if (around.length > 0) {
        const top = Math.min(...around.map((s) => precedenceOf(current(s.key)!.source)));
        for (const s of around) if (precedenceOf(current(s.key)!.source) === top && !verdicts.has(s.key)) verdicts.set(s.key, { reason, fix });
        break;
      }
      if (scope.length === 0) break;
    }
  }
  return verdicts;
}

/**
 * For a rule between two settings: the other setting when its value comes from a source of
 * lower precedence than the value the issue is reported at (that one gives way instead).
 * The schema names the other side as `params.related`: sibling keys of the issue's setting.
 */
function conflictingSetting(issue: z.core.$ZodIssue, setting: PolicySetting, current: (key: string) => Candidate | undefined): PolicySetting | undefined {
  if (issue.code !== 'custom') return undefined;
  const related = (issue.params as { related?: unknown } | undefined)?.related;
  if (!Array.isArray(related)) return undefined;
  const { bySetting } = settingIndex();
  const here = precedenceOf(current(setting.key)!.source);
  let lowest: { setting: PolicySetting; precedence: number } | undefined;
  for (const key of related) {
    if (typeof key !== 'string') continue;
    const other = bySetting.get(pathKey([...setting.path.slice(0, -1), ...key.split('.')]));
    const c = other ? current(other.key) : undefined;
    if (!other || !c) continue;
    const precedence = precedenceOf(c.source);
    if (precedence > here && (!lowest || precedence > lowest.precedence)) lowest = { setting: other, precedence };
  }
  return lowest?.setting;
}

function result(
  policy: AgentPolicy,
  document: Record<string, unknown>,
  candidates: ReadonlyMap<string, readonly Candidate[]>,
  chosen: ReadonlyMap<string, number>,
  rejections: readonly Rejection[],
): EffectivePolicy {
  const sorted = [...rejections].sort((a, b) => precedenceOf(a.source) - precedenceOf(b.source) || settingOrder(a.key) - settingOrder(b.key));
  const settings = policySettings().map((s): EffectiveSetting => {
    const all = candidates.get(s.key)!;
    const at = chosen.get(s.key)!;
    const winner = all[at];
    return {
      key: s.key,
      value: valueAt(policy, s.path),
      source: winner?.source ?? 'default',
      overrode: all.slice(at + 1).map((c): OverriddenValue => {
        const invalid = wouldBeRejected(s, c, document, candidates, chosen);
        return invalid ? { source: c.source, value: c.value, invalid } : { source: c.source, value: c.value };
      }),
      rejected: sorted.filter((r) => r.key === s.key),
    };
  });
  return { policy, document, settings, rejections: sorted };
}

/**
 * Why an overridden value would be rejected if it applied: the policy in force with that
 * value in its setting's place, judged as the merge judges (a rule between settings counts
 * against it only where the merge would make it give way). Undefined when it would apply.
 */
function wouldBeRejected(
  setting: PolicySetting,
  candidate: Candidate,
  document: Record<string, unknown>,
  candidates: ReadonlyMap<string, readonly Candidate[]>,
  chosen: ReadonlyMap<string, number>,
): { reason: string; fix: string } | undefined {
  const trial = structuredClone(document);
  setValueAt(trial, setting.path, candidate.value);
  const parsed = agentPolicySchema.safeParse(trial);
  if (parsed.success) return undefined;
  const current = (key: string): Candidate | undefined => (key === setting.key ? candidate : candidates.get(key)![chosen.get(key)!]);
  return judge(parsed.error.issues, trial, current).get(setting.key);
}

function settingOrder(key: string): number {
  const i = policySettings().findIndex((s) => s.key === key);
  return i < 0 ? Number.MAX_SAFE_INTEGER : i;
}

function issueReason(issue: z.core.$ZodIssue, below: readonly string[]): string {
  const message = issue.code === 'unrecognized_keys' ? `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}` : issue.message;
  return below.length > 0 ? `${below.join('.')}: ${message}` : message;
}

function settingFix(setting: PolicySetting, issue: z.core.$ZodIssue): string {
  if (issue.code === 'custom') return 'change it as the reason says, or remove it so the next source or the default applies';
  return `use ${acceptedValues(setting)}`;
}

function range(s: JsonSchema, unit: string): string {
  const min = s.minimum ?? (s.exclusiveMinimum !== undefined ? `more than ${s.exclusiveMinimum}` : undefined);
  const max = s.maximum !== undefined && s.maximum < Number.MAX_SAFE_INTEGER ? s.maximum : undefined;
  if (typeof min === 'number' && max !== undefined) return ` from ${min} to ${max}${unit}`;
  if (typeof min === 'number') return ` of at least ${min}${unit}`;
  if (typeof min === 'string') return ` ${min}${unit}`;
  if (max !== undefined) return ` of at most ${max}${unit}`;
  return '';
}

function objectShape(s: JsonSchema): string {
  const props = Object.entries(s.properties ?? {}).map(([k, p]) => `"${k}":${p.const !== undefined ? JSON.stringify(p.const) : '…'}`);
  return `{${props.join(',')}}`;
}

/** What a setting accepts, in words (for fixes), from its JSON Schema. */
export function acceptedValues(setting: PolicySetting): string {
  const s = setting.schema;
  switch (setting.kind) {
    case 'boolean':
      return 'true or false';
    case 'integer':
      return `a whole number${range(s, '')}`;
    case 'number':
      return `a number${range(s, '')}`;
    case 'enum':
      return `one of ${setting.choices.join(', ')}`;
    case 'string': {
      const length = s.minLength !== undefined && s.minLength > 0 ? ` (${s.minLength}–${s.maxLength ?? '…'} characters)` : s.maxLength !== undefined ? ` (at most ${s.maxLength} characters)` : '';
      return s.format === 'uri' ? `a URL such as https://host.example.org` : `text${length}`;
    }
    case 'list': {
      const items = s.items?.enum ? `each one of ${s.items.enum.map(String).join(', ')}` : setting.itemKind === 'integer' ? `whole numbers${range(s.items ?? {}, '')}` : 'text values';
      return `a list of ${items}${s.minItems ? ` (at least ${s.minItems})` : ''}`;
    }
    case 'json': {
      const alternatives = s.oneOf ?? s.anyOf;
      return alternatives ? `one of ${alternatives.map(objectShape).join(' or ')}` : 'a JSON value';
    }
  }
}

function unknownKeyFix(path: readonly string[]): string {
  const dotted = path.join('.');
  const near = closestKnown(dotted);
  return near ? `did you mean ${near}? Correct the spelling, or remove it` : 'remove it, or correct its spelling (agentctl policy show --all lists every setting)';
}

/** The setting or section name closest to a misspelt one, if any is close. */
export function closestKnown(dotted: string): string | null {
  const names = new Set<string>();
  for (const s of policySettings()) for (let i = 1; i <= s.path.length; i++) names.add(s.path.slice(0, i).join('.'));
  let best: string | null = null;
  let bestDistance = Math.max(2, Math.floor(dotted.length / 4)) + 1;
  for (const name of names) {
    const d = editDistance(dotted.toLowerCase(), name.toLowerCase());
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = row;
  }
  return prev[b.length]!;
}

/** A value as one short line of text (JSON), for tables and messages. */
export function valueText(value: unknown, max = 60): string {
  if (value === undefined) return '(not set)';
  const text = typeof value === 'string' ? value : describeJson(value, Number.MAX_SAFE_INTEGER);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function describeJson(value: unknown, max = 40): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** `path: reason (where)`: the line status, the audit log and agentctl show per rejection. */
export function rejectionLine(r: Rejection): string {
  return `${r.key}: ${r.reason} (${r.where})`;
}

/** The label of a setting's source, e.g. `Group Policy`. */
export function sourceLabel(source: SettingSource): string {
  return SOURCE_LABELS[source];
}
