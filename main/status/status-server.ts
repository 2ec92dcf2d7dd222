// The local status socket the help desk reads (agentctl status): a Unix socket (owner-only)
// or a Windows named pipe. Each connection receives one JSON snapshot and is closed; it
// accepts no commands, so it cannot be used to change anything.
import { chmodSync, existsSync, mkdirSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { dirname } from 'node:path';

export interface StatusServer {
  readonly path: string;
  close(): Promise<void>;
}

export async function startStatusServer(path: string, snapshot: () => unknown): Promise<StatusServer> {
  const isPipe = path.startsWith('\\\\.\\pipe\\');
  if (!isPipe) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // A stale socket from a crashed agent blocks listen(); a live one means another agent runs.
    if (existsSync(path)) {
      const alive = await new Promise<boolean>((resolve) => {
        const c = createConnection(path, () => {
          c.destroy();
          resolve(true);
        });
        c.on('error', () => resolve(false));
      });
      if (alive) throw new Error(`Another agent is already serving status on ${path}; stop it first.`);
      unlinkSync(path);
    }
  }
  const server: Server = createServer((socket) => {
    socket.on('error', () => socket.destroy());
    let body: string;
    try {
      body = JSON.stringify(snapshot());
    } catch (err) {
      body = JSON.stringify({ error: `status unavailable: ${(err as Error).message}` });
    }
    socket.end(`${body}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  if (!isPipe) chmodSync(path, 0o600);
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
      }),
  };
}

/** Reads one snapshot (agentctl status). Rejects with an actionable message when nothing listens. */
export function readStatus(path: string, timeoutMs = 5000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`The agent did not answer on ${path} within ${timeoutMs} ms.`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (data += d));
    socket.on('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(data));
      } catch {
        reject(new Error(`The agent on ${path} answered with something that is not a status snapshot.`));
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why = err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? 'the agent is not running (or runs with another data folder)' : err.code === 'EACCES' ? "permission denied: run as the agent's account or an administrator" : err.message;
      reject(new Error(`Cannot read agent status from ${path}: ${why}.`));
    });
  });
}
