// The policy template shipped to IT (build/policy/policy.example.json) is valid policy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parsePolicyText } from '../../../main/policy/schema';

test('the shipped policy example parses, and every section it sets survives', () => {
  const text = readFileSync(resolve(__dirname, '../../../../build/policy/policy.example.json'), 'utf8');
  const r = parsePolicyText(text);
  assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  assert.equal(r.policy.session.lockAfterSeconds, 300);
  assert.equal(r.policy.forwarding.https?.url, 'https://audit-collector.hospital.example:8443');
  assert.equal(r.policy.syslog?.port, 6514);
  assert.equal(r.policy.auth.helpDesk, 'Call the IT service desk on extension 4357.');
  assert.equal(r.policy.auth.badge.maxKeyGapMs, 60);
});
