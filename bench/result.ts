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
