// The flat list of policy settings derived from the schema: every leaf the schema accepts is
// a setting, a document built from every setting's default parses, and reading a document's
// settings back gives what was set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentPolicySchema } from '../../../main/policy/schema';
import { policySettings, setValueAt, settingByKey, settingsIn, valueAt } from '../../../main/policy/settings';

test('every leaf of the schema is a setting with a kind, and dotted keys are unique', () => {
  const settings = policySettings();
  assert.ok(settings.length >= 50, `${settings.length} settings`);
  assert.equal(new Set(settings.map((s) => s.key)).size, settings.length);
  assert.equal(settingByKey('session.lockAfterSeconds')?.kind, 'number');
  assert.deepEqual(settingByKey('session.profile')?.choices, ['shared-clinical', 'emergency-department', 'back-office']);
  assert.equal(settingByKey('session.logoffAction')?.kind, 'json');
  assert.equal(settingByKey('auth.badge.terminators')?.kind, 'list');
  assert.equal(settingByKey('auth.badge.terminators')?.itemKind, 'string');
  assert.equal(settingByKey('session'), undefined, 'sections are not settings');
});

test('a document of every stated default parses, and settingsIn reads back what was set', () => {
  const doc: Record<string, unknown> = {};
  // (not inside the optional upstream sections, which need their address and credentials)
  for (const s of policySettings()) if (s.default !== undefined && !/^(syslog|fhir|forwarding\.https)\./.test(s.key)) setValueAt(doc, s.path, s.default);
  assert.ok(agentPolicySchema.safeParse(doc).success);
  const found = settingsIn(doc);
  for (const [key, value] of found) assert.deepEqual(valueAt(doc, settingByKey(key)!.path), value);
  assert.equal(found.get('forwarding.batch.maxEvents'), 500);
  assert.equal(valueAt({ a: 1 }, ['a', 'b']), undefined);
});
