import type { ArithmeticModel } from '../tolerance/arithmetic.ts';
import type { GoldenCase } from '../golden/load.ts';
import { modelBounds, type Bounds } from '../model/bounds.ts';
import { resultKeys, runModel, type ModelRun } from '../model/sequential.ts';
import type { Results } from '../results/keys.ts';
import { coarserDtype, DTYPES, type DType } from '../tensor/dtype.ts';
import { compareTensors, type ComparisonRecord } from '../tolerance/compare.ts';
import { TORCH_PAIRS, type Pair } from './pairs.ts';

/** The TypeScript reference run on a golden's inputs, in both precisions. */
export type ReferenceRuns = Readonly<Record<DType, ModelRun>>;

export function referenceRuns(golden: GoldenCase): ReferenceRuns {
  return Object.fromEntries(DTYPES.map((d) => [d, runModel(golden.spec, golden.inputs, d)])) as Record<DType, ModelRun>;
}

/**
 * The bounds of |actual − expected| for every tensor of a pair. Magnitudes come from the TS run in
 * the coarser of the two precisions; branch allowances from both sides' module outputs.
 */
export function pairBounds(golden: GoldenCase, ts: ReferenceRuns, pair: Pair, actual: Results, expected: Results, models?: readonly [ArithmeticModel, ArithmeticModel]): Bounds {
  const run = ts[coarserDtype(pair.actual.dtype, pair.expected.dtype)];
  return modelBounds({ fwd: run.fwd, bwd: run.bwd, stored: golden.inputs, sides: [pair.actual.dtype, pair.expected.dtype], sideResults: [actual, expected], ...(models === undefined ? {} : { models }) });
}

/** Compares two result sets of one golden key by key, each element against its derived bound. */
export function comparePair(golden: GoldenCase, ts: ReferenceRuns, pair: Pair, actual: Results, expected: Results, models?: readonly [ArithmeticModel, ArithmeticModel]): ComparisonRecord[] {
  const bounds = pairBounds(golden, ts, pair, actual, expected, models);
  return resultKeys(golden.spec).map((key) => {
    const [a, e, b] = [actual.get(key), expected.get(key), bounds.get(key)];
    if (a === undefined || e === undefined || b === undefined) throw new RangeError(`${golden.name}: ${key} is missing from ${a === undefined ? 'the actual' : e === undefined ? 'the expected' : 'the bounds'} results`);
    return compareTensors({ case: golden.name, file: golden.file, tensor: key, actual: pair.actual, expected: pair.expected }, a, e, b);
  });
}

/** One side's results: the TS reference run's, or torch's golden. */
function sideResults(golden: GoldenCase, ts: ReferenceRuns, side: Pair['actual']): Results {
  if (side.dtype === 'exact') throw new RangeError('an exact side has no stored results');
  if (side.source === 'ts') return ts[side.dtype].results;
  if (side.source === 'torch') return golden.expected[side.dtype].results;
  throw new RangeError(`no stored results for ${side.source}`);
}

/** Every comparison of TORCH_PAIRS on one golden: the TS reference and the golden against each other. */
export function compareWithTorch(golden: GoldenCase, ts: ReferenceRuns = referenceRuns(golden)): ComparisonRecord[] {
  return TORCH_PAIRS.flatMap((pair) => comparePair(golden, ts, pair, sideResults(golden, ts, pair.actual), sideResults(golden, ts, pair.expected)));
}
