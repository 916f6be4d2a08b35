import { expect } from 'vitest';
import type { GoldenCase } from '../golden/load.ts';
import { namedBounds } from '../parity/compareResults.ts';
import { namedResultTensors, runTs, type TsRun } from '../parity/results.ts';
import { mismatchMessage } from '../report/message.ts';
import { dtypeOf, type DType } from '../tensor/dtype.ts';
import { scalar, tensor, type Tensor } from '../tensor/tensor.ts';
import { compareTensors } from '../tolerance/compare.ts';
import { boundFrom, type ErrorBound } from '../tolerance/errorBound.ts';
import { mlpBounds } from '../tolerance/mlpBound.ts';

interface GradparityMatchers<R = unknown> {
  /**
   * Holds your implementation's result to torch's golden value, within the bound derived for two
   * implementations of the same computation in the same precision. `name` is `loss`, `logits`,
   * `x` or a parameter's state_dict name (`0.weight`); the precision is the typed array's, or
   * `options.dtype` for a plain number.
   */
  toMatchGolden: (golden: GoldenCase, name: string, options?: { dtype?: DType }) => R;
  /** Holds a tensor to `expected` elementwise within `bound` (an ErrorBound, one number per element, or one for all). */
  toBeWithinBound: (expected: Tensor | ArrayLike<number>, bound: ErrorBound | ArrayLike<number> | number) => R;
}

declare module 'vitest' {
  interface Matchers<T = any> extends GradparityMatchers<T> {}
}

type Received = Tensor | Float32Array | Float64Array | number;

function asTensor(value: Received | ArrayLike<number>, shape?: readonly number[], dtype: DType = 'float64'): Tensor {
  if (typeof value === 'number') return scalar(dtype, value);
  if ('data' in value && 'shape' in value) return value as Tensor;
  const data = value instanceof Float32Array || value instanceof Float64Array ? value : Float64Array.from(value as ArrayLike<number>);
  return tensor(dtypeOf(data), shape ?? [data.length], data);
}

const magnitudeRuns = new WeakMap<GoldenCase, Partial<Record<DType, TsRun>>>();

function tsRun(golden: GoldenCase, dtype: DType): TsRun {
  const runs = magnitudeRuns.get(golden) ?? {};
  runs[dtype] ??= runTs(golden.spec, golden.inputs, dtype);
  magnitudeRuns.set(golden, runs);
  return runs[dtype];
}

function goldenTensorName(name: string): string {
  return name === 'loss' || name === 'logits' || name.startsWith('output[') ? name : `grad[${name}]`;
}

expect.extend({
  toMatchGolden(received: Received, golden: GoldenCase, name: string, options: { dtype?: DType } = {}) {
    const dtype: DType = options.dtype ?? (typeof received === 'number' ? golden.dtype : dtypeOf(asTensor(received).data));
    const run = tsRun(golden, dtype);
    const tensorName = goldenTensorName(name);
    const expected = new Map(namedResultTensors(golden.spec, golden.expected[dtype], dtype)).get(tensorName);
    if (expected === undefined) {
      return { pass: false, message: () => `${golden.name} has no tensor ${name}; use loss, logits, x or one of ${Object.keys(golden.inputs.params).join(', ')}` };
    }
    // Your implementation's pre-activations are unknown, so ReLU branch allowances are granted
    // wherever a pre-activation is within its bound of 0.
    const bounds = mlpBounds({ fwd: run.fwd, bwd: run.bwd, stored: golden.inputs, sides: [dtype, dtype], preActivations: [null, golden.expected[dtype].preActivations] });
    const actual = asTensor(received, expected.shape, dtype);
    const record = compareTensors(
      { case: golden.name, tensor: tensorName, actual: { source: 'yours', dtype }, expected: { source: 'torch', dtype } },
      actual,
      expected,
      namedBounds(golden.spec, bounds, dtype, run.results).get(tensorName)!,
    );
    return {
      pass: record.verdict === 'pass',
      message: () => (record.verdict === 'pass' ? `${golden.name}: ${tensorName} is within its derived bound of torch's, expected it not to be` : mismatchMessage(record)),
    };
  },

  toBeWithinBound(received: Received, expectedValue: Tensor | ArrayLike<number>, bound: ErrorBound | ArrayLike<number> | number) {
    const actual = asTensor(received);
    const expected = asTensor(expectedValue, actual.shape);
    const n = actual.data.length;
    const errorBound: ErrorBound =
      typeof bound === 'number'
        ? boundFrom(actual.shape, 'arithmetic', new Float64Array(n).fill(bound))
        : 'parts' in bound
          ? bound
          : boundFrom(actual.shape, 'arithmetic', Float64Array.from(bound));
    const record = compareTensors(
      { case: 'toBeWithinBound', tensor: 'received', actual: { source: 'received', dtype: dtypeOf(actual.data) }, expected: { source: 'expected', dtype: dtypeOf(expected.data) } },
      actual,
      expected,
      errorBound,
    );
    return {
      pass: record.verdict === 'pass',
      message: () => (record.verdict === 'pass' ? 'expected the values not to be within the bound' : mismatchMessage(record)),
    };
  },
});
