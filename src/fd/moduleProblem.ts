import type { ModuleGolden } from '../golden/moduleGolden.ts';
import { moduleGraphBounds } from '../graph/moduleGraph.ts';
import type { DType } from '../tensor/dtype.ts';
import { cast, type NamedTensors, type Tensor } from '../tensor/tensor.ts';
import { totals } from '../tolerance/errorBound.ts';
import type { FdProblem } from './engine.ts';

/** Your loss as a function of the float inputs (by name) and the parameters (by state_dict name), evaluated in the problem's precision. */
export type YourLoss = (point: NamedTensors) => number;

/**
 * Finite differences of your own TS loss function at a captured model's float inputs and
 * parameters (every tensor the golden has a gradient for), against your analytic gradients by
 * the same names. The loss's error bound ε_f and the gradients' own error
 * bounds are the model's graph-derived bounds of a computation in `dtype` against exact
 * arithmetic (src/graph/): no hand derivation. `branches`, when given, fingerprints the piece
 * your function is on (a ReLU's activation pattern), so that a step across a kink is seen as one.
 */
export function moduleProblem(golden: ModuleGolden, dtype: DType, loss: YourLoss, analytic: Readonly<Record<string, Tensor>>, branches?: (params: NamedTensors) => string): FdProblem {
  const bounds = moduleGraphBounds(golden, [dtype, 'exact']);
  const point: NamedTensors = Object.fromEntries([...Object.entries(golden.inputs), ...Object.entries(golden.params)].map(([name, t]) => [name, cast(t, dtype)]));
  const lossBound = bounds.get('loss');
  if (lossBound === undefined) throw new RangeError(`${golden.file}: the graph has no loss output`);
  const analyticError = Object.fromEntries(Object.keys(point).map((name) => {
    const g = bounds.get(`grad.${name}`);
    if (g === undefined) throw new RangeError(`${golden.file}: the graph has no grad.${name}`);
    return [name, totals(g.bound)];
  }));
  for (const name of Object.keys(point)) {
    if (analytic[name] === undefined) throw new RangeError(`your analytic gradients have no ${name} (the golden has gradients of ${Object.keys(point).join(', ')})`);
  }
  return {
    dtype,
    point,
    objective: (p) => ({ value: loss(p), branches: branches?.(p) ?? '' }),
    lossError: totals(lossBound.bound)[0]!,
    analytic: Object.fromEntries(Object.keys(point).map((name) => [name, analytic[name]!])),
    analyticError,
  };
}
