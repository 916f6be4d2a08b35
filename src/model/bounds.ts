import { lossOp, moduleOp } from '../ops/registry.ts';
import { floatTarget } from '../ops/types.ts';
import { gradKey, LOGITS_KEY, LOSS_KEY, outKey, type Results, type TensorKey } from '../results/keys.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { collapsed, sharedZeros, totalOnly, totals, type ErrorBound } from '../tolerance/errorBound.ts';
import type { ArithmeticModel } from '../tolerance/arithmetic.ts';
import { inputDifference, Roundoffs, type Sides } from '../tolerance/roundoff.ts';
import { moduleParams, type BackwardTrace, type ForwardTrace, type ModelInputs } from './sequential.ts';

// Note [Running error analysis of a Sequential]
// The bound of every tensor is propagated through the same modules as the forward and backward
// passes, each module by its own record's rule, to first order in u (second-order terms are below
// u² relative and ignored). The magnitudes come from the TypeScript run (in the coarser of the two
// precisions); the bound of a comparison is the sum of both sides' rounding budgets (Roundoffs),
// so one propagation covers |side A − side B|. Every rule holds for any summation order, with or
// without FMA, which is what makes it valid for PyTorch's and onnxruntime's kernels as well as
// ours. docs/tolerance-policy.md §2 derives each rule.

/** What a comparison between two computations of the same case looks like. */
export interface BoundRequest {
  /** The TypeScript run whose values stand in for the magnitudes. */
  readonly fwd: ForwardTrace;
  readonly bwd: BackwardTrace;
  /** The inputs as stored in the golden, before either side rounded them. */
  readonly stored: ModelInputs;
  readonly sides: Sides;
  /**
   * Each side's results, when known. A module with branch points (ReLU) reads both sides' values
   * of its input from them and grants a branch allowance exactly where they differ; with either
   * side unknown, wherever the input is within its bound of the branch point.
   */
  readonly sideResults?: readonly [Results | null, Results | null];
  /** Each side's arithmetic (Note [Arithmetic models]); IEEE on both by default. */
  readonly models?: readonly [ArithmeticModel, ArithmeticModel];
  /** Only each bound's total is wanted, not its parts (Note [Totals only]). */
  readonly totalsOnly?: boolean;
}

// Note [Totals only]
// Finite differences need each gradient element's bound as one number, never its parts. Every
// rule is linear in its inputs' parts with the same coefficients for every part (a part's
// |ΔA|·|B| in a product, the slope times the input's part in an elementwise function) and adds
// its own errors to a part of its choosing; so the sum of the parts propagates as one part does,
// and a bound carried as its total alone, in the arithmetic part, ends up at the same total. Where
// a product's operands carry several parts, that saves a pass over k per part: productBound then
// gathers the magnitudes and every part into one sum per output (src/tolerance/product.ts). The
// totals agree with the split bounds' to the rounding of the bound arithmetic itself, except at a
// branch of an elementwise op where the sides may differ: there the rule takes the larger
// branch's error part by part, Σ_p max(a_p, b_p), over parts that now hold the incoming error in
// one place and the branch's own errors in theirs, so the total can come out smaller or larger
// than the split one; it is still at least either branch's total, so it still bounds whichever
// branch was taken. The target's and lossGrad's bounds are not collapsed: the loss rules read
// them as inputRounding.

/** The bound of |side A − side B| for every tensor a run produces, by the run's own keys. */
export type Bounds = ReadonlyMap<TensorKey, ErrorBound>;

const shaped = (bound: ErrorBound, like: Tensor): ErrorBound => ({ ...bound, shape: [...like.shape] });

export function modelBounds(req: BoundRequest): Bounds {
  const { fwd, bwd, stored, sides } = req;
  const { spec } = fwd;
  const r = new Roundoffs(sides, req.models, !req.totalsOnly);
  // Each bound a module receives, as its parts or as its total alone (Note [Totals only]).
  const carried = req.totalsOnly ? collapsed : (bound: ErrorBound) => bound;
  // An input's: where the sides hold its finite values alike, a total of zeros, shared.
  const alike = r.holdAlike();
  const inputBound = (t: Tensor) => (req.totalsOnly && alike && allFinite(t.data) ? totalOnly(t.shape, sharedZeros(t.data.length)) : carried(inputDifference(t, sides)));
  const paramBounds = Object.fromEntries(Object.entries(stored.params).map(([name, t]) => [name, inputBound(t)]));
  const [a, b] = req.sideResults ?? [null, null];
  // Module 0's input is x, which both sides read from the same stored values.
  const onSides = (i: number): readonly [Tensor | undefined, Tensor | undefined] => (i === 0 ? [undefined, undefined] : [a?.get(outKey(i - 1)), b?.get(outKey(i - 1))]);
  const contexts = spec.modules.map((m, i) => ({
    spec: m,
    input: fwd.modules[i]!.input,
    out: fwd.modules[i]!.out,
    params: moduleParams(fwd.inputs.params, i),
    paramBounds: moduleParams(paramBounds, i),
    r,
    inputOnSides: onSides(i),
  }));

  const bounds = new Map<TensorKey, ErrorBound>();
  // Forward, module by module.
  const inputBounds: ErrorBound[] = [];
  let hBound = inputBound(stored.x);
  spec.modules.forEach((m, i) => {
    inputBounds.push(hBound);
    hBound = carried(moduleOp(m).forwardBound({ ...contexts[i]!, inputBound: hBound }));
    bounds.set(outKey(i), hBound);
  });
  const float = floatTarget(stored.target);
  const targetBound = float === null ? null : inputDifference(float, sides);
  const lossGradBound = stored.lossGrad === undefined ? null : inputDifference(stored.lossGrad, sides);
  const loss = lossOp(spec.loss).bound({
    spec: spec.loss, logits: fwd.logits, logitsBound: hBound, saved: fwd.lossSaved, value: fwd.loss, target: fwd.inputs.target, targetBound,
    lossGrad: fwd.inputs.lossGrad ?? null, lossGradBound, r,
  });
  bounds.set(LOSS_KEY, carried(loss.loss));
  bounds.set(LOGITS_KEY, hBound);
  // Backward, in reverse.
  const grads = new Map<string, ErrorBound>();
  let dOutBound = carried(loss.dLogits);
  for (let i = spec.modules.length - 1; i >= 0; i--) {
    const m = spec.modules[i]!;
    const back = moduleOp(m).backwardBound({ ...contexts[i]!, inputBound: inputBounds[i]!, dOut: bwd.modules[i]!.dOut, dOutBound });
    for (const [suffix, g] of Object.entries(back.dParams)) grads.set(`${i}.${suffix}`, carried(g));
    dOutBound = carried(back.dInput);
  }
  grads.set('x', dOutBound);
  // Gradients in the order the run produced them, shaped like the tensors they bound.
  for (const [name, g] of Object.entries(bwd.grads)) bounds.set(gradKey(name), shaped(grads.get(name)!, g));
  return bounds;
}

/**
 * The bound of the objective the backward pass differentiates, from the loss's bound: the loss's
 * own when it is a scalar, else that of Σ lossGrad·loss, a dot product computed in the run's
 * precision (γ_n on Σ|g·ℓ|, Higham §3.1) on top of Σ|g|·E_ℓ.
 */
export function objectiveError(bounds: Bounds, fwd: ForwardTrace, sides: Sides, models?: readonly [ArithmeticModel, ArithmeticModel]): number {
  const lossBound = totals(bounds.get(LOSS_KEY)!);
  const g = fwd.inputs.lossGrad;
  if (g === undefined) return lossBound[0]!;
  let propagated = 0;
  let magnitude = 0;
  for (let i = 0; i < lossBound.length; i++) {
    propagated += Math.abs(g.data[i]!) * lossBound[i]!;
    magnitude += Math.abs(g.data[i]! * fwd.loss.data[i]!);
  }
  return propagated + new Roundoffs(sides, models).gamma(lossBound.length) * magnitude;
}

/** Whether every value is finite: a plain loop, since an inputs' check runs on every bound computation. */
function allFinite(values: ArrayLike<number>): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) return false;
  return true;
}
