// The pages handler Electron and the harness serve through: GET only, own origin only, no
// traversal, a fixed list of types, a strict CSP on pages.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { answerPageRequest, PAGES_CSP } from '../../../main/pages/pages-handler';

const DIR = '/opt/agent/dist/pages';
const ORIGIN = 'http://localhost';
const get = (url: string, method = 'GET') => answerPageRequest(DIR, ORIGIN, method, url);

describe('pages handler', () => {
  it('serves a page with a strict CSP and no-store', () => {
    const a = get('http://localhost/lock/index.html');
    assert.equal(a.status, 200);
    assert.equal(a.status === 200 && a.file, join(DIR, 'lock/index.html'));
    assert.equal(a.headers['content-security-policy'], PAGES_CSP);
    assert.match(PAGES_CSP, /script-src 'self'/);
    assert.doesNotMatch(PAGES_CSP, /unsafe-inline|unsafe-eval/);
    assert.equal(a.headers['cache-control'], 'no-store');
    assert.equal(get('http://localhost/lock/main.js').headers['content-type'], 'text/javascript; charset=utf-8');
  });

  it('answers only GET and HEAD', () => {
    for (const m of ['POST', 'PUT', 'DELETE', 'OPTIONS']) assert.equal(get('http://localhost/lock/index.html', m).status, 405);
    assert.equal(get('http://localhost/lock/index.html', 'HEAD').status, 200);
  });

  it('refuses other origins (another port, 127.0.0.1, https)', () => {
    for (const u of ['http://localhost:8080/lock/index.html', 'http://127.0.0.1/lock/index.html', 'https://localhost/lock/index.html', 'http://evil.example/lock/index.html']) assert.equal(get(u).status, 403, u);
  });

  it('never answers with a file outside the pages folder, however the path is spelt', () => {
    for (const u of ['http://localhost/../../etc/passwd.html', 'http://localhost/lock/%2e%2e/%2e%2e/%2e%2e/etc/x.html', 'http://localhost/lock/./../../x.js']) {
      const a = get(u);
      // The URL parser resolves dot segments first; what is left must stay inside the folder.
      assert.ok(a.status !== 200 || a.file.startsWith(DIR + '/'), u);
    }
  });

  it('refuses encoded separators, NUL and unknown file types', () => {
    for (const u of [
      'http://localhost/lock/..%2f..%2fsecret.html',
      'http://localhost/lock/%5c..%5csecret.html',
      'http://localhost/lock/index.html%00.js',
      'http://localhost/lock/%E0%A4%A',
      'http://localhost/lock/data.json',
      'http://localhost/lock/',
    ]) assert.equal(get(u).status, 404, u);
    assert.equal(get('not a url').status, 404);
  });

  it('sends / to the lock page', () => {
    const a = get('http://localhost/');
    assert.equal(a.status, 301);
    assert.equal(a.headers.location, 'http://localhost/lock/index.html');
  });
});
