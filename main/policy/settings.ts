// Every policy setting IT can set, as a flat list derived from the one policy schema (zod →
// JSON Schema): its dotted key, its kind, its limits and its description. The policy
// sources (file, registry, managed preferences, installer values), the effective-policy
// view and the ADMX/ADML, .mobileconfig and annotated JSON templates all work from this
// list, so a new setting in the schema cannot be missing from any of them.
import { z } from 'zod';
import { agentPolicySchema } from './schema';

/** The part of JSON Schema (draft 2020-12) the settings use. */
export interface JsonSchema {
  readonly type?: string | readonly string[];
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly items?: JsonSchema;
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly oneOf?: readonly JsonSchema[];
  readonly anyOf?: readonly JsonSchema[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
  readonly exclusiveMaximum?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly format?: string;
  readonly default?: unknown;
  readonly description?: string;
  readonly title?: string;
}

/**
 * How a setting is written in sources that only have scalars (the registry, ADMX):
 * - boolean, integer, number, string: one value;
 * - enum: one string out of `choices`;
 * - list: a list of strings or integers (REG_MULTI_SZ, an ADMX list);
 * - json: a structured value (a choice of object shapes) written as JSON text.
 */
export type SettingKind = 'boolean' | 'integer' | 'number' | 'string' | 'enum' | 'list' | 'json';

export interface PolicySetting {
  /** `session.lockAfterSeconds` */
  readonly key: string;
  readonly path: readonly string[];
  readonly kind: SettingKind;
  /** For `enum`: the allowed values. */
  readonly choices: readonly string[];
  /** For `list`: the kind of each item. */
  readonly itemKind: 'string' | 'integer' | null;
  /** The setting's own JSON Schema (limits, format, default, description). */
  readonly schema: JsonSchema;
  /** What the setting does, for IT (from the schema's description; empty when there is none). */
  readonly description: string;
  /** The default the schema states for this setting, if it states one (several follow from `session.profile`). */
  readonly default: unknown;
}

/** The policy schema as JSON Schema (input side: what IT writes, with defaults). */
export function policyJsonSchema(): JsonSchema {
  return z.toJSONSchema(agentPolicySchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
}

function isPlainObject(s: JsonSchema): boolean {
  return s.type === 'object' && s.properties !== undefined && s.oneOf === undefined && s.anyOf === undefined;
}

function kindOf(s: JsonSchema): Pick<PolicySetting, 'kind' | 'choices' | 'itemKind'> {
  if (s.enum !== undefined) return { kind: 'enum', choices: s.enum.map(String), itemKind: null };
  switch (s.type) {
    case 'boolean':
      return { kind: 'boolean', choices: [], itemKind: null };
    case 'integer':
      return { kind: 'integer', choices: [], itemKind: null };
    case 'number':
      return { kind: 'number', choices: [], itemKind: null };
    case 'string':
      return { kind: 'string', choices: [], itemKind: null };
    case 'array': {
      const item = s.items?.type;
      if (item === 'string' || item === 'integer') return { kind: 'list', choices: [], itemKind: item };
      return { kind: 'json', choices: [], itemKind: null };
    }
    default:
      return { kind: 'json', choices: [], itemKind: null };
  }
}

function flatten(schema: JsonSchema, path: readonly string[], out: PolicySetting[]): void {
  if (isPlainObject(schema) && path.length < 8) {
    for (const [name, child] of Object.entries(schema.properties ?? {})) flatten(child, [...path, name], out);
    return;
  }
  out.push({ key: path.join('.'), path, ...kindOf(schema), schema, description: schema.description ?? '', default: schema.default });
}

let cached: readonly PolicySetting[] | null = null;

/** Every leaf setting of the policy schema, in schema order. */
export function policySettings(): readonly PolicySetting[] {
  if (!cached) {
    const out: PolicySetting[] = [];
    flatten(policyJsonSchema(), [], out);
    cached = Object.freeze(out);
  }
  return cached;
}

export function settingByKey(key: string): PolicySetting | undefined {
  return policySettings().find((s) => s.key === key);
}

/** The value at `path` in a (partial) policy document, or undefined. */
export function valueAt(doc: unknown, path: readonly string[]): unknown {
  let v: unknown = doc;
  for (const p of path) {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.hasOwn(v, p)) return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

/** Sets `path` in a plain-object document, creating the objects on the way. */
export function setValueAt(doc: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let o = doc;
  for (const p of path.slice(0, -1)) {
    const next = o[p];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) o[p] = {};
    o = o[p] as Record<string, unknown>;
  }
  o[path[path.length - 1]!] = value;
}

/** The settings a (partial) policy document sets, with their values. */
export function settingsIn(doc: unknown): Map<string, unknown> {
  const found = new Map<string, unknown>();
  for (const s of policySettings()) {
    const v = valueAt(doc, s.path);
    if (v !== undefined) found.set(s.key, v);
  }
  return found;
}
