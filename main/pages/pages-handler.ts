// Which file answers a request for one of the agent's pages, with which headers. A plain
// function so the rules are tested under Node: the Electron protocol handler (in-process,
// no socket) and the browser harness both serve through it. GET/HEAD only, the agent's own
// origin only, no path traversal, a fixed list of file types, and a strict CSP on every page.
import { extname, resolve, sep } from 'node:path';

export const PAGES_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'none'; " +
  "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

export type PageAnswer =
  | { readonly status: 200; readonly file: string; readonly headers: Readonly<Record<string, string>> }
  | { readonly status: 301; readonly headers: Readonly<Record<string, string>> }
  | { readonly status: 403 | 404 | 405; readonly headers: Readonly<Record<string, string>> };

const COMMON = {
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'publickey-credentials-get=(self), publickey-credentials-create=(self), camera=(), microphone=(), geolocation=()',
} as const;

/**
 * @param pagesDir the built pages (dist/pages)
 * @param origin   the agent's pages origin from policy, e.g. http://localhost
 */
export function answerPageRequest(pagesDir: string, origin: string, method: string, rawUrl: string): PageAnswer {
  if (method !== 'GET' && method !== 'HEAD') return { status: 405, headers: { ...COMMON, allow: 'GET, HEAD' } };
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return { status: 404, headers: COMMON };
  }
  if (url.origin !== origin) return { status: 403, headers: COMMON };
  if (url.pathname === '/' || url.pathname === '') return { status: 301, headers: { ...COMMON, location: `${origin}/lock/index.html` } };
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    return { status: 404, headers: COMMON };
  }
  // Refuse anything that could step outside the folder before resolving it.
  if (path.includes('\0') || path.includes('\\') || path.split('/').some((seg) => seg === '..' || seg === '.')) return { status: 404, headers: COMMON };
  const root = resolve(pagesDir);
  const file = resolve(root, `.${path}`);
  const type = TYPES[extname(file).toLowerCase()];
  if (!file.startsWith(root + sep) || type === undefined) return { status: 404, headers: COMMON };
  const headers: Record<string, string> = { ...COMMON, 'content-type': type };
  if (type.startsWith('text/html')) headers['content-security-policy'] = PAGES_CSP;
  return { status: 200, file, headers };
}
