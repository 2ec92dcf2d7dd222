// The status window for the help desk: problems first, then each area of the agent, and a
// button that puts the same facts on the clipboard for the ticket. Refreshes every two
// seconds; talks only to window.agent.
import type { PolicyView, StatusView } from '../../preload/contract';
import { agentApi } from '../shared/agent';
import { h } from '../shared/dom';

const api = agentApi();
const root = document.getElementById('app')!;
let notice = '';
let lastKey = '';

function render(view: StatusView | null, error: string | null): void {
  const key = JSON.stringify({ view: view && { ...view, generatedAt: '' }, error, notice });
  if (key === lastKey) return;
  lastKey = key;
  const parts: Node[] = [h('h1', { id: 'heading', tabindex: '-1' }, 'Agent status')];
  if (error) {
    root.dataset.screen = 'status-unreachable';
    parts.push(h('p', { class: 'alert', role: 'alert' }, 'The agent is not answering. Read its status with “agentctl status” in a terminal, or restart the workstation.'));
  } else if (view) {
    root.dataset.screen = view.problems.length > 0 ? 'status-problems' : 'status';
    if (view.problems.length > 0) {
      parts.push(h('h2', { id: 'problems' }, view.problems.length === 1 ? '1 problem' : `${view.problems.length} problems`));
      parts.push(h('ul', { class: 'problems', 'aria-labelledby': 'problems' }, ...view.problems.map((p) => h('li', {}, p))));
    } else {
      parts.push(h('p', { class: 'all-well' }, 'No problems: the agent is locking, recording and sending as it should.'));
    }
    for (const section of view.sections) {
      const id = `s-${section.title.toLowerCase().replace(/[^a-z]+/g, '-')}`;
      const table = h('table', { 'aria-labelledby': id }, h('tbody', {}, ...section.rows.map(([label, value]) => h('tr', {}, h('th', { scope: 'row' }, label), h('td', {}, value)))));
      parts.push(h('section', { class: 'status-section' }, h('h2', { id }, section.title), table));
    }
    parts.push(policySection(view.policy));
    parts.push(h('p', { class: 'hint' }, `Updated ${view.generatedAt.slice(11, 19)} UTC, every 2 seconds.`));
  }
  const copy = h('button', { type: 'button', class: 'primary', 'data-action': 'copy' }, 'Copy for the help desk');
  copy.addEventListener('click', () => void copyStatus());
  parts.push(h('div', { class: 'actions' }, copy), h('p', { class: 'line', role: 'status', id: 'notice' }, notice));
  const focused = document.activeElement?.getAttribute('data-action');
  root.replaceChildren(...parts);
  if (focused) root.querySelector<HTMLElement>(`[data-action="${focused}"]`)?.focus();
}

/** Settings a policy source sets and every rejection, problems first; columns, so a screen reader names each cell. */
function policySection(policy: PolicyView): HTMLElement {
  const heading = h('h2', { id: 's-policy' }, 'Policy');
  const summary = h('p', {}, policy.summary);
  if (policy.rows.length === 0) return h('section', { class: 'status-section', 'aria-labelledby': 's-policy' }, heading, summary);
  const head = h('thead', {}, h('tr', {}, ...['Setting', 'Value', 'Source', 'Notes'].map((c) => h('th', { scope: 'col' }, c))));
  const body = h(
    'tbody',
    {},
    ...policy.rows.map((r) =>
      h('tr', { class: r.problem ? 'policy-problem' : null }, h('th', { scope: 'row' }, ...r.setting.split('.').flatMap((part, i) => (i === 0 ? [part] : [h('wbr'), `.${part}`]))), h('td', {}, r.value), h('td', {}, r.source), h('td', {}, r.note)),
    ),
  );
  return h('section', { class: 'status-section policy', 'aria-labelledby': 's-policy' }, heading, summary, h('table', { 'aria-labelledby': 's-policy' }, head, body));
}

async function copyStatus(): Promise<void> {
  try {
    const r = await api.request('status:copy', {});
    notice = r.copied ? 'Copied. Paste it into the help-desk ticket.' : 'This window cannot reach the clipboard here; use “agentctl status” instead.';
  } catch {
    notice = 'The agent is not answering.';
  }
  await refresh();
}

async function refresh(): Promise<void> {
  try {
    render(await api.request('status:get', {}), null);
  } catch (err) {
    render(null, err instanceof Error ? err.message : String(err));
  }
}

void refresh();
setInterval(() => void refresh(), 2000);
