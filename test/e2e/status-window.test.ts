// The help desk's status window in real Chromium with a real Agent: problems first in
// plain words, every area a technician asks about, and "copy for the help desk" putting
// the same facts (no secret, no card number) on the clipboard.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { BrowserHarness, chromiumMissing } from '../support/browser-harness';
import { DANA, PageDriver, seed, showsSecret } from '../support/lock-driver';

const skip = chromiumMissing();

describe('status window', { skip: skip ?? false }, () => {
  let h: BrowserHarness;
  before(async () => {
    h = await BrowserHarness.start({ label: 'status' });
    await seed(h, DANA);
  });
  after(() => h?.stop());

  it('shows every area, then a rejected policy first, and copies the status text for the ticket', async () => {
    const d = await PageDriver.on(await h.open('status'));
    await d.waitFor('status');
    const text = await d.text();
    for (const section of ['Session', 'Sign-in', 'Audit buffer', 'Upstream', 'Certificates and keychain', 'Agent']) assert.match(text, new RegExp(section));
    assert.match(text, /No problems/);
    assert.match(text, /People enrolled\s+1/);
    assert.match(text, new RegExp(h.agent.status().deviceId));

    writeFileSync(h.paths.policyFile, '{"session": {"lockAfterSeconds": "soon"}}');
    await d.waitFor('status-problems');
    const problems = await d.page.locator('.problems li').allInnerTexts();
    assert.match(problems[0] ?? '', /^Policy settings rejected \(the next source's value or the default applies instead\): session\.lockAfterSeconds: /);
    // The effective-policy table names the rejected value, its source, the fix and what is in force instead.
    const row = await d.page.locator('.policy-problem').first().innerText();
    assert.match(row, /session\s*\.lockAfterSeconds\s+soon\s+policy file\s+Rejected: .*Fix: use a number of at least 1\. In force instead: 300 \(default\)\./s);

    await d.click('copy');
    await d.waitForText(/Copied\. Paste it into the help-desk ticket\./);
    assert.equal(h.clipboard.length, 1);
    assert.match(h.clipboard[0]!, /^PROBLEM {2}policy settings rejected/);
    assert.match(h.clipboard[0]!, new RegExp(`device {3}${h.agent.status().deviceId}`));
    assert.ok(!showsSecret(h.clipboard[0]!, DANA.badge) && !showsSecret(h.clipboard[0]!, DANA.pin), h.clipboard[0]);
  });
});
