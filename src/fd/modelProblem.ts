import type { GoldenCase } from '../golden/load.ts';
import { modelBounds } from '../model/bounds.ts';
import { branchFingerprint, forward, runModel } from '../model/sequential.ts';
import { gradKey } from '../results/keys.ts';
import type { DType } from '../tensor/dtype.ts';
import { cast, type NamedTensors } from '../tensor/tensor.ts';
import { totals } from '../tolerance/errorBound.ts';
import type { Evaluation, FdProblem } from './engine.ts';

/**
 * A golden's model as a finite-difference problem: the TS loss as a function of x and every
 * parameter, evaluated in `dtype`, with the TS analytic gradient to check (or `analyticOverride`,
 * to check another). ε_f and the gradient's own error come from the running error analysis of the
 * same run, against exact arithmetic. Each evaluation's branch fingerprint is every branching
 * module's (ReLU's activation pattern), so that a step across a kink is recognised.
 */
export function modelProblem(golden: GoldenCase, dtype: DType, analyticOverride?: NamedTensors): FdProblem {
  const { spec, inputs } = golden;
  const run = runModel(spec, inputs, dtype);
  const bounds = modelBounds({ fwd: run.fwd, bwd: run.bwd, stored: run.fwd.inputs, sides: [dtype, 'exact'] });
  const point: NamedTensors = { x: cast(inputs.x, dtype) };
  for (const [name, t] of Object.entries(inputs.params)) point[name] = cast(t, dtype);
  const objective = (p: NamedTensors): Evaluation => {
    const { x, ...params } = p;
    const fwd = forward(spec, { x: x!, target: inputs.target, params }, dtype);
    return { value: fwd.loss, branches: branchFingerprint(fwd) };
  };
  return {
    dtype,
    point,
    objective,
    lossError: totals(bounds.get('loss')!)[0]!,
    analytic: analyticOverride ?? run.bwd.grads,
    analyticError: Object.fromEntries(Object.keys(point).map((name) => [name, totals(bounds.get(gradKey(name))!)])),
  };
}
