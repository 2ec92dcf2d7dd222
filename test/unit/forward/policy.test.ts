import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forwardPolicySchema } from '../../../main/forward/policy';

const https = { url: 'https://collector.example:8443/', caFile: '/etc/cwa/upstream-ca.pem', clientCertFile: '/etc/cwa/client.pem', clientKey: { source: 'keychain', account: 'upstream-client-key' } };

test('every field but the upstream has a default', () => {
  const p = forwardPolicySchema.parse({});
  assert.equal(p.https, undefined);
  assert.deepEqual(p.batch, { maxEvents: 500, maxBytes: 1024 * 1024, lingerMs: 250 });
  assert.deepEqual(p.backoff, { initialMs: 1000, maxMs: 300_000 });
  assert.deepEqual(p.buffer.alarmPercents, [80, 95]);
  assert.equal(p.retention.days, 7);
});

test('the HTTPS upstream: trailing slash dropped, request timeout defaulted', () => {
  const p = forwardPolicySchema.parse({ https });
  assert.equal(p.https?.url, 'https://collector.example:8443');
  assert.equal(p.https?.requestTimeoutMs, 30_000);
});

test('refuses a clear-text upstream, a backoff cap below its start and unknown fields, naming the field', () => {
  const clear = forwardPolicySchema.safeParse({ https: { ...https, url: 'http://collector.example' } });
  assert.equal(clear.success, false);
  assert.deepEqual(clear.error?.issues[0]?.path, ['https', 'url']);
  const backoff = forwardPolicySchema.safeParse({ backoff: { initialMs: 5000, maxMs: 1000 } });
  assert.deepEqual(backoff.error?.issues[0]?.path, ['backoff', 'maxMs']);
  assert.equal(forwardPolicySchema.safeParse({ batch: { maxEvent: 10 } }).success, false);
});

test('alarm thresholds are sorted and deduplicated', () => {
  assert.deepEqual(forwardPolicySchema.parse({ buffer: { alarmPercents: [95, 80, 95] } }).buffer.alarmPercents, [80, 95]);
});
