// Child process for crash tests: appends events as fast as it can with several concurrent
// appenders and prints each seq once its append has resolved (i.e. is durable).
// Env: CWA_TEST_DB, CWA_TEST_SERVICE, CWA_TEST_MACHINE_ID, CWA_TEST_CONCURRENCY.
import { openAuditBuffer } from '../../main/audit/open-buffer';
import { KeytarKeyStore } from '../../main/platform/keystore';
import { writeSync } from 'node:fs';

async function main(): Promise<void> {
  const store = await openAuditBuffer({
    path: process.env.CWA_TEST_DB!,
    keyStore: new KeytarKeyStore(process.env.CWA_TEST_SERVICE!),
    machineId: process.env.CWA_TEST_MACHINE_ID!,
  });
  writeSync(1, 'ready\n');
  const concurrency = Number(process.env.CWA_TEST_CONCURRENCY ?? 8);
  const worker = async (w: number) => {
    for (;;) {
      const e = await store.record({ action: 'session.warning', user: `nurse-${String(w).padStart(4, '0')}`, details: { w } });
      writeSync(1, `${e.seq}\n`); // synchronous: once printed, the parent may rely on it
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
}

main().catch((err: unknown) => {
  writeSync(2, `append-child: ${(err as Error).message}\n`);
  process.exit(3);
});
