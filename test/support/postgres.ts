// A throwaway PostgreSQL server from Debian's postgresql package for the collector's
// tests and benchmarks: initdb in a temporary folder, a Unix socket in that folder (no TCP
// port at all), started as the unprivileged cwa-pg user when this process is root
// (PostgreSQL refuses root; scripts/setup.sh creates the user), stopped and removed after.
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const RUN_AS = 'cwa-pg';

function binDir(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : null;
}

function asRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Why PostgreSQL tests cannot run here, or null when they can. */
export function postgresMissing(): string | null {
  if (!binDir()) return 'no PostgreSQL server binaries under /usr/lib/postgresql (apt-get install postgresql)';
  if (asRoot() && spawnSync('id', ['-u', RUN_AS]).status !== 0) return `running as root without the ${RUN_AS} user PostgreSQL must run as (bash scripts/setup.sh creates it)`;
  return null;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

export class PostgresServer {
  private constructor(
    readonly dir: string,
    private readonly bin: string,
    readonly port: number,
  ) {}

  /** A connection string for database `db` over the server's Unix socket. */
  url(db = 'collector'): string {
    return `postgresql://${asRoot() ? RUN_AS : process.env.USER ?? 'postgres'}@localhost:${this.port}/${db}?host=${encodeURIComponent(this.dir)}`;
  }

  /** `durable: false` (tests) turns fsync off; benchmarks keep PostgreSQL's real durability. */
  static async start(opts: { durable?: boolean } = {}): Promise<PostgresServer> {
    const missing = postgresMissing();
    if (missing) throw new Error(missing);
    const bin = binDir()!;
    const dir = mkdtempSync(join(process.env.CWA_PG_TMP ?? tmpdir(), 'cwa-pg-'));
    const user = asRoot() ? RUN_AS : (process.env.USER ?? 'postgres');
    if (asRoot()) {
      const uid = Number(execFileSync('id', ['-u', RUN_AS]).toString().trim());
      const gid = Number(execFileSync('id', ['-g', RUN_AS]).toString().trim());
      chownSync(dir, uid, gid);
    }
    const run = (cmd: string, args: string[]) => {
      const full = asRoot() ? ['runuser', ['-u', RUN_AS, '--', join(bin, cmd), ...args]] as const : [join(bin, cmd), args] as const;
      const r = spawnSync(full[0], full[1] as string[], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${(r.stderr || r.stdout).trim().slice(-800)}`);
    };
    const port = await freePort();
    const data = join(dir, 'data');
    run('initdb', ['-D', data, '-A', 'trust', '-U', user, '--no-sync', '-E', 'UTF8', '--locale=C']);
    const settings = ['-c', `port=${port}`, '-c', "listen_addresses=''", '-c', `unix_socket_directories=${dir}`, '-c', 'max_connections=200'];
    if (!opts.durable) settings.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
    run('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', '-o', settings.map((s) => (s.includes(' ') ? `"${s}"` : s)).join(' '), 'start']);
    const server = new PostgresServer(dir, bin, port);
    run('createdb', ['-h', dir, '-p', String(port), '-U', user, 'collector']);
    return server;
  }

  /** Creates another database on this server (one per test, so tests do not share state). */
  createDatabase(name: string): string {
    const user = asRoot() ? RUN_AS : (process.env.USER ?? 'postgres');
    const args = ['-h', this.dir, '-p', String(this.port), '-U', user, name];
    const r = asRoot() ? spawnSync('runuser', ['-u', RUN_AS, '--', join(this.bin, 'createdb'), ...args], { encoding: 'utf8' }) : spawnSync(join(this.bin, 'createdb'), args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`createdb ${name} failed: ${r.stderr.trim()}`);
    return this.url(name);
  }

  stop(): void {
    const args = ['-D', join(this.dir, 'data'), '-m', 'immediate', '-w', 'stop'];
    if (asRoot()) spawnSync('runuser', ['-u', RUN_AS, '--', join(this.bin, 'pg_ctl'), ...args]);
    else spawnSync(join(this.bin, 'pg_ctl'), args);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
