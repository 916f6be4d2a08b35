import type { GoldenCase } from '../golden/load.ts';
import { modelBounds, objectiveError } from '../model/bounds.ts';
import { branchFingerprint, castForward, forward, forwardOfCast, runModel, type ModelInputs, type ModelRun } from '../model/sequential.ts';
import type { ModelSpec } from '../model/spec.ts';
import { gradKey } from '../results/keys.ts';
import { ArrayRecycler, dtypeOf, type DType } from '../tensor/dtype.ts';
import { cast, type NamedTensors } from '../tensor/tensor.ts';
import { IEEE, type ArithmeticModel } from '../tolerance/arithmetic.ts';
import { totals } from '../tolerance/errorBound.ts';
import type { Evaluation, FdProblem, Objective } from './engine.ts';
import { IncrementalModel } from './incrementalModel.ts';

/**
 * Everything a model's finite-difference problem is made of, as plain data (typed arrays and
 * JSON): what a worker thread receives to build the same problem (src/fd/parallel.ts).
 */
export interface ModelProblemData {
  readonly spec: ModelSpec;
  readonly inputs: ModelInputs;
  readonly dtype: DType;
  readonly lossError: number;
  readonly analytic: NamedTensors;
  readonly analyticError: Readonly<Record<string, Float64Array>>;
}

/**
 * A golden's model as a finite-difference problem: the TS loss (the objective Σ lossGrad·loss for
 * an unreduced loss) as a function of x and every
 * parameter, evaluated in `dtype`, with the TS analytic gradient to check (or `analyticOverride`,
 * to check another). ε_f and the gradient's own error come from the running error analysis of the
 * same run, against exact arithmetic. Each evaluation's branch fingerprint is every branching
 * module's (ReLU's activation pattern), so that a step across a kink is recognised.
 */
export function modelProblem(golden: GoldenCase, dtype: DType, analyticOverride?: NamedTensors): FdProblem {
  return problemFromData(modelProblemData(golden, dtype, analyticOverride));
}

/** modelProblem's parts: the TS run, its bounds, and the gradient to check; any model and inputs, a golden's or not. */
export function modelProblemData(model: Pick<GoldenCase, 'spec' | 'inputs'>, dtype: DType, analyticOverride?: NamedTensors, arithmetic: ArithmeticModel = IEEE): ModelProblemData {
  return problemDataOfRun(model, runModel(model.spec, model.inputs, dtype), dtype, analyticOverride, arithmetic);
}

/** modelProblemData from the TS run already made, in `dtype`: its bounds, and the gradient to check. */
export function problemDataOfRun(model: Pick<GoldenCase, 'spec' | 'inputs'>, run: ModelRun, dtype: DType, analyticOverride?: NamedTensors, arithmetic: ArithmeticModel = IEEE): ModelProblemData {
  const { spec, inputs } = model;
  const sides = [dtype, 'exact'] as const;
  // The loss's and the gradient's worst-case bounds, for the arithmetic they are taken to run on.
  const models = [arithmetic, IEEE] as const;
  // Only totals: finite differences never show a gradient bound's parts (Note [Totals only]).
  const bounds = modelBounds({ fwd: run.fwd, bwd: run.bwd, stored: run.fwd.inputs, sides, models, totalsOnly: true });
  const names = ['x', ...Object.keys(inputs.params)];
  return {
    spec,
    inputs,
    dtype,
    lossError: objectiveError(bounds, run.fwd, sides, models),
    analytic: analyticOverride ?? run.bwd.grads,
    analyticError: Object.fromEntries(names.map((name) => [name, totals(bounds.get(gradKey(name))!)])),
  };
}

/** The problem itself: the objective over x and the parameters, and its one-element steps. */
export function problemFromData(data: ModelProblemData, built: ReturnType<typeof modelObjective> = modelObjective(data.spec, data.inputs, data.dtype)): FdProblem {
  const { spec, inputs, dtype } = data;
  // `built`: modelObjective of the same spec, inputs and dtype, if the caller has it already.
  const { point, objective } = built;
  // One-element steps re-evaluate only what the element reaches, bit-identically (Note [Re-evaluating only what a perturbation changes]).
  // Built on the first step: directional mode never takes one.
  let incremental: IncrementalModel | undefined;
  return {
    dtype,
    point,
    objective,
    perturbed: (name, i, value) => (incremental ??= new IncrementalModel(spec, inputs, dtype)).evaluate(name, i, value),
    lossError: data.lossError,
    analytic: data.analytic,
    analyticError: data.analyticError,
  };
}

/** The objective over x and the parameters, and the point it is differentiated at, in `dtype`. */
export function modelObjective(spec: ModelSpec, inputs: ModelInputs, dtype: DType): { point: NamedTensors; objective: Objective } {
  const point: NamedTensors = { x: cast(inputs.x, dtype) };
  for (const [name, t] of Object.entries(inputs.params)) point[name] = cast(t, dtype);
  // Checked and rounded once: an evaluation at a point laid out as this one (the engine's always
  // is) reads its arrays as they are; any other point is checked and rounded as forward does.
  const fixed = castForward(spec, inputs, dtype);
  // The pass keeps nothing but a number and a string: its arrays are recycled (Note [Recycled arrays]).
  const recycler = new ArrayRecycler();
  const objective = (p: NamedTensors): Evaluation => {
    const { x, ...params } = p;
    return recycler.run(() => {
      const fwd = laidOutAs(p, point, dtype) ? forwardOfCast(spec, { ...fixed, x: x!, params }, dtype) : forward(spec, { ...inputs, x: x!, params }, dtype);
      return { value: fwd.objective, branches: branchFingerprint(fwd) };
    });
  };
  return { point, objective };
}

/** Whether p has the same tensors as `like`, of the same shapes, held in `dtype`. */
function laidOutAs(p: NamedTensors, like: NamedTensors, dtype: DType): boolean {
  const names = Object.keys(like);
  if (Object.keys(p).length !== names.length) return false;
  return names.every((name) => {
    const [t, l] = [p[name], like[name]!];
    return t !== undefined && dtypeOf(t.data) === dtype && t.shape.length === l.shape.length && t.shape.every((d, k) => d === l.shape[k]) && t.data.length === l.data.length;
  });
}
