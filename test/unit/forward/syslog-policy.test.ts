// The syslog policy schema and the rule that a syslog-only deployment must choose retention.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { syslogPolicySchema, syslogRetentionIssue, unacknowledgedRetention } from '../../../main/forward/syslog-policy';

const minimal = {
  host: 'siem.clinic.example',
  caFile: '/etc/cwa/syslog-ca.pem',
  clientCertFile: '/etc/cwa/device.pem',
  clientKey: { source: 'keychain', account: 'syslog-client-key' },
};

describe('syslog policy', () => {
  it('fills the RFC 5425 port, APP-NAME and the 32 KB cap by default', () => {
    const p = syslogPolicySchema.parse(minimal);
    assert.equal(p.port, 6514);
    assert.equal(p.appName, 'cwa');
    assert.equal(p.maxMessageBytes, 32768);
    assert.equal(p.retentionWhenOnlyTransport, undefined);
  });

  it('refuses messages above 32 KB, an APP-NAME with spaces and unknown fields, naming the field', () => {
    for (const [bad, field] of [
      [{ ...minimal, maxMessageBytes: 65536 }, 'maxMessageBytes'],
      [{ ...minimal, appName: 'clinical agent' }, 'appName'],
      [{ ...minimal, clientKey: { source: 'file' } }, 'clientKey'],
      [{ ...minimal, retentionWhenOnlyTransport: 'forever' }, 'retentionWhenOnlyTransport'],
      [{ ...minimal, colour: 'blue' }, ''],
    ] as const) {
      const r = syslogPolicySchema.safeParse(bad);
      assert.equal(r.success, false, JSON.stringify(bad));
      if (field !== '') assert.equal(r.error!.issues[0]!.path[0], field);
    }
  });

  it('requires an explicit retention rule when syslog is the only upstream, not when HTTPS acknowledges', () => {
    const p = syslogPolicySchema.parse(minimal);
    const issue = syslogRetentionIssue(p, false);
    assert.deepEqual(issue?.path, ['retentionWhenOnlyTransport']);
    assert.match(issue!.message, /never acknowledges/);
    assert.equal(syslogRetentionIssue(p, true), null);
    assert.equal(syslogRetentionIssue(syslogPolicySchema.parse({ ...minimal, retentionWhenOnlyTransport: 'keep-until-budget' }), false), null);
    assert.equal(syslogRetentionIssue(undefined, false), null);
  });

  it("maps the rule onto the forwarder's unacknowledged retention", () => {
    assert.equal(unacknowledgedRetention({ retentionWhenOnlyTransport: 'after-delivery-days' }), 'after-delivery');
    assert.equal(unacknowledgedRetention({ retentionWhenOnlyTransport: 'keep-until-budget' }), 'keep');
    assert.equal(unacknowledgedRetention({}), 'keep');
  });
});
