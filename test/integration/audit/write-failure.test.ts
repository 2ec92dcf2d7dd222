// Write failures: a full disk (a real, tiny tmpfs) and a read-only database. The append
// rejects with a clear error, nothing is half-written, and recording resumes afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTestStore } from '../../support/audit-fixture';
import { type AuditStoreError } from '../../../main/audit/errors';
import { verifyStore } from '../../../main/audit/verify-store';
import { openAuditBuffer } from '../../../main/audit/open-buffer';

function tryMountTmpfs(dir: string, size: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('a full disk rejects the append with a clear error, loses no committed event, and recording resumes once space returns', async (t) => {
  const mnt = mkdtempSync(join(tmpdir(), 'cwa-full-'));
  if (!tryMountTmpfs(mnt, '3m')) {
    rmSync(mnt, { recursive: true, force: true });
    t.skip('mounting a tmpfs needs root (CAP_SYS_ADMIN); not available here');
    return;
  }
  const ts = await openTestStore('diskfull', { dir: mnt });
  try {
    for (let i = 0; i < 20; i++) await ts.store.record({ action: 'session.unlock', user: 'nurse-0005', method: 'badge' });
    // Fill the rest of the filesystem, leaving a few pages.
    const { bavail, bsize } = statfsSync(mnt);
    const filler = join(mnt, 'filler');
    writeFileSync(filler, Buffer.alloc(Math.max(0, bavail * bsize - 16 * 1024)));
    let failure: AuditStoreError | undefined;
    let committed = 20;
    for (let i = 0; i < 5000 && !failure; i++) {
      try {
        await ts.store.record({ action: 'session.warning', user: 'nurse-0005', details: { pad: 'x'.repeat(900) } });
        committed++;
      } catch (err) {
        failure = err as AuditStoreError;
      }
    }
    assert.ok(failure, 'the disk never filled up');
    assert.equal(failure.code, 'disk-full');
    assert.match(failure.message, /disk .* is full/);
    assert.ok(failure.message.includes(ts.path));
    assert.equal(ts.store.head().seq, committed, 'the failed append consumed no seq');
    assert.equal(verifyStore(ts.store).ok, true);

    rmSync(filler);
    const resumed = await ts.store.record({ action: 'audit.recording_started', details: { reason: 'disk space returned' } });
    assert.equal(resumed.seq, committed + 1);
    await ts.store.close();
    const again = await ts.reopen();
    const r = verifyStore(again);
    assert.equal(r.ok, true, JSON.stringify(r.problem));
    assert.equal(r.verified, committed + 1);
  } finally {
    await ts.cleanup();
    execFileSync('umount', [mnt]);
    rmSync(mnt, { recursive: true, force: true });
  }
});

test('a database folder on a read-only mount is refused with a clear error, and works again once writable', async (t) => {
  const ts = await openTestStore('readonly');
  const ro = mkdtempSync(join(tmpdir(), 'cwa-robind-'));
  try {
    for (let i = 0; i < 5; i++) await ts.store.record({ action: 'session.unlock', user: 'nurse-0006', method: 'badge' });
    await ts.store.close();
    try {
      execFileSync('mount', ['--bind', ts.dir, ro], { stdio: 'ignore' });
      execFileSync('mount', ['-o', 'remount,ro,bind', ro], { stdio: 'ignore' });
    } catch {
      t.skip('bind-mounting read-only needs root (CAP_SYS_ADMIN); not available here');
      return;
    }
    try {
      const path = join(ro, 'audit.db');
      await assert.rejects(openAuditBuffer({ path, keyStore: ts.keyStore, machineId: ts.machineId }), (err: AuditStoreError) => {
        assert.ok(['read-only', 'io'].includes(err.code), `${err.code}: ${err.message}`);
        assert.ok(err.message.includes(path));
        return true;
      });
    } finally {
      execFileSync('umount', [ro]);
    }
    const again = await ts.reopen();
    assert.equal((await again.record({ action: 'session.lock', user: 'nurse-0006', method: 'manual' })).seq, 6);
    assert.equal(verifyStore(again).verified, 6);
  } finally {
    await ts.cleanup();
    rmSync(ro, { recursive: true, force: true });
  }
});
