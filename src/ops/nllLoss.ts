import { z } from 'zod';
import { dtypeOf, rounderFor, type DType } from '../tensor/dtype.ts';
import { tensor } from '../tensor/tensor.ts';
import { BOUND_PARTS, partsAt, zeroBound } from '../tolerance/errorBound.ts';
import { reduce, reducedLossBound, reducedShape, Reduction } from './reduction.ts';
import type { LossOp, Target } from './types.ts';

/** torch.nn.NLLLoss on log-probabilities (the output of a LogSoftmax module), with class-index targets. */
export const NllLossSpec = z.strictObject({
  op: z.literal('nll_loss'),
  reduction: Reduction,
  /** Per-class weights (`weight`), one non-negative number per class. */
  weight: z.array(z.number().nonnegative()).min(1).optional(),
  /** Rows whose target is this value are left out (`ignore_index`). */
  ignoreIndex: z.number().int().optional(),
});
export type NllLossSpec = z.infer<typeof NllLossSpec>;

/** What the forward keeps: the divisor of `mean`, the total weight of the kept rows. */
export interface NllTrace {
  readonly divisor: number;
}

const weightOf = (spec: NllLossSpec, c: number, dtype: DType) => (spec.weight === undefined ? 1 : rounderFor(dtype)(spec.weight[c]!));
/** Row b's target class, or null where the row is ignored (or the target holds no class indices). */
const kept = (spec: NllLossSpec, target: Target, b: number): number | null => {
  if (target.kind !== 'class_indices') return null;
  const y = target.indices[b]!;
  return y === spec.ignoreIndex ? null : y;
};

/**
 * ℓ_b = −w_y·x_{b,y} for target y (0 for an ignored row); `mean` divides the sum by the total
 * weight of the kept rows, as torch's nll_loss_forward. ∂ℓ/∂x_{b,y} = −w_y·(g/D for `mean`,
 * g otherwise), every other element 0, as nll_loss_backward.
 */
export const nllLoss: LossOp<NllLossSpec, NllTrace> = {
  name: 'nll_loss',
  schema: NllLossSpec,
  torch: { module: 'torch.nn.NLLLoss', functional: 'torch.nn.functional.nll_loss' },
  describe: (spec) =>
    `nll_loss(reduction=${spec.reduction}${spec.weight === undefined ? '' : `, weight=[${spec.weight.join(', ')}]`}${spec.ignoreIndex === undefined ? '' : `, ignore_index=${spec.ignoreIndex}`})`,
  targetLayout: (spec, batch) => ({ kind: 'class_indices', dtype: 'int64', shape: [batch], ...(spec.ignoreIndex === undefined ? {} : { ignoreIndex: spec.ignoreIndex }) }),
  lossShape: (spec, batch) => reducedShape(spec.reduction, [batch]),
  checkSpec: (spec, classes) =>
    spec.weight !== undefined && spec.weight.length !== classes ? { field: 'weight', message: `has ${spec.weight.length} entries, the model has ${classes} classes` } : null,
  forward(spec, logits, target, dtype) {
    const round = rounderFor(dtype);
    const [batch = 0, classes = 0] = logits.shape;
    const rows = tensor(dtype, [batch]);
    let divisor = 0;
    for (let b = 0; b < batch; b++) {
      const y = kept(spec, target, b);
      if (y === null) continue;
      const x = logits.data[b * classes + y]!;
      rows.data[b] = -(spec.weight === undefined ? x : round(weightOf(spec, y, dtype) * x));
      divisor = round(divisor + weightOf(spec, y, dtype));
    }
    return { loss: reduce(rows, spec.reduction, divisor, dtype), saved: { divisor } };
  },
  backward(spec, logits, target, saved, lossGrad, dtype) {
    const round = rounderFor(dtype);
    const [batch = 0, classes = 0] = logits.shape;
    const dLogits = tensor(dtype, [batch, classes]);
    for (let b = 0; b < batch; b++) {
      const y = kept(spec, target, b);
      if (y === null) continue;
      const g = spec.reduction === 'none' ? lossGrad!.data[b]! : 1;
      const grad = -(spec.reduction === 'mean' ? round(g / saved.divisor) : g);
      dLogits.data[b * classes + y] = spec.weight === undefined ? grad : round(weightOf(spec, y, dtype) * grad);
    }
    return dLogits;
  },
  // The loss is linear in the input: its error is w·Δx per kept row, one rounding for the weight's
  // product, γ_{B−1} for the sum and the division for `mean`, whose divisor (a sum of weights)
  // adds γ_{B−1} relative. The gradient is a constant per kept element: −w·g/D, rounded twice.
  bound(ctx) {
    const { spec, logits, logitsBound, target, r } = ctx;
    const dtype: DType = dtypeOf(logits.data);
    const [batch = 0, classes = 0] = logits.shape;
    const weighted = spec.weight !== undefined;
    const divisor = ctx.saved.divisor;
    const divisorRelative = weighted ? r.gamma(batch - 1) : 0;
    const weightGap = (c: number) => (weighted ? r.representationGap(spec.weight![c]!) : 0);
    // The divisor of `mean` is a sum of weights: across precisions it moves by at most their largest relative gap.
    const divisorGap = weighted && spec.reduction === 'mean' ? Math.max(...spec.weight!.map((w) => r.relativeGap(w))) : 0;
    const rows = zeroBound([batch], batch);
    const dLogits = zeroBound([batch, classes], batch * classes);
    let magnitude = 0;
    for (let b = 0; b < batch; b++) {
      const y = kept(spec, target, b);
      if (y === null) continue;
      const i = b * classes + y;
      const w = weightOf(spec, y, dtype);
      const x = logits.data[i]!;
      for (const p of BOUND_PARTS) rows.parts[p][b] = w * partsAt(logitsBound, i)[p];
      rows.parts.arithmetic[b]! += weighted ? r.ulps(1) * Math.abs(w * x) : 0;
      rows.parts.inputRounding[b]! += weightGap(y) * Math.abs(x);
      magnitude += Math.abs(w * x);
      const g = spec.reduction === 'none' ? ctx.lossGrad!.data[b]! : 1;
      const scale = spec.reduction === 'mean' ? 1 / divisor : 1;
      const grad = Math.abs(w * g * scale);
      dLogits.parts.arithmetic[i] = (spec.reduction === 'mean' ? r.ulps(1) + divisorRelative : 0) * grad + (weighted ? r.ulps(1) * grad : 0);
      dLogits.parts.inputRounding[i] = weightGap(y) * Math.abs(g * scale) + divisorGap * grad + (spec.reduction === 'none' ? w * (ctx.lossGradBound?.parts.inputRounding[b] ?? 0) : 0);
    }
    if (spec.reduction === 'none') return { loss: rows, dLogits };
    const mean = spec.reduction === 'mean' ? divisor : null;
    return { loss: reducedLossBound(rows, { terms: batch, magnitude, value: ctx.value.data[0]!, divisor: mean, divisorRelative, divisorGap }, r), dLogits };
  },
};
