// Every screen of the lock and enrol pages, reached through the real flows, checked with
// axe-core for WCAG 2.1 AA: zero violations. The same walk writes `npm run screenshots`.
// Afterwards the audit trail and the agent's log hold no card number and no PIN.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseEventBody } from '../../main/audit/event';
import { chromiumMissing } from '../support/browser-harness';
import { DANA, KIM, LEE, RAY, SAM, secretsInTrail, UNKNOWN_BADGE } from '../support/lock-driver';
import { walkAllScreens } from '../support/state-walk';

const skip = chromiumMissing();
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly nodes: readonly { readonly target: readonly string[] }[];
}

test('every lock and enrol screen: WCAG 2.1 AA by axe-core, zero violations; no secret in the trail', { skip: skip ?? false }, async () => {
  const violations: string[] = [];
  const screens = await walkAllScreens(
    async (screen, page) => {
      // Evaluated through the DevTools protocol, so the page's strict CSP stays on.
      await page.evaluate(AXE);
      const result = (await page.evaluate(`axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }, resultTypes: ['violations'] })`)) as { violations: AxeViolation[] };
      for (const v of result.violations) violations.push(`${screen}: ${v.id} (${v.impact}) ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
    },
    {
      beforeStop: async (h) => {
        const trail = h.agent.store.readAfter(0, 100_000).map((e) => parseEventBody(e.body));
        const secrets = [DANA, SAM, RAY, LEE, KIM].flatMap((u) => [u.badge, u.pin]).concat(UNKNOWN_BADGE, '1357', '1593');
        assert.deepEqual(secretsInTrail(trail, secrets), [], 'no card number or PIN in the audit trail');
      },
    },
  );
  assert.ok(screens.length >= 40, `walked ${screens.length} screens`);
  assert.deepEqual(violations, []);
});
