import { expect, type TaskMeta } from 'vitest';
import { attachReport } from './meta.ts';
import type { GoldenCase } from '../golden/load.ts';
import type { ModuleGolden } from '../golden/moduleGolden.ts';
import { compareKeyWithModuleGolden } from '../parity/moduleParity.ts';
import { asTensor, compareWithGolden, precisionOf, type YourTensor } from '../parity/yours.ts';
import { mismatchMessage } from '../report/message.ts';
import { dtypeOf, type DType } from '../tensor/dtype.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { compareTensors } from '../tolerance/compare.ts';
import type { ArithmeticModel } from '../tolerance/arithmetic.ts';
import { boundFrom, type ErrorBound } from '../tolerance/errorBound.ts';

export interface MatchGoldenOptions {
  /** The precision of a plain-number `received` (a typed array says its own). */
  readonly dtype?: DType;
  /**
   * Whether the comparison goes to the parity report (default true). Negated assertions never
   * do; pass false for an assertion that is meant to fail, e.g. inside `toThrow`.
   */
  readonly report?: boolean;
  /**
   * The arithmetic your implementation runs on: `ieee` (the default), `webgpu`, or a model of your
   * own (src/tolerance/arithmetic.ts). The bound then allows what that arithmetic may do (flushed
   * subnormals, WGSL's exp and log accuracy), and the message names the model.
   */
  readonly arithmetic?: ArithmeticModel | string;
}

interface GradparityMatchers<R = unknown> {
  /**
   * Holds your implementation's result to torch's golden value, within the bound derived for two
   * implementations of the same computation in the same precision. `name` is `loss`, `logits`,
   * `x` or a parameter's state_dict name (`0.weight`); the precision is the typed array's, or
   * `options.dtype` for a plain number. For a golden of your own model (`npm run capture`),
   * `name` is one of its keys (`loss`, `output`, `out.<submodule>`, `grad.<name>`), and the bound
   * is derived from the model's own training graph.
   */
  toMatchGolden: (golden: GoldenCase | ModuleGolden, name: string, options?: MatchGoldenOptions) => R;
  /** Holds a tensor to `expected` elementwise within `bound` (an ErrorBound, one number per element, or one for all). */
  toBeWithinBound: (expected: Tensor | ArrayLike<number>, bound: ErrorBound | ArrayLike<number> | number) => R;
}

declare module 'vitest' {
  interface Matchers<T = any> extends GradparityMatchers<T> {}
}

/** The running test, which vitest hands to matchers (not in its types): where the record goes for the parity reporter. */
type WithTask = { readonly task?: { readonly meta: TaskMeta }; readonly isNot: boolean };

expect.extend({
  toMatchGolden(this: WithTask, received: YourTensor, golden: GoldenCase | ModuleGolden, name: string, options: MatchGoldenOptions = {}) {
    // A name the golden lacks or a tensor of the wrong size cannot be compared: that throws, so
    // that `.not.toMatchGolden` cannot pass on it.
    const record = 'graphs' in golden
      ? compareKeyWithModuleGolden(golden, name, options.dtype ?? precisionOf(received, 'float64'), asTensor(received), options.arithmetic === undefined ? {} : { arithmetic: options.arithmetic })
      : compareWithGolden(golden, name, received, { ...(options.dtype === undefined ? {} : { dtype: options.dtype }), ...(options.arithmetic === undefined ? {} : { arithmetic: options.arithmetic }) });
    // Every comparison a matcher makes reaches the parity report, passing or not.
    if (this.task !== undefined && !this.isNot && options.report !== false) attachReport(this.task, { records: [record] });
    return {
      pass: record.verdict === 'pass',
      message: () => (record.verdict === 'pass' ? `${golden.name}: ${record.tensor} is within its derived bound of torch's, expected it not to be` : mismatchMessage(record)),
    };
  },

  toBeWithinBound(received: YourTensor, expectedValue: Tensor | ArrayLike<number>, bound: ErrorBound | ArrayLike<number> | number) {
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
