// A full disk delays the audit trail instead of losing it: events wait in memory, and are
// written in order after an `audit.recording_started` once space returns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTestStore } from '../../support/audit-fixture';
import { SpoolingRecorder, type SpoolStatus } from '../../../main/audit/spooling-recorder';
import { parseEventBody } from '../../../main/audit/event';
import { verifyStore } from '../../../main/audit/verify-store';

test('events recorded while the disk is full are kept and written, in order, once space returns', async (t) => {
  const mnt = mkdtempSync(join(tmpdir(), 'cwa-spool-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mnt], { stdio: 'ignore' });
  } catch {
    rmSync(mnt, { recursive: true, force: true });
    t.skip('mounting a tmpfs needs root (CAP_SYS_ADMIN); not available here');
    return;
  }
  const ts = await openTestStore('spool', { dir: mnt });
  const changes: SpoolStatus[] = [];
  let markFailing: () => void = () => undefined;
  const failing = new Promise<'failing'>((resolve) => (markFailing = () => resolve('failing')));
  const spool = new SpoolingRecorder(ts.store, {
    retryMs: 60_000,
    onChange: (s) => {
      changes.push(s);
      if (s.failing) markFailing();
    },
  });
  try {
    await spool.record({ action: 'agent.start' });
    const filler = join(mnt, 'filler');
    const { bavail, bsize } = statfsSync(mnt);
    writeFileSync(filler, Buffer.alloc(Math.max(0, bavail * bsize - 16 * 1024)));
    // Fill what is left until the store refuses; from then on events are spooled.
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < 5000; i++) {
      const p = spool.record({ action: 'session.warning', user: 'nurse-0009', details: { pad: 'x'.repeat(900), i } });
      if ((await Promise.race([p.then(() => 'written' as const), failing])) === 'failing') {
        pending.push(p); // the event that met the full disk waits in the spool too
        break;
      }
    }
    assert.equal(spool.status().failing, true, 'the disk never filled');
    const headAtFailure = ts.store.head().seq;
    for (const user of ['nurse-0010', 'nurse-0011', 'nurse-0012']) pending.push(spool.record({ action: 'session.lock', user, method: 'idle', details: { reason: 'idle' } }));
    await assert.rejects(spool.record({ action: 'session.lock', user: 'not valid!' }), /user/);
    assert.ok(spool.status().queued >= 3);
    assert.equal(await spool.drain(), false, 'still full: nothing drained');
    assert.equal(ts.store.head().seq, headAtFailure);

    rmSync(filler);
    assert.equal(await spool.drain(), true);
    const written = (await Promise.all(pending)) as { seq: number; user: string }[];
    assert.deepEqual(written.map((e) => e.user), ['nurse-0009', 'nurse-0010', 'nurse-0011', 'nurse-0012']);
    assert.deepEqual(written.map((e) => e.seq), [1, 2, 3, 4].map((n) => headAtFailure + 1 + n), 'in order, right after the recovery event');
    const tail = ts.store.readAfter(headAtFailure, 100).map((e) => parseEventBody(e.body));
    assert.equal(tail[0]!.action, 'audit.recording_started');
    assert.equal(tail[0]!.details.reason, 'audit writes failed and have resumed');
    assert.ok(tail.slice(-3).every((e) => e.action === 'session.lock' && typeof e.details.occurredAt === 'string'));
    assert.equal(spool.status().failing, false);
    assert.ok(changes.some((c) => c.failing) && !changes[changes.length - 1]!.failing);
    assert.equal(verifyStore(ts.store).ok, true);
  } finally {
    spool.dispose();
    await ts.cleanup();
    execFileSync('umount', [mnt]);
    rmSync(mnt, { recursive: true, force: true });
  }
});
