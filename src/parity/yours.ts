import type { GoldenCase } from '../golden/load.ts';
import { dtypeOf, type DType } from '../tensor/dtype.ts';
import { scalar, tensor, type Tensor } from '../tensor/tensor.ts';
import { modelBounds } from '../model/bounds.ts';
import { runModel, type ModelRun } from '../model/sequential.ts';
import { gradKey, type TensorKey } from '../results/keys.ts';
import { arithmeticModel, IEEE, type ArithmeticModel } from '../tolerance/arithmetic.ts';
import { compareTensors, type ComparisonRecord } from '../tolerance/compare.ts';

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
const referenceRuns = new WeakMap<GoldenCase, Partial<Record<DType, ModelRun>>>();

function referenceRun(golden: GoldenCase, dtype: DType): ModelRun {
  const runs = referenceRuns.get(golden) ?? {};
  runs[dtype] ??= runModel(golden.spec, golden.inputs, dtype);
  referenceRuns.set(golden, runs);
  return runs[dtype];
}

/** The key of what `name` asks for: `loss`, `logits` and `out.<m>` are keys already; any other name is a gradient's (`x`, `0.weight`). */
function keyOf(name: string): TensorKey {
  return name === 'loss' || name === 'logits' || /^out\.\d+$/.test(name) ? (name as TensorKey) : gradKey(name);
}

/**
 * Holds your implementation's value of one tensor to torch's golden value, element by element,
 * within the bound derived for two implementations of the same computation in your precision
 * (the typed array's, or `options.dtype` for a plain number; by default the golden's).
 *
 * `name` is `loss`, `logits`, `out.<module>`, `x` or a parameter's state_dict name (`0.weight`).
 * Your implementation's own module outputs are unknown, so a ReLU branch allowance is granted
 * wherever its input lies within its bound of 0. Throws a RangeError for a name the golden does
 * not have, listing the ones it has.
 */
export function compareWithGolden(golden: GoldenCase, name: string, value: YourTensor, options: { dtype?: DType; arithmetic?: ArithmeticModel | string } = {}): ComparisonRecord {
  const dtype = options.dtype ?? precisionOf(value, golden.dtype);
  // Your side runs on the model you name (a preset or your own); torch's on IEEE.
  const yours = options.arithmetic === undefined ? IEEE : arithmeticModel(options.arithmetic);
  const run = referenceRun(golden, dtype);
  const key = keyOf(name);
  const torch = golden.expected[dtype].results;
  const expected = torch.get(key);
  if (expected === undefined) {
    throw new RangeError(`${golden.name} has no tensor ${name}; use loss, logits, out.<module>, x or one of ${Object.keys(golden.inputs.params).join(', ')}`);
  }
  const bounds = modelBounds({ fwd: run.fwd, bwd: run.bwd, stored: golden.inputs, sides: [dtype, dtype], sideResults: [null, torch], models: [yours, IEEE] });
  return compareTensors(
    { case: golden.name, file: golden.file, tensor: key, actual: { source: 'yours', dtype, ...(yours === IEEE ? {} : { arithmetic: yours.name }) }, expected: { source: 'torch', dtype } },
    asTensor(value, expected.shape, dtype),
    expected,
    bounds.get(key)!,
  );
}
