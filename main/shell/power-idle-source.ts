// The production IdleSource: Electron's powerMonitor (system idle time and the suspend,
// resume and screen-lock events). Only the Electron part lives here; the seconds-to-ms
// estimate is plain Node in main/session/idle-estimate.ts.
import { powerMonitor } from 'electron';
import { toDisposable, type Disposable } from '../disposable';
import type { Clock } from '../platform/clock';
import { WholeSecondIdleEstimate } from '../session/idle-estimate';
import type { IdleSource, PowerEvent } from '../session/ports';

const POWER_EVENTS: readonly PowerEvent[] = ['suspend', 'resume', 'lock-screen', 'unlock-screen'];

export class PowerMonitorIdleSource implements IdleSource {
  private readonly estimate = new WholeSecondIdleEstimate();

  constructor(private readonly clock: Clock) {}

  idleMs(): number {
    return this.estimate.read(powerMonitor.getSystemIdleTime(), this.clock.monotonicMs());
  }

  onPowerEvent(listener: (event: PowerEvent) => void): Disposable {
    const handlers = POWER_EVENTS.map((event) => {
      const handler = (): void => listener(event);
      // The overloads are per event name; the names are checked by the PowerEvent type.
      powerMonitor.on(event as 'suspend', handler);
      return { event, handler };
    });
    return toDisposable(() => {
      for (const { event, handler } of handlers) powerMonitor.off(event as 'suspend', handler);
    });
  }
}
