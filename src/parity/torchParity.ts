import type { GoldenCase } from '../golden/load.ts';
import { DTYPES, type DType } from '../tensor/dtype.ts';
import type { ComparisonRecord, Side } from '../tolerance/compare.ts';
import { mlpBounds } from '../tolerance/mlpBound.ts';
import { compareResults } from './compareResults.ts';
import { runTs, type Results, type TsRun } from './results.ts';

/** The TypeScript model run on a golden's inputs in both precisions. */
export function runTsOnGolden(golden: GoldenCase): Record<DType, TsRun> {
  return Object.fromEntries(DTYPES.map((d) => [d, runTs(golden.spec, golden.inputs, d)])) as Record<DType, TsRun>;
}

/**
 * The comparisons against PyTorch, each answering one question:
 * - ts vs torch in the same precision: does the implementation match PyTorch?
 * - ts:float32 vs torch:float64: is the TS float32 error within its own budget?
 * - torch:float32 vs torch:float64: is the golden consistent with itself?
 * Splitting float32 against the float64 reference tells "my error" from "their error".
 */
export const TORCH_COMPARISONS: readonly { actual: Side; expected: Side }[] = [
  { actual: { source: 'ts', dtype: 'float32' }, expected: { source: 'torch', dtype: 'float32' } },
  { actual: { source: 'ts', dtype: 'float64' }, expected: { source: 'torch', dtype: 'float64' } },
  { actual: { source: 'ts', dtype: 'float32' }, expected: { source: 'torch', dtype: 'float64' } },
  { actual: { source: 'torch', dtype: 'float32' }, expected: { source: 'torch', dtype: 'float64' } },
];

function resultsOf(side: Side, golden: GoldenCase, ts: Record<DType, TsRun>): Results {
  if (side.dtype === 'exact') throw new Error('an exact side has no stored results');
  if (side.source === 'ts') return ts[side.dtype].results;
  if (side.source === 'torch') return golden.expected[side.dtype];
  throw new Error(`unknown side ${side.source}`);
}

/** Runs every comparison of TORCH_COMPARISONS on one golden. */
export function compareWithTorch(golden: GoldenCase, ts: Record<DType, TsRun> = runTsOnGolden(golden)): ComparisonRecord[] {
  return TORCH_COMPARISONS.flatMap(({ actual, expected }) => {
    if (actual.dtype === 'exact' || expected.dtype === 'exact') return [];
    // Magnitudes come from the TS run in the coarser precision of the pair.
    const magnitudes = ts[actual.dtype === 'float32' || expected.dtype === 'float32' ? 'float32' : 'float64'];
    const actualResults = resultsOf(actual, golden, ts);
    const expectedResults = resultsOf(expected, golden, ts);
    const bounds = mlpBounds({
      fwd: magnitudes.fwd,
      bwd: magnitudes.bwd,
      stored: golden.inputs,
      sides: [actual.dtype, expected.dtype],
      preActivations: [actualResults.preActivations, expectedResults.preActivations],
    });
    return compareResults(golden.name, golden.spec, { side: actual, results: actualResults }, { side: expected, results: expectedResults }, bounds);
  });
}
