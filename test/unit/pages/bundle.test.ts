// The built pages (npm run build): one ES module per page with @simplewebauthn/browser
// inside, no Node or Electron in the bundle, no inline script, the strict CSP in the HTML.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

const PAGES = resolve(__dirname, '../../../pages');

describe('page bundles', () => {
  const pages = readdirSync(PAGES).filter((p) => p !== 'shared');

  it('builds the lock, enrol and status pages', () => {
    assert.deepEqual(pages.sort(), ['enroll', 'lock', 'status']);
  });

  for (const page of ['lock', 'enroll', 'status']) {
    it(`${page}: a self-contained browser bundle with no Node, no Electron and no eval`, () => {
      const js = readFileSync(join(PAGES, page, 'main.js'), 'utf8');
      assert.doesNotMatch(js, /\brequire\(/);
      assert.doesNotMatch(js, /from\s*["'](node:|electron)/);
      assert.doesNotMatch(js, /\bimport\s*\(/, 'no dynamic import');
      assert.doesNotMatch(js, /\beval\(|new Function\(/);
      if (page !== 'status') assert.match(js, /WebAuthnAbortService/, '@simplewebauthn/browser is bundled in');
      assert.doesNotMatch(js, /sourceMappingURL/);
    });

    it(`${page}: the HTML loads its module from 'self' only, with no inline script or style`, () => {
      const html = readFileSync(join(PAGES, page, 'index.html'), 'utf8');
      assert.match(html, /<script type="module" src="main\.js"><\/script>/);
      assert.equal((html.match(/<script/g) ?? []).length, 1);
      assert.doesNotMatch(html, /\sstyle=|\son[a-z]+=/i);
      assert.match(html, /Content-Security-Policy" content="default-src 'none'; script-src 'self'; style-src 'self';/);
    });
  }
});
