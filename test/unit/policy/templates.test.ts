// The policy templates IT loads into its tools (build/policy/: ADMX + ADML, .mobileconfig,
// JSON Schema, annotated reference) are exactly what the generator makes from the schema
// now, so a new setting fails here until `npm run policy-templates` is run. The files are
// well-formed (xmllint), the ADMX and ADML reference each other completely, and every setting
// is in each template exactly once: in the ADMX where the agent's registry reader looks
// (registryLocation), in the profile payload and the reference where the policy document
// has it, and each template's values are valid policy once its placeholders are resolved.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { GPO_KEY, MAC_PREFERENCE_DOMAIN, registryLocation } from '../../../main/policy/locations';
import { agentPolicySchema } from '../../../main/policy/schema';
import { policyJsonSchema, policySettings, valueAt, type JsonSchema, type PolicySetting } from '../../../main/policy/settings';
import {
  ADML_FILE,
  ADMX_FILE,
  MOBILECONFIG_FILE,
  REFERENCE_FILE,
  SCHEMA_FILE,
  admlText,
  admxText,
  isPlaceholder,
  mobileconfigText,
  policyReferenceText,
  policySections,
  policyTemplateFiles,
  valueRule,
} from '../../../main/policy/templates';

const POLICY_DIR = resolve(__dirname, '../../../../build/policy');
const pathOf = (file: string) => join(POLICY_DIR, file);
const read = (file: string) => readFileSync(pathOf(file), 'utf8');
const settings = policySettings();
const root = policyJsonSchema();


/** An XPath expression's string value, from xmllint. */
function xpathString(file: string, expr: string): string {
  return execFileSync('xmllint', ['--nonet', '--xpath', `string(${expr})`, pathOf(file)], { encoding: 'utf8' }).replace(/\n$/, '');
}

/** The values of the attributes an XPath selects (xmllint --xpath prints ` name="value"` per node). */
function attributeValues(file: string, expr: string): string[] {
  const r = spawnSync('xmllint', ['--nonet', '--xpath', expr, pathOf(file)], { encoding: 'utf8' });
  if (r.status === 10) return []; // XPath set is empty
  assert.equal(r.status, 0, r.stderr);
  return [...r.stdout.matchAll(/ [\w:-]+="([^"]*)"/g)].map((m) => m[1]!.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'));
}

/** `*[local-name()='policy']`: the ADMX/ADML elements, whatever their namespace prefix. */
const el = (name: string) => `*[local-name()='${name}']`;
/** Several string values in one xmllint run (none of them holds a `|`). */
const fields = (file: string, exprs: readonly string[]) => xpathString(file, `concat(${exprs.map((e) => `string(${e})`).join(",'|',")})`).split('|');

interface AdmxPolicy {
  readonly name: string;
  readonly key: string;
  readonly valueName: string;
  readonly presentation: string;
  readonly klass: string;
  readonly enabledValue: string;
  readonly disabledValue: string;
  /** Its one element (the generator writes at most one; checked), or null. */
  readonly element: {
    readonly tag: string;
    readonly id: string;
    readonly valueName: string;
    readonly key: string;
    readonly minValue: string;
    readonly maxValue: string;
    readonly hasValuePrefix: boolean;
    readonly valuePrefix: string;
    readonly enumValues: readonly string[];
  } | null;
}

/** The ADMX's policies, read back with xmllint. */
function readAdmxPolicies(): AdmxPolicy[] {
  assert.equal(xpathString(ADMX_FILE, `count(//${el('policy')}[count(${el('elements')}/*) > 1])`), '0', 'a policy with more than one element');
  const names = attributeValues(ADMX_FILE, `//${el('policy')}/@name`);
  return names.map((name) => {
    const policy = `//${el('policy')}[@name='${name}']`;
    const e = `${el('elements')}/*[1]`;
    const [key, valueName, presentation, klass, enabledValue, disabledValue, count, tag, id, elementValueName, elementKey, minValue, maxValue, hasValuePrefix, valuePrefix, items] = fields(ADMX_FILE, [
      `${policy}/@key`,
      `${policy}/@valueName`,
      `${policy}/@presentation`,
      `${policy}/@class`,
      `${policy}/${el('enabledValue')}/${el('decimal')}/@value`,
      `${policy}/${el('disabledValue')}/${el('decimal')}/@value`,
      `count(${policy}/${el('elements')}/*)`,
      `local-name(${policy}/${e})`,
      `${policy}/${e}/@id`,
      `${policy}/${e}/@valueName`,
      `${policy}/${e}/@key`,
      `${policy}/${e}/@minValue`,
      `${policy}/${e}/@maxValue`,
      `count(${policy}/${e}/@valuePrefix)`,
      `${policy}/${e}/@valuePrefix`,
      `count(${policy}/${e}/${el('item')})`,
    ]);
    const enumValues = Array.from({ length: Number(items) }, (_, i) => xpathString(ADMX_FILE, `${policy}/${e}/${el('item')}[${i + 1}]/${el('value')}/${el('string')}`));
    return {
      name,
      key: key!,
      valueName: valueName!,
      presentation: presentation!,
      klass: klass!,
      enabledValue: enabledValue!,
      disabledValue: disabledValue!,
      element: count === '0' ? null : { tag: tag!, id: id!, valueName: elementValueName!, key: elementKey!, minValue: minValue!, maxValue: maxValue!, hasValuePrefix: hasValuePrefix === '1', valuePrefix: valuePrefix!, enumValues },
    };
  });
}

/** Each ADML presentation's controls, as `tag refId` (the generator writes one per presentation; checked). */
function readAdmlPresentations(): Map<string, string> {
  assert.equal(xpathString(ADML_FILE, `count(//${el('presentation')}[count(*) != 1])`), '0', 'a presentation without exactly one control');
  const ids = attributeValues(ADML_FILE, `//${el('presentation')}/@id`);
  assert.equal(new Set(ids).size, ids.length, 'a presentation is defined twice');
  return new Map(ids.map((id) => [id, xpathString(ADML_FILE, `concat(local-name(//${el('presentation')}[@id='${id}']/*), ' ', //${el('presentation')}[@id='${id}']/*/@refId)`)]));
}

/** The dotted paths of a document's leaves, where settings (not sections) are the leaves. */
function settingPathsIn(doc: Record<string, unknown>, prefix: readonly string[] = []): string[] {
  const keys = new Set(settings.map((s) => s.key));
  return Object.entries(doc).flatMap(([k, v]) => {
    const path = [...prefix, k];
    if (keys.has(path.join('.'))) return [path.join('.')];
    assert.ok(v !== null && typeof v === 'object' && !Array.isArray(v), `${path.join('.')} is neither a setting nor a section`);
    return settingPathsIn(v as Record<string, unknown>, path);
  });
}

function schemaAt(schema: JsonSchema, path: readonly string[]): JsonSchema | undefined {
  let node: JsonSchema | undefined = schema;
  for (const p of path) node = node?.properties?.[p];
  return node;
}

/**
 * Resolves a template's placeholders as IT would: each takes `fill(setting)` or is removed,
 * and a section left without a setting it requires (an unused upstream) is removed whole.
 */
function resolvePlaceholders(doc: Record<string, unknown>, fill: (s: PolicySetting) => unknown): Record<string, unknown> {
  const out = structuredClone(doc);
  for (const s of settings) {
    const parent = valueAt(out, s.path.slice(0, -1)) as Record<string, unknown> | undefined;
    const leaf = s.path[s.path.length - 1]!;
    if (!parent || !isPlaceholder(parent[leaf])) continue;
    const value = fill(s);
    if (value === undefined) delete parent[leaf];
    else parent[leaf] = value;
  }
  for (const section of [...policySections(settings, root)].reverse()) {
    const node = valueAt(out, section.path) as Record<string, unknown> | undefined;
    const required = schemaAt(root, section.path)?.required ?? [];
    if (node && required.some((k) => !(k in node))) delete (valueAt(out, section.path.slice(0, -1)) as Record<string, unknown>)[section.path[section.path.length - 1]!];
  }
  return out;
}

const example = JSON.parse(read('policy.example.json')) as Record<string, unknown>;

/** Both ways IT may resolve the placeholders must give valid policy. */
function assertValidOnceResolved(doc: Record<string, unknown>, what: string): void {
  for (const [how, fill] of [
    ['removing every placeholder', () => undefined],
    ['filling them from policy.example.json', (s: PolicySetting) => valueAt(example, s.path)],
  ] as const) {
    const resolved = resolvePlaceholders(doc, fill);
    const parsed = agentPolicySchema.safeParse(resolved);
    assert.ok(parsed.success, `${what}, after ${how}: ${parsed.success ? '' : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
}

test('every setting and every section has a description for IT', () => {
  assert.deepEqual(
    settings.filter((s) => s.description.trim() === '').map((s) => s.key),
    [],
    'give these settings .meta({ title, description }) in their zod schema',
  );
  assert.deepEqual(
    policySections(settings, root)
      .filter((s) => s.description.trim() === '')
      .map((s) => s.path.join('.')),
    [],
    'give these sections .meta({ title, description }) in their zod schema',
  );
});

test('the checked-in templates are what the policy schema generates now', async () => {
  for (const { path, text } of await policyTemplateFiles()) {
    let onDisk: string | null = null;
    try {
      onDisk = read(path);
    } catch {
      // reported below
    }
    assert.ok(onDisk === text, `build/policy/${path} does not match the policy schema: run \`npm run policy-templates\` and check in the result`);
  }
});

test('xmllint finds the ADMX, the ADML and the .mobileconfig well-formed', () => {
  const r = spawnSync('xmllint', ['--noout', '--nonet', pathOf(ADMX_FILE), pathOf(ADML_FILE), pathOf(MOBILECONFIG_FILE)], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
});

test('every string, presentation, category and supportedOn the ADMX references is defined, and the ADML holds nothing unused', () => {
  const stringRefs = new Set(attributeValues(ADMX_FILE, "//@*[starts-with(., '$(string.')]").map((v) => /^\$\(string\.(\w+)\)$/.exec(v)?.[1] ?? `malformed ${v}`));
  const strings = attributeValues(ADML_FILE, "//*[local-name()='string']/@id");
  assert.equal(new Set(strings).size, strings.length, 'an ADML string id is defined twice');
  assert.deepEqual([...stringRefs].filter((r) => !strings.includes(r)), [], 'referenced by the ADMX, missing from the ADML');
  assert.deepEqual(strings.filter((s) => !stringRefs.has(s)), [], 'in the ADML, used by nothing in the ADMX');

  const presentationRefs = attributeValues(ADMX_FILE, '//@presentation').map((v) => /^\$\(presentation\.(\w+)\)$/.exec(v)?.[1] ?? `malformed ${v}`);
  const presentations = attributeValues(ADML_FILE, "//*[local-name()='presentation']/@id");
  assert.deepEqual([...presentationRefs].sort(), [...presentations].sort(), 'ADMX presentation references and ADML presentations differ');

  const categories = attributeValues(ADMX_FILE, "//*[local-name()='category']/@name");
  assert.deepEqual(attributeValues(ADMX_FILE, "//*[local-name()='parentCategory']/@ref").filter((r) => !categories.includes(r)), [], 'unknown parent category');
  const supported = attributeValues(ADMX_FILE, "//*[local-name()='definition']/@name");
  const supportedRefs = attributeValues(ADMX_FILE, "//*[local-name()='policy']/*[local-name()='supportedOn']/@ref");
  assert.equal(supportedRefs.length, settings.length);
  assert.deepEqual(supportedRefs.filter((r) => !supported.includes(r)), [], 'unknown supportedOn definition');
});

test("each policy's element has its matching ADML control", () => {
  const presentations = readAdmlPresentations();
  const controlFor: Record<string, string> = { decimal: 'decimalTextBox', longDecimal: 'longDecimalTextBox', text: 'textBox', enum: 'dropdownList', list: 'listBox', boolean: 'checkBox', multiText: 'multiTextBox' };
  for (const policy of readAdmxPolicies()) {
    if (policy.presentation === '') {
      assert.equal(policy.element, null, `${policy.name} has an element but no presentation`);
      continue;
    }
    const control = presentations.get(/^\$\(presentation\.(\w+)\)$/.exec(policy.presentation)?.[1] ?? '');
    assert.ok(control, `${policy.name}: its presentation is missing from the ADML`);
    assert.ok(policy.element, `${policy.name}: a presentation but no element`);
    assert.equal(control, `${controlFor[policy.element.tag] ?? `(no control for ${policy.element.tag})`} ${policy.element.id}`, `${policy.name}: its ADML control does not match its element`);
  }
});

test("every setting is in the ADMX exactly once, written where the agent's registry reader looks", () => {
  const policies = readAdmxPolicies();
  assert.equal(policies.length, settings.length, 'one policy per setting');
  // Every registry value (or list key) the ADMX writes, with the policy that writes it.
  const targets = policies.flatMap((p) => [
    ...(p.valueName === '' ? [] : [{ at: `${p.key}|${p.valueName}`, policy: p }]),
    ...(p.element === null ? [] : [{ at: p.element.tag === 'list' ? `${p.element.key}|(list)` : `${p.element.key || p.key}|${p.element.valueName}`, policy: p }]),
  ]);
  assert.equal(targets.length, settings.length, 'the ADMX writes a registry value that is no setting');
  for (const s of settings) {
    const loc = registryLocation(s);
    const key = `${GPO_KEY}${loc.subkey === '' ? '' : `\\${loc.subkey}`}`;
    const found = targets.filter((t) => t.at === (loc.list ? `${key}\\${loc.value}|(list)` : `${key}|${loc.value}`));
    assert.equal(found.length, 1, `${s.key}: written ${found.length} times at HKLM\\${key} ${loc.value}`);
    const { policy } = found[0]!;
    const element = policy.element;
    assert.equal(policy.klass, 'Machine', `${s.key}: a machine policy`);
    const sch = s.schema;
    switch (s.kind) {
      case 'boolean':
        assert.deepEqual([element, policy.enabledValue, policy.disabledValue], [null, '1', '0'], `${s.key}: REG_DWORD 1 when Enabled, 0 when Disabled`);
        break;
      case 'integer':
        assert.equal(element?.tag, loc.type === 'REG_QWORD' ? 'longDecimal' : 'decimal', `${s.key}: ${loc.type}`);
        if (sch.minimum !== undefined) assert.equal(element?.minValue, String(sch.minimum), `${s.key}: minValue`);
        if (sch.maximum !== undefined) assert.equal(element?.maxValue, String(sch.maximum), `${s.key}: maxValue`);
        break;
      case 'enum':
        assert.equal(element?.tag, 'enum', s.key);
        assert.deepEqual(element?.enumValues, s.choices, `${s.key}: its choices, as REG_SZ`);
        break;
      case 'list':
        assert.equal(element?.tag, 'list', s.key);
        assert.ok(element?.hasValuePrefix && element.valuePrefix === '', `${s.key}: valuePrefix="" so the values are named 1, 2, …`);
        break;
      case 'number':
      case 'string':
      case 'json':
        assert.equal(element?.tag, 'text', `${s.key}: REG_SZ text`);
        break;
    }
  }
});

test('the .mobileconfig is a System profile for the preference domain, with every setting once, valid once its placeholders are resolved', async () => {
  const { parse } = await import('plist');
  const profile = parse(read(MOBILECONFIG_FILE)) as Record<string, unknown>;
  assert.equal(profile.PayloadType, 'Configuration');
  assert.equal(profile.PayloadScope, 'System');
  assert.match(String(profile.PayloadUUID), /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/);
  const contents = profile.PayloadContent as Array<Record<string, unknown>>;
  assert.equal(contents.length, 1);
  const payload = contents[0]!;
  assert.equal(payload.PayloadType, MAC_PREFERENCE_DOMAIN);
  assert.notEqual(payload.PayloadUUID, profile.PayloadUUID);
  // What the managed-preferences reader makes of it: the payload minus the profile's bookkeeping.
  const doc = Object.fromEntries(Object.entries(payload).filter(([k]) => !k.startsWith('Payload')));
  assert.deepEqual(settingPathsIn(doc).sort(), settings.map((s) => s.key).sort());
  for (const s of settings) {
    const v = valueAt(doc, s.path);
    assert.ok(s.default !== undefined ? JSON.stringify(v) === JSON.stringify(s.default) : isPlaceholder(v), `${s.key}: its default, or a placeholder`);
  }
  assertValidOnceResolved(doc, 'the .mobileconfig payload');
});

test('the annotated reference explains every setting once, above its default or placeholder, and is valid once resolved', () => {
  const text = read(REFERENCE_FILE);
  // Comments are whole lines in this file; what remains is the document.
  const doc = JSON.parse(text.split('\n').filter((l) => !l.trim().startsWith('//')).join('\n')) as Record<string, unknown>;
  assert.deepEqual(settingPathsIn(doc).sort(), settings.map((s) => s.key).sort());
  // The comment block right above each setting.
  const comments = new Map<string, string>();
  const stack: string[] = [];
  let pending: string[] = [];
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (line.startsWith('//')) {
      pending.push(line.replace(/^\/\/ ?/, ''));
      continue;
    }
    const m = /^"([^"]+)": (.*)$/.exec(line);
    if (m && m[2] === '{') stack.push(m[1]!);
    else if (m) comments.set([...stack, m[1]].join('.'), pending.join(' '));
    else if (/^}/.test(line)) stack.pop();
    if (line !== '') pending = [];
  }
  for (const s of settings) {
    const comment = comments.get(s.key) ?? '';
    assert.ok(comment.includes(s.description), `${s.key}: its description is above it`);
    assert.ok(comment.includes(`Value: ${valueRule(s)}.`), `${s.key}: its allowed values are above it`);
  }
  assertValidOnceResolved(doc, 'the reference');
});

test('the JSON Schema checks a policy file as the agent does: the example passes, a misspelt or out-of-range setting fails', () => {
  const schema = JSON.parse(read(SCHEMA_FILE)) as JsonSchema;
  // ajv (draft 2020-12), strict, as an editor or CI would run it.
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictTuples: false, formats: { uri: (s: string) => URL.canParse(s) } });
  const validate = ajv.compile(schema);
  assert.ok(validate(example), JSON.stringify(validate.errors));
  assert.equal(validate({ session: { lockAfterSecs: 300 } }), false);
  assert.equal(validate({ auth: { pin: { maxFailures: 99 } } }), false);
  assert.equal(validate({ session: { profile: 'night-shift' } }), false);
  for (const s of settings) assert.equal(schemaAt(schema, s.path)?.description, s.description, `${s.key}: described in the JSON Schema`);
});

test('a setting added to the schema appears in every template', async () => {
  const banner: PolicySetting = {
    key: 'kiosk.bannerText',
    path: ['kiosk', 'bannerText'],
    kind: 'string',
    choices: [],
    itemKind: null,
    schema: { type: 'string', maxLength: 80, description: 'The line shown above the badge prompt.', default: 'Tap your badge' },
    description: 'The line shown above the badge prompt.',
    default: 'Tap your badge',
  };
  const more = [...settings, banner];
  const admx = admxText(more, root);
  assert.match(admx, /<policy name="kiosk_bannerText"[^>]* key="SOFTWARE\\Policies\\ClinicalWorkstation\\Agent\\kiosk">/);
  assert.match(admx, /<text id="bannerText" valueName="bannerText" required="true" maxLength="80" \/>/);
  assert.match(admx, /<category name="ClinicalWorkstationAgent_kiosk" displayName="\$\(string\.ClinicalWorkstationAgent_kiosk\)">/);
  const adml = admlText(more, root);
  assert.match(adml, /<string id="ClinicalWorkstationAgent_kiosk">Kiosk<\/string>/);
  assert.match(adml, /<string id="kiosk_bannerText_Explain">The line shown above the badge prompt\./);
  assert.match(adml, /<textBox refId="bannerText"><label>Banner text<\/label><defaultValue>Tap your badge<\/defaultValue><\/textBox>/);
  assert.match(await mobileconfigText(more, root), /<key>kiosk<\/key>\s*<dict>\s*<key>bannerText<\/key>\s*<string>Tap your badge<\/string>/);
  assert.match(policyReferenceText(more, root), /\/\/ Banner text\. The line shown above the badge prompt\.\n\s*\/\/ Value: text, at most 80 characters\. Default: Tap your badge\.\n\s*"bannerText": "Tap your badge"/);
});
