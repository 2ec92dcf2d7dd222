// How a setting's overridden values show to IT: one that would be rejected if it applied
// (the source above it removed) is named with why and what to change, in `agentctl policy
// show` and the status window, and its setting is listed among the problems.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mergePolicy, type SourceDocument } from '../../../main/policy/effective-policy';
import { hasProblem, settingNotes, settingsInOrder } from '../../../main/policy/policy-status';
import { policyView } from '../../../main/status/status-view';
import { statusFixture } from '../../support/status-fixture';

const doc = (source: SourceDocument['source'], document: unknown): SourceDocument => ({ source, where: `${source} (test)`, document });

const merged = mergePolicy([
  doc('group-policy', { forwarding: { batch: { maxEvents: 200 } }, session: { lockAfterSeconds: 120 } }),
  doc('machine-file', { forwarding: { batch: { maxEvents: 0 } }, session: { lockAfterSeconds: 600 } }),
]);
const byKey = (key: string) => merged.settings.find((s) => s.key === key)!;

describe('overridden values in the policy view', () => {
  it('names an overridden value that would be rejected, with why and the fix; a valid one stays a plain note', () => {
    const batch = byKey('forwarding.batch.maxEvents');
    assert.match(settingNotes(batch), /^overrode policy file 0 \(invalid there, would be rejected if it applied: Too small: .*; fix: use a whole number from 1/);
    assert.equal(hasProblem(batch), true);
    const lock = byKey('session.lockAfterSeconds');
    assert.equal(settingNotes(lock), 'overrode policy file 600');
    assert.equal(hasProblem(lock), false);
  });

  it('lists such a setting with the problems, first', () => {
    const keys = settingsInOrder(merged.settings, false).map((s) => s.key);
    assert.equal(keys[0], 'forwarding.batch.maxEvents');
    assert.ok(keys.includes('session.lockAfterSeconds'));
  });

  it('flags its row in the status window', () => {
    const view = policyView(statusFixture((s) => ({ ...s, policy: { ...s.policy, effective: merged.settings, rejections: merged.rejections } })).policy);
    const row = (setting: string) => view.rows.find((r) => r.setting === setting);
    assert.equal(row('forwarding.batch.maxEvents')?.problem, true);
    assert.match(row('forwarding.batch.maxEvents')?.note ?? '', /invalid there/);
    assert.equal(row('session.lockAfterSeconds')?.problem, false);
  });
});
