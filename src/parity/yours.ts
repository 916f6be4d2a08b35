import type { GoldenCase } from '../golden/load.ts';
import { dtypeOf, type DType } from '../tensor/dtype.ts';
import { scalar, tensor, type Tensor } from '../tensor/tensor.ts';
import { compareTensors, type ComparisonRecord } from '../tolerance/compare.ts';
import { mlpBounds } from '../tolerance/mlpBound.ts';
import { namedBounds } from './compareResults.ts';
import { namedResultTensors, runTs, type TsRun } from './results.ts';

/** What an implementation hands in for one tensor: a Tensor, a bare typed array, or a number (the loss). */
export type YourTensor = Tensor | Float32Array | Float64Array | number;

/** The precision a value was computed in: its typed array's, or `fallback` for a plain number. */
export function precisionOf(value: YourTensor, fallback: DType): DType {
  if (typeof value === 'number') return fallback;
  return dtypeOf('data' in value ? value.data : value);
}

/**
 * A value as a Tensor: a number is a scalar in `dtype`, a typed array keeps its precision, other
 * arrays become float64; bare arrays take `shape` (by default one axis).
 */
export function asTensor(value: YourTensor | ArrayLike<number>, shape?: readonly number[], dtype: DType = 'float64'): Tensor {
  if (typeof value === 'number') return scalar(dtype, value);
  if ('data' in value && 'shape' in value) return value as Tensor;
  const data = value instanceof Float32Array || value instanceof Float64Array ? value : Float64Array.from(value as ArrayLike<number>);
  return tensor(dtypeOf(data), shape ?? [data.length], data);
}

// The TS reference run of a golden gives the magnitudes every bound is built from; it is the
// same for every tensor of the golden, so it is made once per golden and precision.
const referenceRuns = new WeakMap<GoldenCase, Partial<Record<DType, TsRun>>>();

function referenceRun(golden: GoldenCase, dtype: DType): TsRun {
  const runs = referenceRuns.get(golden) ?? {};
  runs[dtype] ??= runTs(golden.spec, golden.inputs, dtype);
  referenceRuns.set(golden, runs);
  return runs[dtype];
}

/** `loss`, `logits`, `output[<module>]`, or a gradient by its state_dict name (`x`, `0.weight`). */
function resultName(name: string): string {
  return name === 'loss' || name === 'logits' || name.startsWith('output[') ? name : `grad[${name}]`;
}

/**
 * Holds your implementation's value of one tensor to torch's golden value, element by element,
 * within the bound derived for two implementations of the same computation in your precision
 * (the typed array's, or `options.dtype` for a plain number; by default the golden's).
 *
 * `name` is `loss`, `logits`, `x` or a parameter's state_dict name (`0.weight`). Your
 * implementation's own pre-activations are unknown, so a ReLU branch allowance is granted wherever
 * a pre-activation lies within its bound of 0. Throws a RangeError for a name the golden does not
 * have, listing the ones it has.
 */
export function compareWithGolden(golden: GoldenCase, name: string, value: YourTensor, options: { dtype?: DType } = {}): ComparisonRecord {
  const dtype = options.dtype ?? precisionOf(value, golden.dtype);
  const run = referenceRun(golden, dtype);
  const tensorName = resultName(name);
  const expected = new Map(namedResultTensors(golden.spec, golden.expected[dtype], dtype)).get(tensorName);
  if (expected === undefined) {
    throw new RangeError(`${golden.name} has no tensor ${name}; use loss, logits, x or one of ${Object.keys(golden.inputs.params).join(', ')}`);
  }
  const bounds = mlpBounds({ fwd: run.fwd, bwd: run.bwd, stored: golden.inputs, sides: [dtype, dtype], preActivations: [null, golden.expected[dtype].preActivations] });
  return compareTensors(
    { case: golden.name, file: golden.file, tensor: tensorName, actual: { source: 'yours', dtype }, expected: { source: 'torch', dtype } },
    asTensor(value, expected.shape, dtype),
    expected,
    namedBounds(golden.spec, bounds, dtype, run.results).get(tensorName)!,
  );
}
