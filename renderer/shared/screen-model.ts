// What a screen is, as plain data: the lock and enrol page models produce it, the screen
// renderer (screen.ts) turns it into DOM. No DOM here, so models are tested under Node.

export interface ScreenAction<A extends string> {
  readonly id: A;
  readonly label: string;
  readonly primary?: boolean;
}

export interface Countdown {
  readonly seconds: number;
  /** Page clock (performance.now) when `seconds` was true. */
  readonly from: number;
  readonly style: 'lock' | 'key' | 'emergency';
}

export interface ScreenBase<A extends string, I> {
  readonly id: string;
  readonly tone: 'calm' | 'attention' | 'alert' | 'emergency';
  readonly heading: string;
  readonly lines: readonly string[];
  readonly alert: string | null;
  readonly input: I | null;
  readonly countdown: Countdown | null;
  readonly actions: readonly ScreenAction<A>[];
  readonly footer: readonly ScreenAction<A>[];
}

