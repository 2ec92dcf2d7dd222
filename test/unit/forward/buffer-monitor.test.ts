// The disk budget alarm: one audit.buffer_alarm per threshold crossing, a status flag, and
// never a deleted row.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseEventBody } from '../../../main/audit/event';
import type { AuditStore } from '../../../main/audit/store';
import { BufferMonitor } from '../../../main/forward/buffer-monitor';
import { openTestStore, type TestStore } from '../../support/audit-fixture';

let t: TestStore;
let store: AuditStore;

before(async () => {
  t = await openTestStore('buffer-monitor');
  store = t.store;
});
after(() => t.cleanup());

async function fill(n: number): Promise<void> {
  await Promise.all(Array.from({ length: n }, (_, i) => store.record({ action: 'session.lock', user: `nurse-${String(i).padStart(4, '0')}`, method: 'idle', details: { reason: 'idle' } })));
}

/** Alarms committed so far: a sentinel append commits after anything recorded before it. */
async function alarms(): Promise<number[]> {
  await store.record({ action: 'session.warning', user: 'nurse-0001' });
  const levels: number[] = [];
  for (let after = 0; ; ) {
    const rows = store.readAfter(after, 1000);
    if (rows.length === 0) break;
    for (const r of rows) {
      const e = parseEventBody(r.body);
      if (e.action === 'audit.buffer_alarm') levels.push(e.details.level as number);
    }
    after = rows[rows.length - 1]!.seq;
  }
  return levels;
}

test('one alarm per threshold crossed, a status flag, and every unacknowledged row kept', async () => {
  await fill(200);
  const bytes0 = store.stats().databaseBytes;
  const budgetBytes = Math.ceil(bytes0 / 0.85); // 85 % used: past 80, below 95
  const monitor = new BufferMonitor({ store, policy: { budgetBytes, alarmPercents: [80, 95], checkIntervalMs: 60_000 } });

  const first = monitor.check();
  assert.equal(first.alarmPercent, 80);
  assert.deepEqual(await alarms(), [80]);
  assert.equal(monitor.check().alarmPercent, 80);
  assert.deepEqual(await alarms(), [80], 'staying above 80 % does not alarm again');

  while (store.stats().databaseBytes < budgetBytes * 0.96) await fill(500);
  assert.equal(monitor.check().alarmPercent, 95);
  assert.deepEqual(await alarms(), [80, 95]);

  while (store.stats().databaseBytes < budgetBytes * 1.1) await fill(500);
  assert.equal(monitor.check().alarmPercent, 95);
  assert.deepEqual(await alarms(), [80, 95], 'over budget: no new alarm, and recording goes on');
  const s = store.stats();
  assert.equal(s.unacknowledged, s.lastSeq, 'no unacknowledged row was deleted');
  assert.equal(s.firstSeq, 1);
  assert.ok(monitor.status().percent > 100);
});

test('start() checks at once and re-checks on appends; stop() releases its timer and listener', async () => {
  const bytes = store.stats().databaseBytes;
  const before = (await alarms()).length;
  const monitor = new BufferMonitor({ store, policy: { budgetBytes: bytes * 10, alarmPercents: [50], checkIntervalMs: 60_000 }, minCheckIntervalMs: 0 });
  monitor.start();
  assert.equal(monitor.status().alarmPercent, null);
  monitor.stop();
  await fill(10);
  assert.equal((await alarms()).length, before);
});

test('a policy change (a new monitor told what was alarmed) does not alarm the same crossing again; a higher one still alarms', async () => {
  const bytes = store.stats().databaseBytes;
  const before = (await alarms()).length;
  const policy = { budgetBytes: Math.ceil(bytes / 0.85), alarmPercents: [80, 95], checkIntervalMs: 60_000 };
  const first = new BufferMonitor({ store, policy });
  assert.equal(first.check().alarmPercent, 80);
  assert.equal((await alarms()).length, before + 1);
  const second = new BufferMonitor({ store, policy, alreadyAlarmed: first.status().alarmPercent });
  assert.equal(second.check().alarmPercent, 80);
  assert.equal((await alarms()).length, before + 1, 'the same crossing is not alarmed twice');
  // IT halves the budget: 95 % is crossed now, which is news.
  const third = new BufferMonitor({ store, policy: { ...policy, budgetBytes: Math.ceil(policy.budgetBytes / 2) }, alreadyAlarmed: second.status().alarmPercent });
  assert.equal(third.check().alarmPercent, 95);
  assert.deepEqual((await alarms()).slice(before), [80, 95]);
});
