// The lock windows' display plan, the warning's corner and the focus rule, under Node:
// after any sequence of displays coming, going and changing size, applying the plan leaves
// exactly one lock window per display, covering it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { displayAt, planDisplays, shouldReclaimFocus, warningBounds, WARNING_SIZE, type DisplayInfo, type Rect } from '../../../main/shell/window-layout';

function display(id: number, x: number, y: number, width = 1920, height = 1080): DisplayInfo {
  return { id, bounds: { x, y, width, height }, workArea: { x, y, width, height: height - 40 } };
}

function apply(windows: Map<number, Rect>, displays: readonly DisplayInfo[]): Map<number, Rect> {
  const plan = planDisplays(windows, displays);
  const next = new Map(windows);
  for (const id of plan.remove) next.delete(id);
  for (const d of plan.move) next.set(d.id, d.bounds);
  for (const d of plan.create) {
    assert.ok(!next.has(d.id), 'creates a second window for a display');
    next.set(d.id, d.bounds);
  }
  return next;
}

describe('lock windows per display', () => {
  it('adds, removes and moves windows as displays change', () => {
    let w = apply(new Map(), [display(1, 0, 0)]);
    assert.deepEqual([...w.keys()], [1]);
    w = apply(w, [display(1, 0, 0), display(2, 1920, 0, 1280, 1024)]);
    assert.deepEqual([...w.keys()].sort(), [1, 2]);
    const plan = planDisplays(w, [display(2, 0, 0, 1280, 1024)]);
    assert.deepEqual(plan.remove, [1]);
    assert.deepEqual(plan.move.map((d) => d.id), [2]);
    assert.deepEqual(plan.create, []);
    assert.deepEqual(planDisplays(w, [display(1, 0, 0), display(2, 1920, 0, 1280, 1024)]), { create: [], remove: [], move: [] });
  });

  it('any sequence of display changes ends with one covering window per display (random, 500 runs)', () => {
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (let run = 0; run < 500; run++) {
      let windows = new Map<number, Rect>();
      for (let step = 0; step < 6; step++) {
        const count = rand(4);
        const displays = Array.from({ length: count }, () => display(rand(5), rand(3) * 1920, 0, 1280 + rand(3) * 320, 1024));
        windows = apply(windows, displays);
        const wanted = new Map<number, Rect>();
        for (const d of displays) if (!wanted.has(d.id)) wanted.set(d.id, d.bounds);
        assert.deepEqual(new Map([...windows].sort((a, b) => a[0] - b[0])), new Map([...wanted].sort((a, b) => a[0] - b[0])));
      }
    }
  });
});

describe('idle warning placement', () => {
  it('sits in the bottom-right of the work area, above the taskbar', () => {
    const b = warningBounds({ x: 1920, y: 0, width: 1280, height: 984 });
    assert.deepEqual(b, { x: 1920 + 1280 - WARNING_SIZE.width - 16, y: 984 - WARNING_SIZE.height - 16, width: WARNING_SIZE.width, height: WARNING_SIZE.height });
  });

  it('stays inside a display smaller than the window', () => {
    const area = { x: -800, y: 0, width: 400, height: 200 };
    const b = warningBounds(area);
    assert.ok(b.x >= area.x && b.y >= area.y && b.x + b.width <= area.x + area.width && b.y + b.height <= area.y + area.height);
  });

  it('goes to the display under the cursor, or the nearest one', () => {
    const displays = [display(1, 0, 0), display(2, 1920, 0)];
    assert.equal(displayAt(displays, { x: 2000, y: 10 })?.id, 2);
    assert.equal(displayAt(displays, { x: 100, y: 500 })?.id, 1);
    assert.equal(displayAt(displays, { x: 5000, y: 10 })?.id, 2);
    assert.equal(displayAt([], { x: 0, y: 0 }), null);
  });
});

describe('keyboard focus while locked', () => {
  it('is taken back from other windows, never while a key ceremony runs or when unlocked', () => {
    assert.equal(shouldReclaimFocus({ locked: true, focusIsOurs: false, keyCeremony: false }), true);
    assert.equal(shouldReclaimFocus({ locked: true, focusIsOurs: true, keyCeremony: false }), false);
    assert.equal(shouldReclaimFocus({ locked: true, focusIsOurs: false, keyCeremony: true }), false);
    assert.equal(shouldReclaimFocus({ locked: false, focusIsOurs: false, keyCeremony: false }), false);
  });
});
