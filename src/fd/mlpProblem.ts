import type { GoldenCase } from '../golden/load.ts';
import { forward } from '../nn/mlp.ts';
import { runTs } from '../parity/results.ts';
import type { DType } from '../tensor/dtype.ts';
import { cast, type NamedTensors } from '../tensor/tensor.ts';
import { totals } from '../tolerance/errorBound.ts';
import { mlpBounds } from '../tolerance/mlpBound.ts';
import type { Evaluation, FdProblem } from './engine.ts';

/**
 * Which ReLU inputs are > 0, eight to a character: equal strings, same linear piece. latin1 maps
 * every byte to its own character, so no two patterns share a string.
 */
export function activationPattern(pre: ArrayLike<number>): string {
  const bits = Buffer.alloc(Math.ceil(pre.length / 8));
  for (let i = 0; i < pre.length; i++) if (pre[i]! > 0) bits[i >> 3]! |= 1 << (i & 7);
  return bits.toString('latin1');
}

/**
 * The TS MLP as a finite-difference problem: the loss as a function of x and every parameter,
 * evaluated in `dtype`, with the TS analytic gradient to check. ε_f and the gradient's own error
 * come from the running error analysis of the same run, against exact arithmetic.
 */
export function mlpProblem(golden: GoldenCase, dtype: DType, analyticOverride?: NamedTensors): FdProblem {
  const { spec, inputs } = golden;
  const run = runTs(spec, inputs, dtype);
  const bounds = mlpBounds({ fwd: run.fwd, bwd: run.bwd, stored: run.fwd.inputs, sides: [dtype, 'exact'] });
  const point: NamedTensors = { x: cast(inputs.x, dtype) };
  for (const [name, t] of Object.entries(inputs.params)) point[name] = cast(t, dtype);
  const objective = (p: NamedTensors): Evaluation => {
    const { x, ...params } = p;
    const fwd = forward(spec, { x: x!, target: inputs.target, params }, dtype);
    const branches = fwd.layers
      .filter((_, i) => spec.layers[i]!.activation === 'relu')
      .map((l) => activationPattern(l.pre.data))
      .join('|');
    return { value: fwd.loss, branches };
  };
  return {
    dtype,
    point,
    objective,
    lossError: totals(bounds.loss)[0]!,
    analytic: analyticOverride ?? run.results.grads,
    analyticError: Object.fromEntries(Object.entries(bounds.grads).map(([name, b]) => [name, totals(b)])),
  };
}
