import { z } from 'zod';
import { elementwise } from './elementwise.ts';

export const SiluSpec = z.strictObject({ op: z.literal('silu') });
export type SiluSpec = z.infer<typeof SiluSpec>;

/** torch.nn.SiLU: y = x/(1 + exp(−x)); backward g·s·(1 + x·(1 − s)) with s = 1/(1 + exp(−x)), as torch. */
export const silu = elementwise<SiluSpec>({
  name: 'silu',
  schema: SiluSpec,
  torch: { module: 'torch.nn.SiLU', functional: 'torch.nn.functional.silu' },
  describe: () => 'SiLU',
  forward: (a, x) => a.div(x, a.add(a.c(1), a.fn('exp', a.neg(x)))),
  backward(a, x, _y, g) {
    const s = a.div(a.c(1), a.add(a.c(1), a.fn('exp', a.neg(x))));
    return a.mul(a.mul(g, s), a.add(a.c(1), a.mul(x, a.sub(a.c(1), s))));
  },
});
