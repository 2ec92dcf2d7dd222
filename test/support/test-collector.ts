// The collector (collector/) started for forwarding tests: a SQLite database in the test's
// folder with the test's devices registered, mutual TLS with the test PKI, and the fault
// plan the fault tests inject. It is the real service, not a stand-in.
import { randomBytes } from 'node:crypto';
import { startCollector, type CollectorServer, type FaultPlan } from '../../collector/server';
import { CollectorStore } from '../../collector/store/collector-store';
import { SqliteDb } from '../../collector/store/sqlite';

export type { Fault, FaultPlan } from '../../collector/server';
export type Receiver = CollectorServer;

export interface RegisteredDevice {
  readonly publicKeyPem: string;
}

export interface ReceiverOptions {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  readonly dbPath: string;
  readonly devices: ReadonlyMap<string, RegisteredDevice>;
  /** 0 (default) picks an ephemeral port; pass the old port to restart "the same" collector. */
  readonly port?: number;
  readonly host?: '127.0.0.1' | 'localhost';
  readonly maxBodyBytes?: number;
  readonly faults?: FaultPlan;
}

export async function startReceiver(opts: ReceiverOptions): Promise<Receiver> {
  const store = await CollectorStore.open(new SqliteDb(opts.dbPath));
  try {
    for (const [deviceId, d] of opts.devices) await store.registerDevice({ deviceId, publicKeyPem: d.publicKeyPem, label: 'test workstation' });
    const server = await startCollector({
      tls: { ca: opts.ca, cert: opts.cert, key: opts.key },
      store,
      orgKey: randomBytes(32),
      ...(opts.port === undefined ? {} : { port: opts.port }),
      host: opts.host ?? '127.0.0.1',
      ...(opts.maxBodyBytes === undefined ? {} : { maxEventBodyBytes: opts.maxBodyBytes }),
      ...(opts.faults === undefined ? {} : { faults: opts.faults }),
    });
    return {
      ...server,
      async close() {
        await server.close();
        await store.close();
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}

/** The collector (SQLite at `dbPath`) serving `server`'s certificate under `ca`, with a running agent's device registered. */
export function startReceiverFor(
  agent: { status(): { deviceId: string }; readonly store: { deviceMeta(): { publicKeyPem: string } } },
  tls: { readonly ca: string; readonly cert: string; readonly key: string },
  dbPath: string,
): Promise<Receiver> {
  return startReceiver({ ...tls, dbPath, devices: new Map([[agent.status().deviceId, { publicKeyPem: agent.store.deviceMeta().publicKeyPem }]]) });
}
