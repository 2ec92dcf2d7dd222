// One benchmark figure, printed by `npm run bench` as a JSON line.
export interface BenchResult {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** The ceiling measured in the same run, where the benchmark has one. */
  readonly ceiling?: number;
  /** value / ceiling. */
  readonly ratio?: number;
  /** The target, for the reader: e.g. ">= 0.8 ratio". */
  readonly target?: string;
  readonly [extra: string]: unknown;
}

export type Emit = (result: BenchResult) => void;

export function withRatio(r: { name: string; value: number; unit: string; ceiling: number; target?: string; [extra: string]: unknown }): BenchResult {
  return { ...r, ratio: Number((r.value / r.ceiling).toFixed(3)) };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * `rounds` rounds, each measuring the ceiling and then the figure next to it (this
 * machine's speed drifts between runs): every round's numbers, and their medians.
 */
export async function alternatingRounds(
  rounds: number,
  ceiling: () => number | Promise<number>,
  value: () => Promise<number>,
): Promise<{ value: number; ceiling: number; runs: number[]; ceilingRuns: number[] }> {
  const runs: number[] = [];
  const ceilingRuns: number[] = [];
  for (let round = 0; round < rounds; round++) {
    ceilingRuns.push(await ceiling());
    runs.push(await value());
  }
  return { value: median(runs), ceiling: median(ceilingRuns), runs, ceilingRuns };
}

/**
 * The figure and its ceiling measured in `slices` short slices taken in turn, ABBA (the
 * ceiling first in even slices, the figure first in odd ones), each side's time summed:
 * this machine's disk and CPU slow down in phases of a second or more, and slices shorter
 * than a phase put it on both sides, where whole rounds put it on one. Each slice returns
 * the ms it took. The ratio of the sums is the ratio of the two rates.
 */
export async function abbaSlices(
  slices: number,
  ceiling: () => number | Promise<number>,
  value: () => Promise<number>,
): Promise<{ valueMs: number; ceilingMs: number; sliceRatios: number[] }> {
  let valueMs = 0;
  let ceilingMs = 0;
  const sliceRatios: number[] = [];
  for (let k = 0; k < slices; k++) {
    let c: number;
    let v: number;
    if (k % 2 === 0) {
      c = await ceiling();
      v = await value();
    } else {
      v = await value();
      c = await ceiling();
    }
    valueMs += v;
    ceilingMs += c;
    sliceRatios.push(Number((c / v).toFixed(2)));
  }
  return { valueMs, ceilingMs, sliceRatios };
}
