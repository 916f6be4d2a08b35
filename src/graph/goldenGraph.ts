import type { ArithmeticModel } from '../tolerance/arithmetic.ts';
import type { GoldenCase } from '../golden/load.ts';
import { floatTarget } from '../ops/types.ts';
import type { TensorKey } from '../results/keys.ts';
import type { DType } from '../tensor/dtype.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { inputDifference, type Sides } from '../tolerance/roundoff.ts';
import { loadOnnxGraph } from './onnxFile.ts';
import { propagate } from './propagate.ts';
import { exactValue, graphValue, type GValue } from './values.ts';

/**
 * A stored input as the graph reads it: its values as the sides hold them (rounded to float32
 * when both sides compute in float32, so that magnitudes and branches are those they see), and
 * how far apart the two sides hold them.
 */
export function floatInput(t: Tensor, sides: Sides): GValue {
  const held = sides.every((s) => s === 'float32') ? Float64Array.from(t.data, Math.fround) : Float64Array.from(t.data);
  return graphValue('float', t.shape, held, inputDifference(t, sides));
}

/**
 * `compute(golden, sides)`, computed once per golden object and sides: a golden's bounds for
 * given sides never change. The values are shared, not copied.
 */
export function oncePerGoldenAndSides<G extends object, R>(compute: (golden: G, sides: Sides) => R): (golden: G, sides: Sides) => R {
  const cache = new WeakMap<G, Map<string, R>>();
  return (golden, sides) => {
    const mine = cache.get(golden) ?? new Map<string, R>();
    cache.set(golden, mine);
    const key = sides.join(':');
    if (!mine.has(key)) mine.set(key, compute(golden, sides));
    return mine.get(key)!;
  };
}

/**
 * The graph-derived values and bounds of every result of a golden's ONNX training graph, for a
 * comparison between `sides`, by result key (computed once per golden and sides).
 */
export const graphBounds: (golden: GoldenCase, sides: Sides) => ReadonlyMap<TensorKey, GValue> = oncePerGoldenAndSides(computeGraphBounds);

function computeGraphBounds(golden: GoldenCase, sides: Sides): Map<TensorKey, GValue> {
  const { x, target, params, lossGrad } = golden.inputs;
  const float = floatTarget(target);
  const given = new Map<string, GValue>([
    ['x', floatInput(x, sides)],
    ['target', float === null ? exactValue('int', [target.kind === 'class_indices' ? target.indices.length : 0], Float64Array.from(target.kind === 'class_indices' ? target.indices : [])) : floatInput(float, sides)],
    ...(lossGrad === undefined ? [] : [['lossGrad', floatInput(lossGrad, sides)] as const]),
    ...Object.entries(params).map(([name, t]) => [name, floatInput(t, sides)] as const),
  ]);
  return boundsOfGraph(golden.onnx.path, given, sides, golden.onnx.dtype as DType) as Map<TensorKey, GValue>;
}

/** The values and bounds of a graph file's outputs, by output name, from its inputs' values and differences. */
export function boundsOfGraph(path: string, given: ReadonlyMap<string, GValue>, sides: Sides, dtype: DType, models?: readonly ArithmeticModel[]): Map<string, GValue> {
  const graph = loadOnnxGraph(path);
  const env = propagate(graph, given, sides, dtype, models);
  return new Map(graph.outputs.map((name) => [name, env.get(name)!]));
}
