import { z } from 'zod';
import { elementwise } from './elementwise.ts';
import type { Arith } from './scalar.ts';

export const SigmoidSpec = z.strictObject({ op: z.literal('sigmoid') });
export type SigmoidSpec = z.infer<typeof SigmoidSpec>;

/** σ(x) = 1/(1 + exp(−x)), as torch's CPU sigmoid computes it (BCEWithLogitsLoss's backward uses it too). */
export function logistic<T>(a: Arith<T>, x: T): T {
  return a.div(a.c(1), a.add(a.c(1), a.fn('exp', a.neg(x))));
}

/** torch.nn.Sigmoid: y = 1/(1 + exp(−x)); backward (g·(1 − y))·y, as torch's sigmoid_backward. */
export const sigmoid = elementwise<SigmoidSpec>({
  name: 'sigmoid',
  schema: SigmoidSpec,
  torch: { module: 'torch.nn.Sigmoid', functional: 'torch.sigmoid' },
  describe: () => 'Sigmoid',
  forward: (a, x) => logistic(a, x),
  backward: (a, _x, y, g) => a.mul(a.mul(g, a.sub(a.c(1), y)), y),
});
