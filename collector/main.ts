// The collector, one command:
//   npm run collector -- --db collector.db [--port 8443] [--host 127.0.0.1]
//   npm run collector -- --postgres postgresql://collector@db.hospital.example/collector --org-key /etc/cwa-collector/org.key \
//       --ca workstations-ca.crt --cert collector.crt --key collector.key --host 0.0.0.0
// Without --ca/--cert/--key it makes a throwaway PKI for a demo (deleted on exit) and prints
// where the agent's pinned CA and client certificate and key are. Counts print as JSON lines.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ConfigError, loadOrgKey, openDb } from './config';
import { TestPki } from './demo-pki';
import { startCollector, type CollectorCounts } from './server';
import { CollectorStore } from './store/collector-store';

const argsSchema = z.strictObject({
  db: z.string().min(1).optional(),
  postgres: z.string().regex(/^postgres(ql)?:\/\//, 'a postgresql:// URL').optional(),
  'org-key': z.string().min(1).optional(),
  ca: z.string().optional(),
  cert: z.string().optional(),
  key: z.string().optional(),
  port: z.coerce.number().int().min(0).max(65535).default(8443),
  host: z.string().min(1).default('127.0.0.1'),
  'enroller-role': z.array(z.string().min(1)).default(['enroller']),
  'max-failures': z.coerce.number().int().min(3).max(20).default(5),
  'lockout-minutes': z.coerce.number().min(1).max(1440).default(15),
});

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      db: { type: 'string' },
      postgres: { type: 'string' },
      'org-key': { type: 'string' },
      ca: { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'enroller-role': { type: 'string', multiple: true },
      'max-failures': { type: 'string' },
      'lockout-minutes': { type: 'string' },
    },
  });
  const parsed = argsSchema.safeParse(values);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`--${issue?.path.join('.') ?? '?'}: ${issue?.message ?? 'invalid'}`);
  }
  const args = parsed.data;
  if (!!args.ca !== !!args.cert || !!args.cert !== !!args.key) throw new ConfigError('give all of --ca, --cert and --key (or none, for a throwaway demo PKI)');
  const orgKeyPath = args['org-key'] ?? (args.db ? `${args.db}.org-key` : undefined);
  if (!orgKeyPath) throw new ConfigError('with --postgres, give --org-key FILE: every collector instance must read the same organisation key');
  const org = loadOrgKey(orgKeyPath, true);
  const store = await CollectorStore.open(openDb(args));

  let pki: TestPki | null = null;
  let tls: { ca: string; cert: string; key: string };
  if (args.ca && args.cert && args.key) {
    tls = { ca: readFileSync(args.ca, 'utf8'), cert: readFileSync(args.cert, 'utf8'), key: readFileSync(args.key, 'utf8') };
  } else {
    pki = new TestPki();
    const ca = pki.createCa('demo-workstations-ca');
    const server = pki.issue(ca, 'demo-collector', { kind: 'server', dns: ['localhost'], ips: ['127.0.0.1'] });
    const client = pki.issue(ca, 'demo-workstation', { kind: 'client' });
    tls = { ca: ca.cert, cert: server.cert, key: server.key };
    console.log(JSON.stringify({ demoPki: { caFile: ca.certPath, clientCertFile: client.certPath, clientKeyFile: client.keyPath, note: 'throwaway: deleted when the collector stops' } }));
  }
  const collector = await startCollector({
    tls,
    store,
    orgKey: org.key,
    port: args.port,
    host: args.host,
    enrollerRoles: args['enroller-role'],
    lockout: { maxFailures: args['max-failures'], lockoutMs: args['lockout-minutes'] * 60_000 },
  });
  console.log(
    JSON.stringify({
      listening: collector.url,
      storage: store.description,
      orgKey: { file: orgKeyPath, created: org.created },
      register: 'collector-admin register-device --id <deviceId> --public-key <file> (agentctl device --json prints both)',
    }),
  );

  let last = '';
  const report = setInterval(() => {
    const c: CollectorCounts = collector.counts();
    const line = JSON.stringify({ counts: c, streams: collector.streams() });
    if (line === last) return;
    last = line;
    console.log(line);
  }, 2000);
  const shutdown = (): void => {
    clearInterval(report);
    void collector
      .close()
      .then(() => store.close())
      .then(() => {
        pki?.dispose();
        process.exit(0);
      });
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  console.error(`collector: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
