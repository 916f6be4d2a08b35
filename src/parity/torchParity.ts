import type { GoldenCase } from '../golden/load.ts';
import { DTYPES, type DType } from '../tensor/dtype.ts';
import type { ComparisonRecord, Side } from '../tolerance/compare.ts';
import { comparePair, type Pair } from './compareResults.ts';
import { runTs, type Results, type TsRun } from './results.ts';

/** The TypeScript model run on a golden's inputs in both precisions. */
export function runTsOnGolden(golden: GoldenCase): Record<DType, TsRun> {
  return Object.fromEntries(DTYPES.map((d) => [d, runTs(golden.spec, golden.inputs, d)])) as Record<DType, TsRun>;
}

/**
 * The comparisons against PyTorch's golden, each answering one question:
 * - ts vs torch in the same precision: does the implementation match PyTorch?
 * - ts:float32 vs torch:float64: is the TS float32 error within its own budget?
 * - torch:float32 vs torch:float64: is the golden consistent with itself?
 * Holding float32 against the float64 reference tells "my error" from "their error".
 */
export const TORCH_COMPARISONS: readonly Pair[] = [
  { actual: { source: 'ts', dtype: 'float32' }, expected: { source: 'torch', dtype: 'float32' } },
  { actual: { source: 'ts', dtype: 'float64' }, expected: { source: 'torch', dtype: 'float64' } },
  { actual: { source: 'ts', dtype: 'float32' }, expected: { source: 'torch', dtype: 'float64' } },
  { actual: { source: 'torch', dtype: 'float32' }, expected: { source: 'torch', dtype: 'float64' } },
];

function resultsOf(side: Side, golden: GoldenCase, ts: Record<DType, TsRun>): Results {
  if (side.dtype === 'exact') throw new Error('an exact side has no stored results');
  return side.source === 'ts' ? ts[side.dtype].results : golden.expected[side.dtype];
}

/** Runs every comparison of TORCH_COMPARISONS on one golden. */
export function compareWithTorch(golden: GoldenCase, ts: Record<DType, TsRun> = runTsOnGolden(golden)): ComparisonRecord[] {
  return TORCH_COMPARISONS.flatMap((pair) =>
    comparePair(golden, ts, pair, resultsOf(pair.actual, golden, ts), resultsOf(pair.expected, golden, ts)),
  );
}
