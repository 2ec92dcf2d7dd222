// The agent is killed with SIGKILL in the middle of a drain and started again: the
// receiver ends with every event exactly once, no gap, chain verified; the only
// duplicates are the batch that was in flight when the process died.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { openHarness, type Harness } from './support/harness';
import type { DrainChildConfig } from './support/drain-child';

const N = 20_000;
const BATCH = 200;
let h: Harness;
const children = new Set<ChildProcess>();

before(async () => {
  h = await openHarness('sigkill-drain');
  await h.fill(N);
  await h.store.close(); // the child process owns the database from here on
  await h.startReceiver();
});
after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await h.cleanup();
});

function startChild(): { child: ChildProcess; lines: AsyncIterableIterator<string> } {
  const cfg: DrainChildConfig = {
    storePath: h.test.path,
    service: h.test.service,
    machineId: h.test.machineId,
    url: h.receiver.url,
    caFile: h.ca.certPath,
    certFile: h.client.certPath,
    keyFile: h.client.keyPath,
    maxEvents: BATCH,
  };
  const child = spawn(process.execPath, [join(__dirname, 'support', 'drain-child.js'), JSON.stringify(cfg)], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return { child, lines };
}

test('SIGKILL during a drain, then restart: no loss, no gap, duplicates only from the batch in flight', async () => {
  const first = startChild();
  assert.equal((await first.lines.next()).value, 'started');
  await h.receiver.waitFor((c) => c.stored >= N / 4);
  first.child.kill('SIGKILL');
  const [, signal] = (await once(first.child, 'exit')) as [number | null, NodeJS.Signals | null];
  assert.equal(signal, 'SIGKILL');
  const atKill = h.receiver.counts();
  assert.ok(atKill.stored < N, 'killed before the drain finished');

  const second = startChild();
  assert.equal((await second.lines.next()).value, 'started');
  assert.equal((await second.lines.next()).value, 'drained');
  await once(second.child, 'exit');

  const c = h.receiver.counts();
  assert.equal(c.stored, N, 'every event stored exactly once');
  assert.equal(c.conflicts, 0);
  assert.equal(c.resyncs, 0, 'no gap: the restarted agent continued from its durable ack watermark');
  assert.ok(c.duplicates <= 2 * BATCH, `duplicates (${c.duplicates}) are at most the batches in flight at the kill`);

  const store = await h.test.reopen();
  assert.equal(store.acknowledgedThrough(), N);
  const v = await h.receiver.verifyStored(store.deviceMeta().device);
  assert.equal(v.problem, null, v.problem?.message);
  assert.equal(v.verified, N);
  assert.deepEqual(v.last, store.head());
});
