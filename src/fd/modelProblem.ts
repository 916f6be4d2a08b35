import type { GoldenCase } from '../golden/load.ts';
import { modelBounds, objectiveError } from '../model/bounds.ts';
import { branchFingerprint, forward, runModel } from '../model/sequential.ts';
import { gradKey } from '../results/keys.ts';
import type { DType } from '../tensor/dtype.ts';
import { cast, type NamedTensors } from '../tensor/tensor.ts';
import { totals } from '../tolerance/errorBound.ts';
import type { Evaluation, FdProblem } from './engine.ts';

/**
 * A golden's model as a finite-difference problem: the TS loss (the objective Σ lossGrad·loss for
 * an unreduced loss) as a function of x and every
 * parameter, evaluated in `dtype`, with the TS analytic gradient to check (or `analyticOverride`,
 * to check another). ε_f and the gradient's own error come from the running error analysis of the
 * same run, against exact arithmetic. Each evaluation's branch fingerprint is every branching
 * module's (ReLU's activation pattern), so that a step across a kink is recognised.
 */
export function modelProblem(golden: GoldenCase, dtype: DType, analyticOverride?: NamedTensors): FdProblem {
  const { spec, inputs } = golden;
  const run = runModel(spec, inputs, dtype);
  const sides = [dtype, 'exact'] as const;
  const bounds = modelBounds({ fwd: run.fwd, bwd: run.bwd, stored: run.fwd.inputs, sides });
  const point: NamedTensors = { x: cast(inputs.x, dtype) };
  for (const [name, t] of Object.entries(inputs.params)) point[name] = cast(t, dtype);
  const objective = (p: NamedTensors): Evaluation => {
    const { x, ...params } = p;
    const fwd = forward(spec, { ...inputs, x: x!, params }, dtype);
    return { value: fwd.objective, branches: branchFingerprint(fwd) };
  };
  return {
    dtype,
    point,
    objective,
    lossError: objectiveError(bounds, run.fwd, sides),
    analytic: analyticOverride ?? run.bwd.grads,
    analyticError: Object.fromEntries(Object.keys(point).map((name) => [name, totals(bounds.get(gradKey(name))!)])),
  };
}
