import type { ModuleGolden } from '../golden/moduleGolden.ts';
import { moduleGraphBounds } from '../graph/moduleGraph.ts';
import { runModuleGraph } from '../onnx/moduleOracle.ts';
import { OnnxKernelMissing } from '../onnx/oracle.ts';
import type { DType } from '../tensor/dtype.ts';
import { sameShape, type Tensor } from '../tensor/tensor.ts';
import { compareTensors, type ComparisonRecord, type Side } from '../tolerance/compare.ts';
import { arithmeticModel, IEEE, type ArithmeticModel } from '../tolerance/arithmetic.ts';
import type { Sides } from '../tolerance/roundoff.ts';

// Parity for a model you captured yourself: every comparison is held to the bound derived from
// the model's own training graph (Note [Bounds from the graph]), key by key.

/** Your tensors by key, plain: anything with a shape and numbers (a Tensor, a tfjs dataSync() pair, …). */
export type TensorsByKey = Readonly<Record<string, { readonly shape: readonly number[]; readonly data: ArrayLike<number> }>>;

function records(golden: ModuleGolden, actual: Side, expected: Side, a: ReadonlyMap<string, Tensor>, e: ReadonlyMap<string, Tensor>, models?: readonly [ArithmeticModel, ArithmeticModel]): ComparisonRecord[] {
  const sides: Sides = [actual.dtype as DType, expected.dtype as DType];
  const bounds = moduleGraphBounds(golden, sides, models);
  return [...e.keys()].map((key) => {
    const [x, y, b] = [a.get(key), e.get(key), bounds.get(key)];
    if (x === undefined || y === undefined || b === undefined) throw new RangeError(`${golden.name}: ${key} is missing from ${x === undefined ? actual.source : y === undefined ? expected.source : 'the graph'}'s results`);
    return compareTensors({ case: golden.name, file: golden.file, tensor: key, actual, expected }, x, y, b.bound);
  });
}

/**
 * The golden's own consistency: torch float32 against float64, and onnxruntime running each
 * precision's graph against torch, each element within the graph-derived bound. A capture is
 * refused unless every record passes (the export and its decompositions reproduce autograd).
 */
export async function checkModuleGolden(golden: ModuleGolden): Promise<ComparisonRecord[]> {
  const torch = (dtype: DType): Side => ({ source: 'torch', dtype });
  const out = records(golden, torch('float32'), torch('float64'), golden.expected.float32, golden.expected.float64);
  for (const dtype of ['float32', 'float64'] as const) {
    let ort: Map<string, Tensor>;
    try {
      ort = await runModuleGraph(golden, dtype);
    } catch (err) {
      if (err instanceof OnnxKernelMissing) continue; // onnxruntime cannot run it: not a check, not a failure
      throw err;
    }
    out.push(...records(golden, { source: 'onnx', dtype }, torch(dtype), ort, golden.expected[dtype]));
  }
  return out;
}

/**
 * Your implementation's tensors against the golden in `dtype`, by key, each element within the
 * graph-derived bound of a same-precision comparison. Every key of the golden must be given, with
 * its shape; a key the golden does not have is an error too (a typo would check nothing).
 */
export function compareWithModuleGolden(golden: ModuleGolden, dtype: DType, yours: TensorsByKey, options: { arithmetic?: ArithmeticModel | string } = {}): ComparisonRecord[] {
  const expected = golden.expected[dtype];
  const unknown = Object.keys(yours).filter((k) => !expected.has(k));
  if (unknown.length > 0) throw new RangeError(`${golden.file}: no key ${unknown.join(', ')} in the golden (it has ${[...expected.keys()].join(', ')})`);
  const given = new Map<string, Tensor>();
  for (const [key, t] of expected) {
    const mine = yours[key];
    if (mine === undefined) throw new RangeError(`${golden.file}: your results have no ${key} (the golden has ${[...expected.keys()].join(', ')})`);
    if (!sameShape(mine.shape, t.shape)) throw new RangeError(`${golden.file}: your ${key} has shape [${mine.shape.join(', ')}], the golden's is [${t.shape.join(', ')}]`);
    given.set(key, { shape: [...mine.shape], data: Float64Array.from(mine.data) });
  }
  const { side, models } = yourSide(dtype, options.arithmetic);
  return records(golden, side, { source: 'torch', dtype }, given, expected, models);
}

/** Your side, on the arithmetic you name (Note [Arithmetic models]); torch's is IEEE. */
function yourSide(dtype: DType, arithmetic: ArithmeticModel | string | undefined): { side: Side; models?: readonly [ArithmeticModel, ArithmeticModel] } {
  if (arithmetic === undefined) return { side: { source: 'yours', dtype } };
  const model = arithmeticModel(arithmetic);
  return model === IEEE ? { side: { source: 'yours', dtype } } : { side: { source: 'yours', dtype, arithmetic: model.name }, models: [model, IEEE] };
}

/**
 * One of your tensors against the golden's tensor of the same key in `dtype`, within the bound a
 * same-precision comparison derives from the model's graph (what toMatchGolden does for a module golden).
 */
export function compareKeyWithModuleGolden(
  golden: ModuleGolden, key: string, dtype: DType, value: { readonly shape: readonly number[]; readonly data: ArrayLike<number> }, options: { arithmetic?: ArithmeticModel | string } = {},
): ComparisonRecord {
  const expected = golden.expected[dtype].get(key);
  if (expected === undefined) throw new RangeError(`${golden.file}: no key ${key} in the golden (it has ${[...golden.expected[dtype].keys()].join(', ')})`);
  if (value.data.length !== expected.data.length) throw new RangeError(`${golden.file}: your ${key} has ${value.data.length} elements, the golden's has ${expected.data.length} (shape [${expected.shape.join(', ')}])`);
  const { side, models } = yourSide(dtype, options.arithmetic);
  const bound = moduleGraphBounds(golden, [dtype, dtype], models).get(key)!;
  return compareTensors({ case: golden.name, file: golden.file, tensor: key, actual: side, expected: { source: 'torch', dtype } }, { shape: expected.shape, data: Float64Array.from(value.data) }, expected, bound.bound);
}
