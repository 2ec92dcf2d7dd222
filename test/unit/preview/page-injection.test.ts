// How the preview turns an agent page into a preview page: the CSP gains only connect-src
// 'self' (replaced or added), and the bridge loads in <head> before the page's own module.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PAGES_CSP } from '../../../main/pages/pages-handler';
import { PageShapeError, previewPageHtml, withConnectSelf } from '../../../preview/page-injection';

const directives = (csp: string) => csp.split(';').map((d) => d.trim()).filter(Boolean).sort();

test("connect-src becomes 'self' and every other directive stays as it was", () => {
  const out = withConnectSelf(PAGES_CSP);
  assert.deepEqual(directives(out), directives(PAGES_CSP.replace("connect-src 'none'", "connect-src 'self'")));
  assert.equal(withConnectSelf("default-src 'none'; script-src 'self'"), "default-src 'none'; script-src 'self'; connect-src 'self'", 'added when the page had none');
  assert.equal(withConnectSelf("default-src 'none'; CONNECT-SRC https://x.example"), "default-src 'none'; connect-src 'self'", 'a wider connect-src is narrowed too');
});

test('the lock page gets the bridge before its module, and its meta CSP changes only in connect-src', () => {
  const html = readFileSync(resolve(__dirname, '../../../../renderer/lock/index.html'), 'utf8');
  const out = previewPageHtml(html);
  const meta = (h: string) => /http-equiv="Content-Security-Policy" content="([^"]*)"/.exec(h)?.[1] ?? '';
  assert.deepEqual(directives(meta(out)), directives(meta(html).replace("connect-src 'none'", "connect-src 'self'")));
  const bridge = out.indexOf('<script src="../preview/bridge.js"></script>');
  assert.ok(bridge > 0 && bridge < out.indexOf('</head>') && bridge < out.indexOf('type="module"'));
  assert.equal(out.replace(/\s*<link rel="stylesheet" href="..\/preview\/preview.css">\s*<script src="..\/preview\/bridge.js"><\/script>\s*<script src="..\/preview\/demo.js" defer><\/script>\s*/, '').replace(meta(out), ''), html.replace(/\s*<\/head>/, '</head>').replace(meta(html), ''), 'nothing else changed');
  assert.throws(() => previewPageHtml('<html><body></body></html>'), PageShapeError);
});
