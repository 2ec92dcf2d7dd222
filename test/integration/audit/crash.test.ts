// SIGKILL at random moments while a child process appends: every append that resolved is
// present after reopening, the chain verifies, and seq continues without a gap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { openTestStore } from '../../support/audit-fixture';
import { verifyStore } from '../../../main/audit/verify-store';

const ROUNDS = 20;

function runUntilKilled(env: NodeJS.ProcessEnv, killAfterMs: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(__dirname, '../../support/append-child.js')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const seqs: number[] = [];
    let buf = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buf += chunk;
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) {
        if (l === 'ready') continue;
        seqs.push(Number(l));
        // Counted from the first append that resolved, so that every round kills a child
        // in the middle of appending, however slowly this machine commits.
        if (timer === undefined) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') resolve(seqs);
      else reject(new Error(`append child exited ${code} ${signal}: ${stderr}`));
    });
  });
}

test(`${ROUNDS} rounds of SIGKILL during appends lose no resolved append and leave no gap`, async () => {
  const t = await openTestStore('crash');
  await t.store.close();
  try {
    let expectedAtLeast = 0;
    let totalResolved = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const killAfter = 20 + Math.floor(Math.random() * 300);
      const seqs = await runUntilKilled({ CWA_TEST_DB: t.path, CWA_TEST_SERVICE: t.service, CWA_TEST_MACHINE_ID: t.machineId, CWA_TEST_CONCURRENCY: String(1 + (round % 16)) }, killAfter);
      totalResolved += seqs.length;
      const store = await t.reopen();
      try {
        const head = store.head().seq;
        const maxResolved = seqs.length ? Math.max(...seqs) : 0;
        assert.ok(head >= maxResolved, `round ${round}: the child saw seq ${maxResolved} resolve but the database ends at ${head}`);
        assert.ok(head >= expectedAtLeast, `round ${round}: head went backwards`);
        const r = verifyStore(store);
        assert.equal(r.ok, true, `round ${round}: ${JSON.stringify(r.problem)}`);
        assert.equal(r.verified, head, `round ${round}: every seq 1..${head} present exactly once`);
        expectedAtLeast = head;
      } finally {
        await store.close();
      }
    }
    assert.ok(totalResolved >= ROUNDS, `the child resolved only ${totalResolved} appends in ${ROUNDS} rounds`);
    const last = await t.reopen();
    const e = await last.record({ action: 'agent.start' });
    assert.equal(e.seq, expectedAtLeast + 1, 'seq continues after the last crash without a gap');
  } finally {
    await t.cleanup();
  }
});
