// The preview's demo panel ("Preview — demo badges"): a browser has no badge reader, so these
// buttons tap a demo person's card (the server feeds the burst to the agent as the page's reader
// classifier would), tap a blank card, skip ahead to the idle warning, or lock now. On the index
// page it fills #demo; on the agent's pages it is an <aside> after the page's <main>.
(() => {
  'use strict';
  const root = `/${location.pathname.split('/')[1]}/`;
  const here = location.pathname.slice(root.length).split('/')[0];
  const onIndex = here === '';
  // On the enrol page a tap goes to the enrolment; everywhere else to the lock screen.
  const target = here === 'enroll' ? 'enroll' : 'lock';

  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    for (const c of children) node.append(c);
    return node;
  }

  async function post(action, body) {
    const response = await fetch(`${root}demo/${action}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
    });
    let reply = null;
    try {
      reply = await response.json();
    } catch {
      reply = null;
    }
    if (!response.ok || !reply || !reply.ok) throw new Error((reply && reply.error) || `the preview did not answer (HTTP ${response.status})`);
    return reply;
  }

  let container;
  if (onIndex) {
    container = document.getElementById('demo');
  } else {
    container = h('aside', { class: 'preview-panel', 'aria-labelledby': 'preview-panel-title' });
    document.body.append(container);
    document.body.classList.add('with-preview-panel');
  }
  const say = h('p', { class: 'preview-say', role: 'status' });

  function button(label, onClick, extra = {}) {
    const b = h('button', { type: 'button', class: 'preview-button', ...extra }, label);
    b.addEventListener('click', () => void onClick());
    return b;
  }

  const SCREENS = {
    pin: 'it asks for the PIN',
    unlocked: 'signed in',
    'tap-over': 'it asks to confirm the switch',
    fido2: 'it asks for the security key',
    notice: 'it shows a notice',
    'locked-out': 'the account is locked out',
    'subject-pin': 'it asks for the new PIN',
    'enroller-factor': 'it asks for the enroller’s PIN',
  };

  async function tap(badge, who) {
    try {
      const r = await post('tap', { page: target, badge });
      const where = target === 'enroll' ? 'enrolment' : 'lock screen';
      const what = SCREENS[r.screen] ? `: ${SCREENS[r.screen]}` : '';
      say.textContent = `Tapped ${who} (${r.badge}) at the ${where}${what}.`;
      await refresh();
    } catch (err) {
      say.textContent = `The tap did not work: ${err.message}`;
    }
  }

  async function idle() {
    try {
      const r = await post('idle', {});
      say.textContent = !r.skipped
        ? 'Nobody is signed in: sign in first, then simulate idle.'
        : r.phase === 'warning'
          ? 'Skipped ahead: the idle warning shows on the lock screen; it locks when the countdown ends (or simulate idle again).'
          : 'Skipped ahead to the idle lock.';
    } catch (err) {
      say.textContent = `That did not work: ${err.message}`;
    }
  }

  async function lockNow() {
    try {
      const r = await post('lock', {});
      say.textContent = r.phase === 'locked' ? 'Locked, as the tray’s “Lock now” does.' : 'Already locked.';
    } catch (err) {
      say.textContent = `That did not work: ${err.message}`;
    }
  }

  function render(state) {
    const title = h('h2', { id: 'preview-panel-title', class: 'preview-title' }, 'Preview — demo badges');
    const people = h('ul', { class: 'preview-people' });
    for (const u of state.users) {
      people.append(
        h(
          'li',
          {},
          button(`Tap ${u.displayName}`, () => tap(u.badge, `${u.displayName}’s badge`), { 'data-demo-badge': u.id }),
          h('span', { class: 'preview-detail' }, `${u.role} · badge ${u.badge} · PIN `, h('strong', {}, u.pin)),
        ),
      );
    }
    const others = h('ul', { class: 'preview-people preview-others' });
    for (const badge of state.otherBadges) others.append(h('li', {}, button(`Tap card ${badge}`, () => tap(badge, 'a card'), { 'data-demo-card': badge })));
    const controls = h(
      'div',
      { class: 'preview-controls' },
      button('Tap a new blank card', () => tap('new', 'a blank card'), { 'data-demo-action': 'new-card' }),
      button(`Simulate idle (${Math.round(state.warnAfterSeconds / 60)} min)`, idle, { 'data-demo-action': 'idle' }),
      button('Lock now', lockNow, { 'data-demo-action': 'lock' }),
    );
    const parts = [title, people];
    if (state.otherBadges.length > 0) parts.push(h('p', { class: 'preview-detail' }, 'Cards tapped so far (enrol one at the enrol page):'), others);
    parts.push(controls, say);
    if (!onIndex) {
      parts.push(
        h(
          'nav',
          { class: 'preview-nav', 'aria-label': 'Preview pages' },
          h('a', { href: root }, 'Preview home'),
          h('a', { href: `${root}lock/` }, 'Lock screen'),
          h('a', { href: `${root}status/` }, 'Status'),
          h('a', { href: `${root}enroll/` }, 'Enrol'),
        ),
      );
    }
    // Keep a focused demo button focused across the re-render.
    const focused = document.activeElement && container.contains(document.activeElement) ? document.activeElement.textContent : null;
    container.replaceChildren(...parts);
    if (focused) [...container.querySelectorAll('button')].find((b) => b.textContent === focused)?.focus();
  }

  async function refresh() {
    try {
      const response = await fetch(`${root}demo/state`, { cache: 'no-store', credentials: 'omit' });
      render(await response.json());
    } catch {
      say.textContent = 'The preview is not answering. Is it still running in the terminal?';
    }
  }

  if (container) void refresh();
})();
