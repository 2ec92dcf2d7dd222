// One forwarding test bed: a throwaway PKI, a real audit store (real keychain), the
// reference receiver over mutual TLS on 127.0.0.1, and an HttpsTransport pointed at it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditStore } from '../../../../main/audit/store';
import { Forwarder, type ForwarderOptions } from '../../../../main/forward/forwarder';
import { HttpsTransport, type HttpsTransportOptions } from '../../../../main/forward/https-transport';
import { openTestStore, type TestStore } from '../../../support/audit-fixture';
import { TestPki, type Ca, type CertFiles } from '../../../../collector/demo-pki';
import { startReceiver, type FaultPlan, type Receiver, type RegisteredDevice } from '../../../support/test-collector';

export interface Harness {
  readonly pki: TestPki;
  readonly ca: Ca;
  readonly server: CertFiles;
  readonly client: CertFiles;
  readonly test: TestStore;
  readonly store: AuditStore;
  readonly receiverDb: string;
  /** A scratch folder removed at cleanup. */
  readonly dir: string;
  receiver: Receiver;
  /** Starts (or restarts on the same port and database) the receiver. */
  startReceiver(opts?: { faults?: FaultPlan; port?: number; cert?: CertFiles; devices?: Map<string, RegisteredDevice>; dbPath?: string }): Promise<Receiver>;
  transport(overrides?: Partial<HttpsTransportOptions>): HttpsTransport;
  forwarder(overrides?: Partial<ForwarderOptions> & { transport?: Partial<HttpsTransportOptions> }): Forwarder;
  /** Records n synthetic events (nurse ids, no PHI), in groups sharing commits. */
  fill(n: number): Promise<void>;
  cleanup(): Promise<void>;
}

export const FAST_POLICY = {
  batch: { maxEvents: 200, maxBytes: 256 * 1024, lingerMs: 5 },
  backoff: { initialMs: 20, maxMs: 200 },
} as const;

export async function openHarness(label: string): Promise<Harness> {
  const pki = new TestPki();
  const ca = pki.createCa('upstream-ca');
  const server = pki.issue(ca, 'collector', { kind: 'server', dns: ['localhost'], ips: ['127.0.0.1'] });
  const client = pki.issue(ca, 'workstation', { kind: 'client' });
  const test = await openTestStore(label);
  const store = test.store;
  const receiverDir = mkdtempSync(join(tmpdir(), `cwa-receiver-${label}-`));
  const receiverDb = join(receiverDir, 'collector.db');
  const devices = new Map<string, RegisteredDevice>([[store.deviceMeta().device, { publicKeyPem: store.deviceMeta().publicKeyPem }]]);
  const forwarders: Forwarder[] = [];

  const h: Harness = {
    pki,
    ca,
    server,
    client,
    test,
    store,
    receiverDb,
    dir: receiverDir,
    receiver: undefined as unknown as Receiver,
    async startReceiver(opts = {}) {
      const cert = opts.cert ?? server;
      h.receiver = await startReceiver({
        ca: ca.cert,
        cert: cert.cert,
        key: cert.key,
        dbPath: opts.dbPath ?? receiverDb,
        devices: opts.devices ?? devices,
        ...(opts.port === undefined ? {} : { port: opts.port }),
        ...(opts.faults === undefined ? {} : { faults: opts.faults }),
      });
      return h.receiver;
    },
    transport(overrides = {}) {
      return new HttpsTransport({
        url: h.receiver.url,
        ca: ca.cert,
        cert: client.cert,
        key: client.key,
        requestTimeoutMs: 30_000, // the product default: a slow CI machine must not turn a slow ack into a resend
        device: store.deviceMeta().device,
        keyId: store.deviceMeta().keyId,
        ...overrides,
      });
    },
    forwarder(overrides = {}) {
      const { transport, ...rest } = overrides;
      const f = new Forwarder({ store, transports: [h.transport(transport)], policy: FAST_POLICY, ...rest });
      forwarders.push(f);
      return f;
    },
    async fill(n) {
      const chunk = 2000;
      for (let done = 0; done < n; done += chunk) {
        const size = Math.min(chunk, n - done);
        await Promise.all(
          Array.from({ length: size }, (_, i) =>
            store.record({ action: 'session.lock', user: `nurse-${String((done + i) % 10000).padStart(4, '0')}`, method: 'idle', details: { reason: 'idle' } }),
          ),
        );
      }
    },
    async cleanup() {
      for (const f of forwarders) await f.stop({ abortInFlight: true }).catch(() => undefined);
      await h.receiver?.close().catch(() => undefined);
      await test.cleanup();
      pki.dispose();
      rmSync(receiverDir, { recursive: true, force: true });
    },
  };
  return h;
}

/** Resolves once the forwarder's status satisfies `predicate`, checked on every change. */
export function waitForStatus(f: Forwarder, predicate: (s: ReturnType<Forwarder['status']>) => boolean, timeoutMs = 60_000): Promise<ReturnType<Forwarder['status']>> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const s = f.status();
      if (!predicate(s)) return;
      done();
      resolve(s);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`forwarder status condition not met within ${timeoutMs} ms: ${JSON.stringify(f.status())}`));
    }, timeoutMs);
    const sub = f.onChange(check);
    const done = (): void => {
      clearTimeout(timer);
      sub.dispose();
    };
    check();
  });
}
