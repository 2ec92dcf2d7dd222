// Serves the agent's pages in-process on the policy's origin (default http://localhost):
// WebAuthn refuses custom schemes such as app:// (DESIGN.md), so the pages need a localhost
// origin, and `protocol.handle('http')` on a session partition that only the agent's
// windows use gives one without a listening socket. The rules are main/pages/pages-handler.ts.
import { net, session, type Session } from 'electron';
import { pathToFileURL } from 'node:url';
import { answerPageRequest } from '../pages/pages-handler';

/** The session partition of every agent window (in memory: no cookies or cache on disk). */
export const PAGES_PARTITION = 'cwa-pages';

export function pagesSession(): Session {
  return session.fromPartition(PAGES_PARTITION);
}

export function handlePages(pagesDir: string, origin: () => string): void {
  const ses = pagesSession();
  const serve = async (request: Request): Promise<Response> => {
    const answer = answerPageRequest(pagesDir, origin(), request.method, request.url);
    if (answer.status !== 200) return new Response(null, { status: answer.status, headers: answer.headers });
    const file = await net.fetch(pathToFileURL(answer.file).toString()).catch(() => null);
    if (!file || !file.ok) return new Response(null, { status: 404 });
    return new Response(request.method === 'HEAD' ? null : file.body, { status: 200, headers: answer.headers });
  };
  ses.protocol.handle('http', serve);
  // Nothing in this partition may reach the network: https and ws are refused outright.
  for (const scheme of ['https', 'ws', 'wss', 'file']) ses.protocol.handle(scheme, () => new Response(null, { status: 403 }));
}

export function pageUrl(origin: string, page: 'lock' | 'enroll' | 'status', query: Readonly<Record<string, string>> = {}): string {
  const search = new URLSearchParams(query).toString();
  return `${origin}/${page}/index.html${search ? `?${search}` : ''}`;
}
