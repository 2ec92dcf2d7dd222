// Runs the reference receiver from the command line, for demos:
//   node dist/test/support/receiver/cli.js --db collector.db --device <deviceId>=<public-key.pem> \
//     [--ca ca.crt --cert server.crt --key server.key] [--port 8443] [--host 127.0.0.1|localhost]
// Without --ca/--cert/--key it makes a throwaway PKI (deleted on exit) and prints where the
// agent's pinned CA and client certificate/key are. Counts are printed as JSON lines.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { TestPki } from '../pki';
import { startReceiver, type ReceiverCounts, type RegisteredDevice } from './receiver';

const argsSchema = z.strictObject({
  db: z.string().min(1),
  device: z.array(z.string().regex(/^[^=]+=.+$/, 'use --device <deviceId>=<public-key.pem>')).min(1, 'register at least one --device <deviceId>=<public-key.pem>'),
  ca: z.string().optional(),
  cert: z.string().optional(),
  key: z.string().optional(),
  port: z.coerce.number().int().min(0).max(65535).default(8443),
  host: z.enum(['127.0.0.1', 'localhost']).default('127.0.0.1'),
});

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      db: { type: 'string' },
      device: { type: 'string', multiple: true },
      ca: { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
    },
  });
  const parsed = argsSchema.safeParse(values);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    console.error(`receiver: --${issue?.path.join('.') ?? '?'}: ${issue?.message ?? 'invalid arguments'}`);
    process.exit(2);
  }
  const args = parsed.data;
  const devices = new Map<string, RegisteredDevice>(
    args.device.map((d) => {
      const i = d.indexOf('=');
      return [d.slice(0, i), { publicKeyPem: readFileSync(d.slice(i + 1), 'utf8') }];
    }),
  );

  let pki: TestPki | null = null;
  let tls: { ca: string; cert: string; key: string };
  if (args.ca && args.cert && args.key) {
    tls = { ca: readFileSync(args.ca, 'utf8'), cert: readFileSync(args.cert, 'utf8'), key: readFileSync(args.key, 'utf8') };
  } else {
    pki = new TestPki();
    const ca = pki.createCa('demo-upstream-ca');
    const server = pki.issue(ca, 'demo-collector', { kind: 'server', dns: ['localhost'], ips: ['127.0.0.1'] });
    const client = pki.issue(ca, 'demo-workstation', { kind: 'client' });
    tls = { ca: ca.cert, cert: server.cert, key: server.key };
    console.log(JSON.stringify({ demoPki: { caFile: ca.certPath, clientCertFile: client.certPath, clientKeyFile: client.keyPath } }));
  }

  const receiver = await startReceiver({ ...tls, dbPath: args.db, devices, port: args.port, host: args.host });
  console.log(JSON.stringify({ listening: `${receiver.url}/v1/events`, db: args.db, devices: [...devices.keys()] }));

  let last: ReceiverCounts | null = null;
  const report = setInterval(() => {
    const c = receiver.counts();
    if (last && JSON.stringify(c) === JSON.stringify(last)) return;
    last = c;
    console.log(JSON.stringify({ counts: c }));
  }, 2000);

  const shutdown = (): void => {
    clearInterval(report);
    void receiver.close().then(() => {
      pki?.dispose();
      process.exit(0);
    });
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  console.error(`receiver: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
