// The Linux idle source falls back to powerMonitor only while no D-Bus source answers, and
// takes power events from D-Bus alone (so one sleep is never counted twice).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toDisposable } from '../../../main/disposable';
import { FallbackIdleSource, type PreferredIdleSource } from '../../../main/platform/fallback-idle-source';
import type { IdleSource, PowerEvent } from '../../../main/session/ports';

class Source implements PreferredIdleSource {
  source: string | null = null;
  idle = 0;
  readonly listeners = new Set<(e: PowerEvent) => void>();
  idleMs(): number {
    return this.idle;
  }
  onPowerEvent(l: (e: PowerEvent) => void) {
    this.listeners.add(l);
    return toDisposable(() => this.listeners.delete(l));
  }
}

test('reads D-Bus while a D-Bus source answers, powerMonitor otherwise; power events from D-Bus only', () => {
  const dbus = new Source();
  const power = new Source();
  const idle = new FallbackIdleSource(dbus, power as IdleSource);
  dbus.idle = Infinity;
  power.idle = 1200;
  assert.equal(idle.idleMs(), 1200);
  assert.equal(idle.using, 'fallback');
  dbus.source = 'mutter';
  dbus.idle = 300;
  assert.equal(idle.idleMs(), 300);
  assert.equal(idle.using, 'mutter');
  const seen: PowerEvent[] = [];
  const sub = idle.onPowerEvent((e) => seen.push(e));
  for (const l of dbus.listeners) l('lock-screen');
  assert.equal(power.listeners.size, 0);
  sub.dispose();
  assert.equal(dbus.listeners.size, 0);
  assert.deepEqual(seen, ['lock-screen']);
});
