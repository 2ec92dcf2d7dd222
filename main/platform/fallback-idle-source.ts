// Linux idle time from the best source there is: D-Bus (Mutter, ScreenSaver, logind) when
// one answers, else Electron's powerMonitor (X11's screensaver extension). Without the
// fallback a desktop with none of those D-Bus services (a bare X11 window manager, a kiosk
// session) would read "no evidence of input" and lock every session at once. Screen lock,
// unlock and sleep come from D-Bus either way: Electron has no lock events on Linux.
import type { Disposable } from '../disposable';
import type { IdleSource, PowerEvent } from '../session/ports';

export interface PreferredIdleSource extends IdleSource {
  /** Which source answers, or null when none has. */
  readonly source: string | null;
}

export class FallbackIdleSource implements IdleSource {
  constructor(
    private readonly preferred: PreferredIdleSource,
    private readonly fallback: IdleSource,
  ) {}

  /** Which source idle time comes from now, for the log and the status window. */
  get using(): string {
    return this.preferred.source ?? 'fallback';
  }

  idleMs(): number {
    return this.preferred.source !== null ? this.preferred.idleMs() : this.fallback.idleMs();
  }

  onPowerEvent(listener: (event: PowerEvent) => void): Disposable {
    return this.preferred.onPowerEvent(listener);
  }
}
