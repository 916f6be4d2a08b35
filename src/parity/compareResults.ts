import type { GoldenCase } from '../golden/load.ts';
import type { ModelSpec } from '../nn/spec.ts';
import { coarserDtype, type DType } from '../tensor/dtype.ts';
import { compareTensors, type ComparisonRecord, type Side } from '../tolerance/compare.ts';
import type { ErrorBound } from '../tolerance/errorBound.ts';
import { mlpBounds, type MlpBounds } from '../tolerance/mlpBound.ts';
import { namedResultTensors, type Results, type TsRun } from './results.ts';

/** Two computations of one case to compare, e.g. ts:float32 against torch:float32. */
export interface Pair {
  readonly actual: Side;
  readonly expected: Side;
}

const evalDtype = (s: Side): DType => (s.dtype === 'exact' ? 'float64' : s.dtype);

/** The bound of each named result tensor, under the names namedResultTensors uses. */
export function namedBounds(spec: ModelSpec, bounds: MlpBounds, dtype: DType, results: Results): Map<string, ErrorBound> {
  const names = namedResultTensors(spec, results, dtype).map(([name]) => name);
  const ordered = [bounds.loss, bounds.logits, ...bounds.preActivations, ...Object.keys(results.grads).map((g) => bounds.grads[g]!)];
  return new Map(names.map((name, i) => [name, ordered[i]!]));
}

/** The bounds of |actual − expected| for every result tensor of a pair. */
export function pairBounds(golden: GoldenCase, ts: Readonly<Record<DType, TsRun>>, pair: Pair, actual: Results, expected: Results): MlpBounds {
  const coarser = coarserDtype(pair.actual.dtype, pair.expected.dtype);
  return mlpBounds({
    fwd: ts[coarser].fwd,
    bwd: ts[coarser].bwd,
    stored: golden.inputs,
    sides: [pair.actual.dtype, pair.expected.dtype],
    preActivations: [actual.preActivations, expected.preActivations],
  });
}

/**
 * Compares two result sets of one golden tensor by tensor, each element against the bound of
 * |actual − expected| derived for this pair of precisions. Magnitudes come from the TS run in the
 * coarser of the two precisions; ReLU branch allowances from both sides' layer outputs.
 */
export function comparePair(
  golden: GoldenCase,
  ts: Readonly<Record<DType, TsRun>>,
  pair: Pair,
  actual: Results,
  expected: Results,
): ComparisonRecord[] {
  const bounds = pairBounds(golden, ts, pair, actual, expected);
  const { spec } = golden;
  const expectedTensors = new Map(namedResultTensors(spec, expected, evalDtype(pair.expected)));
  const boundByName = namedBounds(spec, bounds, evalDtype(pair.actual), actual);
  return namedResultTensors(spec, actual, evalDtype(pair.actual)).map(([tensor, value]) =>
    compareTensors(
      { case: golden.name, file: golden.file, tensor, actual: pair.actual, expected: pair.expected },
      value,
      expectedTensors.get(tensor)!,
      boundByName.get(tensor)!,
    ),
  );
}
