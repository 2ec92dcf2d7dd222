// Serves the renderer pages from app://pages/… — a standard, secure scheme (so WebAuthn
// and a strict CSP work) with a GET-only handler that refuses path traversal.
import { net, protocol } from 'electron';
import { extname, normalize, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

export const PAGES_SCHEME = 'app';
export const PAGES_HOST = 'pages';

/** Must run before app 'ready'. */
export function registerPagesScheme(): void {
  protocol.registerSchemesAsPrivileged([{ scheme: PAGES_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png' };

export function handlePages(rendererDir: string): void {
  const root = resolve(rendererDir);
  protocol.handle(PAGES_SCHEME, async (request) => {
    const url = new URL(request.url);
    if (request.method !== 'GET' || url.host !== PAGES_HOST) return new Response('not found', { status: 404 });
    const path = normalize(resolve(root, `.${decodeURIComponent(url.pathname)}`));
    if (!path.startsWith(root + sep) || !(extname(path) in TYPES)) return new Response('not found', { status: 404 });
    const file = await net.fetch(pathToFileURL(path).toString()).catch(() => null);
    if (!file || !file.ok) return new Response('not found', { status: 404 });
    return new Response(file.body, {
      headers: {
        'content-type': TYPES[extname(path)]!,
        'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'none'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
      },
    });
  });
}

export function pageUrl(page: string): string {
  return `${PAGES_SCHEME}://${PAGES_HOST}/${page}`;
}
