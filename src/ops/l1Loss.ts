import { z } from 'zod';
import { elementwiseLoss } from './elementwiseLoss.ts';
import { Reduction } from './reduction.ts';
import type { Arith } from './scalar.ts';

export const L1LossSpec = z.strictObject({ op: z.literal('l1_loss'), reduction: Reduction });
export type L1LossSpec = z.infer<typeof L1LossSpec>;

/** sgn(d): 1, −1, or 0 at exactly 0, as torch.sgn. */
function sign<T>(a: Arith<T>, d: T): T {
  return a.select(d, 0, () => a.c(1), () => a.select(a.neg(d), 0, () => a.c(-1), () => a.c(0)));
}

/**
 * torch.nn.L1Loss: ℓ = |x − y|. torch 1.13 differentiates it through autograd: the reduction's
 * gradient first (g/N for `mean`, as mean's backward divides), then abs's, times sgn(x − y),
 * which is 0 where x = y exactly: the kink.
 */
export const l1Loss = elementwiseLoss<L1LossSpec>({
  name: 'l1_loss',
  schema: L1LossSpec,
  torch: { module: 'torch.nn.L1Loss', functional: 'torch.nn.functional.l1_loss' },
  describe: (spec) => `l1_loss(reduction=${spec.reduction})`,
  targetKind: 'values',
  forward(a, x, y) {
    const d = a.sub(x, y);
    return a.select(d, 0, () => d, () => a.neg(d));
  },
  backward: (a, x, y, g, mean) => a.mul(mean === null ? g : a.div(g, a.c(mean)), sign(a, a.sub(x, y))),
  kinks: [0],
});
