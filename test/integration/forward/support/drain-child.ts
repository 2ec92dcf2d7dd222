// A forwarding agent in its own process, for the SIGKILL test: opens the real store (same
// keychain service), drains it to the receiver, prints "drained" and exits.
// Usage: node drain-child.js <json config>
import { readFileSync } from 'node:fs';
import { openAuditBuffer } from '../../../../main/audit/open-buffer';
import { Forwarder } from '../../../../main/forward/forwarder';
import { HttpsTransport } from '../../../../main/forward/https-transport';
import { KeytarKeyStore } from '../../../../main/platform/keystore';

export interface DrainChildConfig {
  readonly storePath: string;
  readonly service: string;
  readonly machineId: string;
  readonly url: string;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly maxEvents: number;
}

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2] ?? '{}') as DrainChildConfig;
  const store = await openAuditBuffer({ path: cfg.storePath, keyStore: new KeytarKeyStore(cfg.service), machineId: cfg.machineId });
  const meta = store.deviceMeta();
  const transport = new HttpsTransport({
    url: cfg.url,
    ca: readFileSync(cfg.caFile, 'utf8'),
    cert: readFileSync(cfg.certFile, 'utf8'),
    key: readFileSync(cfg.keyFile, 'utf8'),
    requestTimeoutMs: 30_000, // the product default: a slow CI machine must not turn a slow ack into a resend
    device: meta.device,
    keyId: meta.keyId,
  });
  const forwarder = new Forwarder({
    store,
    transports: [transport],
    policy: { batch: { maxEvents: cfg.maxEvents, maxBytes: 1024 * 1024, lingerMs: 5 }, backoff: { initialMs: 20, maxMs: 200 } },
  });
  const sub = forwarder.onChange(() => {
    if (forwarder.status().queueDepth !== 0) return;
    sub.dispose();
    void forwarder
      .stop()
      .then(() => store.close())
      .then(() => process.stdout.write('drained\n'));
  });
  forwarder.start();
  process.stdout.write('started\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`drain-child: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
