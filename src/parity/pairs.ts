import type { GoldenCase } from '../golden/load.ts';
import { DTYPES, type DType } from '../tensor/dtype.ts';
import type { Side } from '../tolerance/compare.ts';

/** Two computations of one case to compare, e.g. ts:float32 against torch:float32. */
export interface Pair {
  readonly actual: Side;
  readonly expected: Side;
}

/**
 * The comparisons against PyTorch's golden, each answering one question:
 * - ts vs torch in the same precision: does the implementation match PyTorch?
 * - ts:float32 vs torch:float64: is the TS float32 error within its own budget?
 * - torch:float32 vs torch:float64: is the golden consistent with itself?
 * Holding float32 against the float64 reference tells "my error" from "their error".
 */
export const TORCH_PAIRS: readonly Pair[] = [
  { actual: { source: 'ts', dtype: 'float32' }, expected: { source: 'torch', dtype: 'float32' } },
  { actual: { source: 'ts', dtype: 'float64' }, expected: { source: 'torch', dtype: 'float64' } },
  { actual: { source: 'ts', dtype: 'float32' }, expected: { source: 'torch', dtype: 'float64' } },
  { actual: { source: 'torch', dtype: 'float32' }, expected: { source: 'torch', dtype: 'float64' } },
];

/**
 * The comparisons with onnxruntime running autograd's exported graph, in the graph's precision:
 * ts vs onnx holds the implementation to a live oracle with different kernels; onnx vs torch the
 * export and the runtime to the golden. Read with ts vs torch: TS ≠ torch but TS = onnx points
 * at a stale golden; onnx ≠ torch alone points at the export.
 */
export function onnxPairs(dtype: DType): Pair[] {
  const onnx = { source: 'onnx', dtype };
  return [
    { actual: { source: 'ts', dtype }, expected: onnx },
    { actual: onnx, expected: { source: 'torch', dtype } },
  ];
}

/** Finite differences of the TS loss against the TS analytic gradient, in each precision. */
export const FD_PAIRS: readonly Pair[] = DTYPES.map((dtype) => ({ actual: { source: 'fd', dtype }, expected: { source: 'ts', dtype } }));

/** Every pair the main job compares on a golden, as data: the report's matrix, the console summary and the mutant runner are built from it. */
export function mainJobPairs(golden: GoldenCase): Pair[] {
  return [...TORCH_PAIRS, ...onnxPairs(golden.onnx.dtype), ...FD_PAIRS];
}
