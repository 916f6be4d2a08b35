import type { ModelSpec } from '../nn/spec.ts';
import type { DType } from '../tensor/dtype.ts';
import { compareTensors, type ComparisonRecord, type Side } from '../tolerance/compare.ts';
import type { ErrorBound } from '../tolerance/errorBound.ts';
import type { MlpBounds } from '../tolerance/mlpBound.ts';
import { namedResultTensors, type Results } from './results.ts';

/** The bound of each named result tensor, under the same names namedResultTensors uses. */
function namedBounds(spec: ModelSpec, bounds: MlpBounds, dtype: DType, results: Results): Map<string, ErrorBound> {
  const names = namedResultTensors(spec, results, dtype).map(([name]) => name);
  const ordered = [bounds.loss, bounds.logits, ...bounds.preActivations, ...Object.keys(results.grads).map((g) => bounds.grads[g]!)];
  return new Map(names.map((name, i) => [name, ordered[i]!]));
}

/** Compares two result sets of one case tensor by tensor, each against its bound. */
export function compareResults(
  caseName: string,
  spec: ModelSpec,
  actual: { side: Side; results: Results },
  expected: { side: Side; results: Results },
  bounds: MlpBounds,
): ComparisonRecord[] {
  const dtypeOf = (s: Side): DType => (s.dtype === 'exact' ? 'float64' : s.dtype);
  const expectedTensors = new Map(namedResultTensors(spec, expected.results, dtypeOf(expected.side)));
  const boundByName = namedBounds(spec, bounds, dtypeOf(actual.side), actual.results);
  return namedResultTensors(spec, actual.results, dtypeOf(actual.side)).map(([tensor, value]) =>
    compareTensors(
      { case: caseName, tensor, actual: actual.side, expected: expected.side },
      value,
      expectedTensors.get(tensor)!,
      boundByName.get(tensor)!,
    ),
  );
}
