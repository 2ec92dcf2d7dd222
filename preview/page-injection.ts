// How a page of the agent becomes a preview page: the same HTML, with window.agent defined by
// the preview's bridge (HTTP + server-sent events instead of Electron IPC) and the demo panel
// beside the page's main landmark. The one CSP change is connect-src 'self', which the bridge
// needs; every other directive stays exactly as the real pages have it.

/** The CSP with connect-src set to 'self' (replaced if present, added if not). */
export function withConnectSelf(csp: string): string {
  const directives = csp
    .split(';')
    .map((d) => d.trim())
    .filter((d) => d.length > 0);
  const at = directives.findIndex((d) => d.split(/\s+/)[0]?.toLowerCase() === 'connect-src');
  if (at >= 0) directives[at] = "connect-src 'self'";
  else directives.push("connect-src 'self'");
  return directives.join('; ');
}

/** Thrown when a page no longer has the shape the preview relies on (a `</head>`). */
export class PageShapeError extends Error {}

const META_CSP = /(<meta\s+http-equiv="Content-Security-Policy"\s+content=")([^"]*)(")/gi;

/**
 * The page's HTML for the preview. Assets come from `../preview/` (every page sits one folder
 * below the token): a classic script in <head> runs before the page's deferred module, so
 * window.agent exists when the page starts, exactly as the preload makes it in Electron.
 */
export function previewPageHtml(html: string): string {
  const rewritten = html.replace(META_CSP, (_m, open: string, csp: string, close: string) => `${open}${withConnectSelf(csp)}${close}`);
  const head = rewritten.search(/<\/head>/i);
  if (head < 0) throw new PageShapeError('the page has no </head> to put the preview bridge in');
  const tags =
    '  <link rel="stylesheet" href="../preview/preview.css">\n' +
    '  <script src="../preview/bridge.js"></script>\n' +
    '  <script src="../preview/demo.js" defer></script>\n';
  return `${rewritten.slice(0, head)}${tags}${rewritten.slice(head)}`;
}
