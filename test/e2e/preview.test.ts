// The preview (npm start without Electron) in real Chromium, used as a newcomer would: open
// the printed address, tap a demo badge from the panel, type the PIN on the lock page, see the
// session open and the status page show it. And what keeps it private: the token (404 and
// nothing else without it), the Host and Origin checks, JSON only, and a loopback-only socket.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { PAGES_CSP } from '../../main/pages/pages-handler';
import { withConnectSelf } from '../../preview/page-injection';
import { startPreview, type Preview } from '../../preview/start-preview';
import { uniqueService } from '../support/audit-fixture';
import { CHROMIUM, chromiumMissing, PAGES_DIR, waitForScreen } from '../support/browser-harness';
import { eventually } from '../support/lock-driver';

const skip = chromiumMissing();

interface RawReply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** One HTTP request to the preview's socket with exactly these headers (a browser would not let a test forge Host). */
function raw(port: number, method: string, path: string, headers: Record<string, string>, body?: string): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers: { host: `localhost:${port}`, ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Whether a TCP connection to host:port is accepted. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(2_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

describe('preview: the lock screen in a browser, with demo badges', { skip: skip ?? false }, () => {
  let preview: Preview;
  let browser: Browser;
  let context: BrowserContext;
  const cspErrors: string[] = [];

  const amara = () => preview.users.find((u) => u.id === 'amara.okoye')!;
  const json = (origin = preview.origin) => ({ origin, 'content-type': 'application/json', 'sec-fetch-site': 'same-origin' });

  async function openPage(url: string): Promise<Page> {
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
    });
    await page.goto(url);
    return page;
  }

  before(async () => {
    preview = await startPreview({
      dir: mkdtempSync(join(tmpdir(), 'cwa-preview-')),
      port: 0,
      keychainService: uniqueService('preview'),
      pagesDir: PAGES_DIR,
      removeOnClose: true,
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--disable-dev-shm-usage'],
    });
    context = await browser.newContext({ viewport: { width: 1366, height: 768 }, reducedMotion: 'reduce' });
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await preview?.close();
  });

  it('a newcomer opens the printed address, taps a demo badge from the panel, types the PIN and is signed in', async () => {
    assert.match(preview.url, new RegExp(`^http://localhost:${preview.port}/${preview.token}/$`));
    const home = await openPage(preview.url);
    await home.locator('#demo button[data-demo-badge]').first().waitFor();
    const homeText = await home.locator('main').innerText();
    for (const u of preview.users) {
      assert.ok(homeText.includes(u.displayName) && homeText.includes(u.badge) && homeText.includes(u.pin), `the index lists ${u.displayName} with badge and PIN`);
    }

    await home.getByRole('link', { name: 'Lock screen' }).click();
    await home.waitForURL(new RegExp(`/${preview.token}/lock/$`));
    await waitForScreen(home, 'locked');
    await home.locator('html[data-preview-events="open"]').waitFor({ state: 'attached' });
    const panel = home.getByRole('complementary', { name: 'Preview — demo badges' });
    assert.equal(await panel.count(), 1, 'the demo panel is labelled as the preview’s');
    assert.equal(await home.locator('main aside, main .preview-panel').count(), 0, 'and sits outside the lock page’s main landmark');

    await panel.locator(`button[data-demo-badge="${amara().id}"]`).click();
    await waitForScreen(home, 'pin');
    assert.match(await home.locator('#app').innerText(), /Amara Okoye/);
    // A person typing: slower than any reader, so the page takes the digits as a PIN.
    await home.keyboard.type(amara().pin, { delay: 150 });
    await home.keyboard.press('Enter');
    await waitForScreen(home, 'unlocked');
    assert.match(await home.locator('#app').innerText(), /Signed in: Amara Okoye/);
    assert.equal(preview.agent.status().session?.owner, amara().id);
    assert.deepEqual(cspErrors, [], 'the bridge works inside the pages’ CSP');
    await home.close();
  });

  it('the status page shows the open session and the live shared directory', async () => {
    const page = await openPage(`${preview.url}status/`);
    await page.locator('#app[data-screen^="status"]').waitFor({ state: 'attached' });
    await eventually(async () => /Signed in\s+amara\.okoye/.test(await page.locator('#app').innerText()) || undefined, 'the owner on the status page', 10_000);
    const text = await page.locator('#app').innerText();
    assert.match(text, new RegExp(`People enrolled\\s+${preview.users.length}`));
    assert.match(text, /copy of the collector's \(live/);
    await page.close();
  });

  it('"Simulate idle" brings the warning and then the idle lock; "I’m still here" keeps the session; "Lock now" locks', async () => {
    const page = await openPage(`${preview.url}lock/`);
    await waitForScreen(page, 'unlocked');
    await page.locator('html[data-preview-events="open"]').waitFor({ state: 'attached' });
    const idle = page.locator('button[data-demo-action="idle"]');
    await idle.click();
    await waitForScreen(page, 'warning');
    await page.locator('button[data-action="still-here"]').click();
    await waitForScreen(page, 'unlocked');
    await idle.click();
    await waitForScreen(page, 'warning');
    await idle.click();
    await waitForScreen(page, 'locked-owner');
    assert.equal(preview.agent.status().session?.phase, 'locked');
    // Within the grace window after her PIN, Amara's badge alone opens her session again.
    await page.locator(`button[data-demo-badge="${amara().id}"]`).click();
    await waitForScreen(page, 'unlocked');
    await page.locator('button[data-demo-action="lock"]').click();
    await waitForScreen(page, 'locked-owner');
    assert.equal(preview.agent.status().session?.phase, 'locked');
    await page.close();
  });

  it('the enroller enrols a blank card at the enrol page, and its new owner signs in with it at the lock screen', async () => {
    const carmen = preview.users.find((u) => u.roles.includes('enroller'))!;
    const page = await openPage(`${preview.url}enroll/`);
    const human = async (pin: string) => {
      await page.keyboard.type(pin, { delay: 150 });
      await page.keyboard.press('Enter');
    };
    await waitForScreen(page, 'enrol-enroller-badge');
    await page.locator('html[data-preview-events="open"]').waitFor({ state: 'attached' });
    await page.locator(`button[data-demo-badge="${carmen.id}"]`).click();
    await waitForScreen(page, 'enrol-enroller-pin');
    await human(carmen.pin);
    await waitForScreen(page, 'enrol-menu');
    await page.locator('button[data-action="choose-enrol"]').click();
    await waitForScreen(page, 'enrol-subject');
    await page.locator('#subject-id').fill('noor.haddad');
    await page.locator('#subject-name').fill('Noor Haddad');
    await page.locator('button[data-action="subject-continue"]').click();
    await waitForScreen(page, 'enrol-subject-badge');
    await page.locator('button[data-demo-action="new-card"]').click();
    await waitForScreen(page, 'enrol-subject-pin');
    const card = await page.locator('button[data-demo-card]').first().getAttribute('data-demo-card');
    assert.match(card ?? '', /^00\d{8}$/, 'the panel lists the blank card it tapped');
    await human('3071');
    await waitForScreen(page, 'enrol-subject-pin-confirm');
    await human('3071');
    await waitForScreen(page, 'enrol-subject-key');
    await page.locator('button[data-action="skip"]').click();
    await waitForScreen(page, 'enrol-review');
    await page.locator('button[data-action="save"]').click();
    await waitForScreen(page, 'enrol-done');
    await page.locator('button[data-action="exit"]').click();
    await page.waitForURL(/\/lock\/index\.html$/);
    await waitForScreen(page, 'locked-owner');
    assert.equal(preview.agent.status().auth.enrolledUsers, preview.users.length + 1, 'the enrolment went through the collector into the directory');

    await page.locator('html[data-preview-events="open"]').waitFor({ state: 'attached' });
    await page.locator(`button[data-demo-card="${card}"]`).click();
    await page.locator('#app[data-screen^="pin"]').waitFor({ state: 'attached' });
    assert.match(await page.locator('#app').innerText(), /Noor Haddad/);
    await human('3071');
    await waitForScreen(page, 'unlocked');
    assert.equal(preview.agent.status().session?.owner, 'noor.haddad');
    await page.close();
  });

  it('serves the real pages with their CSP, changed only to let the bridge connect to its own origin', async () => {
    const r = await raw(preview.port, 'GET', `/${preview.token}/lock/`, {});
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-security-policy'], withConnectSelf(PAGES_CSP));
    assert.equal(withConnectSelf(PAGES_CSP), PAGES_CSP.replace("connect-src 'none'", "connect-src 'self'"));
    const original = readFileSync(join(PAGES_DIR, 'lock', 'index.html'), 'utf8');
    const meta = (html: string) => /http-equiv="Content-Security-Policy" content="([^"]*)"/.exec(html)?.[1];
    assert.equal(meta(r.body), meta(original)?.replace("connect-src 'none'", "connect-src 'self'"));
    assert.ok(r.body.includes('<script src="../preview/bridge.js"></script>'));
  });

  it('a wrong or missing token gets 404 and nothing else', async () => {
    const t = preview.token;
    const flipped = `${t.slice(0, -1)}${t.endsWith('A') ? 'B' : 'A'}`;
    for (const path of ['/', '/lock/', '/lock/index.html', '/events', '/api/lock:hello', `/${flipped}/`, `/${flipped}/lock/`, `/${t.slice(0, -1)}/`, `/${t}x/lock/`, `/x/${t}/lock/`, `/${flipped}/preview/bridge.js`]) {
      const r = await raw(preview.port, 'GET', path, {});
      assert.equal(r.status, 404, path);
      assert.equal(r.body, '', path);
      assert.equal(r.headers['content-type'], undefined, path);
    }
    const post = await raw(preview.port, 'POST', `/${flipped}/api/lock:hello`, json(), '{}');
    assert.equal(post.status, 404);
    assert.equal(post.body, '');
    assert.equal((await raw(preview.port, 'GET', `/${t}/`, {})).status, 200, 'and the right token opens the preview');
  });

  it('refuses a POST from another origin, another site, a form or a rebound host name, and the agent never sees it', async () => {
    const t = preview.token;
    const badge = JSON.stringify({ value: amara().badge, burstMs: 100, maxGapMs: 10 });
    const seqBefore = preview.agent.lockScreen!.current().seq;
    const refused: [string, Record<string, string>, number][] = [
      ['foreign Origin', json('http://evil.example'), 403],
      ['another localhost port', json('http://localhost:1'), 403],
      ['no Origin', { 'content-type': 'application/json' }, 403],
      ['cross-site fetch metadata', { ...json(), 'sec-fetch-site': 'cross-site' }, 403],
      ['a form (text/plain)', { ...json(), 'content-type': 'text/plain' }, 415],
      ['a form (urlencoded)', { ...json(), 'content-type': 'application/x-www-form-urlencoded' }, 415],
    ];
    for (const [what, headers, status] of refused) {
      for (const path of [`/${t}/api/lock:badge`, `/${t}/demo/tap`]) {
        const r = await raw(preview.port, 'POST', path, headers, path.endsWith('tap') ? JSON.stringify({ page: 'lock', badge: amara().badge }) : badge);
        assert.equal(r.status, status, `${what} → ${path}`);
        assert.equal(r.body, '', `${what}: nothing in the reply`);
      }
    }
    const big = await raw(preview.port, 'POST', `/${t}/api/lock:badge`, json(), JSON.stringify({ value: 'x'.repeat(70 * 1024) }));
    assert.equal(big.status, 413);
    // DNS rebinding: evil.example resolving to 127.0.0.1 reaches the socket with its own Host.
    const rebound = await raw(preview.port, 'GET', `/${t}/lock/`, { host: `evil.example:${preview.port}` });
    assert.equal(rebound.status, 421);
    assert.ok(!rebound.body.includes(t));
    const reboundPost = await raw(preview.port, 'POST', `/${t}/api/lock:badge`, { ...json(), host: `evil.example:${preview.port}` }, badge);
    assert.equal(reboundPost.status, 421);
    assert.equal(preview.agent.lockScreen!.current().seq, seqBefore, 'no refused request reached the lock screen');

    const ok = await raw(preview.port, 'POST', `/${t}/api/lock:cancel`, json(), '{}');
    assert.equal(ok.status, 200, 'while the same request from the preview’s own origin is answered');
    assert.equal((JSON.parse(ok.body) as { ok: boolean }).ok, true);
  });

  it('listens on 127.0.0.1 only', async () => {
    assert.deepEqual(preview.server.address(), { address: '127.0.0.1', port: preview.port });
    assert.equal(await accepts('127.0.0.1', preview.port), true);
    const others = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a !== undefined && !a.internal)
      .map((a) => a!.address);
    for (const address of ['::1', ...others]) assert.equal(await accepts(address, preview.port), false, `not reachable on ${address}`);
  });
});
