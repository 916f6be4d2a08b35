import { z } from 'zod';
import { elementwiseLoss } from './elementwiseLoss.ts';
import { Reduction } from './reduction.ts';
import { logistic } from './sigmoid.ts';

export const BceWithLogitsSpec = z.strictObject({
  op: z.literal('bce_with_logits'),
  reduction: Reduction,
  /** `pos_weight`: the weight of the positive term, one per class (broadcast over the batch). */
  posWeight: z.array(z.number().nonnegative()).min(1).optional(),
});
export type BceWithLogitsSpec = z.infer<typeof BceWithLogitsSpec>;

/**
 * torch.nn.BCEWithLogitsLoss, as torch 1.13's CPU kernel computes it, stable for any logit x:
 * with m = max(−x, 0) and S = exp(−m) + exp(−x − m) (so log S + m = log(1 + exp(−x))),
 *   ℓ = (1 − t)·x + m + log S                          without pos_weight,
 *   ℓ = (1 − t)·x + ((p − 1)·t + 1)·(log S + m)        with pos_weight p.
 * Backward as autograd's formula: ((p·t + 1 − t)·σ(x) − p·t)·g (σ(x) − t without pos_weight),
 * then ÷N for `mean`.
 */
export const bceWithLogits = elementwiseLoss<BceWithLogitsSpec>({
  name: 'bce_with_logits',
  schema: BceWithLogitsSpec,
  torch: { module: 'torch.nn.BCEWithLogitsLoss', functional: 'torch.nn.functional.binary_cross_entropy_with_logits' },
  describe: (spec) => `binary_cross_entropy_with_logits(reduction=${spec.reduction}${spec.posWeight === undefined ? '' : `, pos_weight=[${spec.posWeight.join(', ')}]`})`,
  targetKind: 'probabilities',
  forward(a, x, t, spec, c) {
    const m = a.select(a.neg(x), 0, () => a.neg(x), () => a.c(0));
    const logS = a.fn('log', a.add(a.fn('exp', a.neg(m)), a.fn('exp', a.sub(a.neg(x), m))));
    const linear = a.mul(a.sub(a.c(1), t), x);
    if (spec.posWeight === undefined) return a.add(a.add(linear, m), logS);
    const logWeight = a.add(a.mul(a.sub(a.c(spec.posWeight[c]!), a.c(1)), t), a.c(1));
    return a.add(linear, a.mul(logWeight, a.add(logS, m)));
  },
  backward(a, x, t, g, mean, spec, c) {
    const pt = spec.posWeight === undefined ? null : a.mul(a.c(spec.posWeight[c]!), t);
    const d = pt === null ? a.sub(logistic(a, x), t) : a.sub(a.mul(a.sub(a.add(pt, a.c(1)), t), logistic(a, x)), pt);
    const scaled = a.mul(d, g);
    return mean === null ? scaled : a.div(scaled, a.c(mean));
  },
  checkSpec: (spec, classes) =>
    spec.posWeight !== undefined && spec.posWeight.length !== classes ? { field: 'posWeight', message: `has ${spec.posWeight.length} entries, the model has ${classes} classes` } : null,
});
