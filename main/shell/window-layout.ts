// Where the agent's windows go, as plain functions of the displays (no electron import, so
// they are tested under Node): one lock window per display, kept in step as displays come,
// go and change size; the idle warning in the corner of the display in use.

export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface DisplayInfo {
  readonly id: number;
  readonly bounds: Rect;
  readonly workArea: Rect;
}

export interface DisplayPlan {
  /** Displays without a lock window yet. */
  readonly create: readonly DisplayInfo[];
  /** Windows whose display is gone. */
  readonly remove: readonly number[];
  /** Windows whose display moved or changed size. */
  readonly move: readonly DisplayInfo[];
}

/** What to do to the lock windows (keyed by display id, with their bounds) so every display has exactly one covering it. */
export function planDisplays(windows: ReadonlyMap<number, Rect>, displays: readonly DisplayInfo[]): DisplayPlan {
  const create: DisplayInfo[] = [];
  const move: DisplayInfo[] = [];
  const present = new Set<number>();
  for (const d of displays) {
    if (present.has(d.id)) continue;
    present.add(d.id);
    const current = windows.get(d.id);
    if (!current) create.push(d);
    else if (!sameRect(current, d.bounds)) move.push(d);
  }
  const remove = [...windows.keys()].filter((id) => !present.has(id));
  return { create, remove, move };
}

export const WARNING_SIZE = { width: 440, height: 240 } as const;

/** The idle warning: bottom-right of the work area (above the taskbar or dock), clamped to small displays. */
export function warningBounds(workArea: Rect, size: { width: number; height: number } = WARNING_SIZE, margin = 16): Rect {
  const width = Math.min(size.width, Math.max(1, workArea.width - 2 * margin));
  const height = Math.min(size.height, Math.max(1, workArea.height - 2 * margin));
  return {
    x: Math.round(workArea.x + Math.max(0, workArea.width - width - margin)),
    y: Math.round(workArea.y + Math.max(0, workArea.height - height - margin)),
    width: Math.round(width),
    height: Math.round(height),
  };
}

/** The display a point is on, or else the one nearest to it (the cursor can sit in a gap between displays). */
export function displayAt(displays: readonly DisplayInfo[], point: { x: number; y: number }): DisplayInfo | null {
  let best: DisplayInfo | null = null;
  let bestDistance = Infinity;
  for (const d of displays) {
    const b = d.bounds;
    const dx = Math.max(b.x - point.x, 0, point.x - (b.x + b.width - 1));
    const dy = Math.max(b.y - point.y, 0, point.y - (b.y + b.height - 1));
    const distance = dx * dx + dy * dy;
    if (distance < bestDistance) {
      best = d;
      bestDistance = distance;
    }
  }
  return best;
}

function sameRect(a: Rect, b: Rect): boolean {
  return a.x === b.x && a.y === b.y && a.width === b.width && a.height === b.height;
}

/**
 * Whether the lock windows take keyboard focus back (a badge reader types into whatever has
 * focus). Not while a security-key ceremony runs: on Windows and macOS the OS's own key
 * dialog takes focus for it, and taking focus back would cancel the ceremony.
 */
export function shouldReclaimFocus(s: { readonly locked: boolean; readonly focusIsOurs: boolean; readonly keyCeremony: boolean }): boolean {
  return s.locked && !s.focusIsOurs && !s.keyCeremony;
}
