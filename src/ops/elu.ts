import { z } from 'zod';
import { elementwise } from './elementwise.ts';

export const EluSpec = z.strictObject({ op: z.literal('elu'), alpha: z.number() });
export type EluSpec = z.infer<typeof EluSpec>;

/**
 * torch.nn.ELU(alpha): x > 0 ? x : α·(exp(x) − 1) (torch 1.13's CPU kernel subtracts, it does not
 * call expm1); backward x > 0 ? g : g·α·exp(x). Unless α = 1 the slope jumps at 0: a kink.
 */
export const elu = elementwise<EluSpec>({
  name: 'elu',
  schema: EluSpec,
  torch: { module: 'torch.nn.ELU', functional: 'torch.nn.functional.elu' },
  describe: (spec) => `ELU(alpha=${spec.alpha})`,
  forward: (a, x, spec) => a.select(x, 0, () => x, () => a.mul(a.c(spec.alpha), a.sub(a.fn('exp', x), a.c(1)))),
  backward: (a, x, _y, g, spec) => a.select(x, 0, () => g, () => a.mul(a.mul(g, a.c(spec.alpha)), a.fn('exp', x))),
  kinks: () => [0],
});
