import { z } from 'zod';
import { elementwise } from './elementwise.ts';

export const TanhSpec = z.strictObject({ op: z.literal('tanh') });
export type TanhSpec = z.infer<typeof TanhSpec>;

/** torch.nn.Tanh: y = tanh(x); backward g·(1 − y·y), from the output as torch's tanh_backward. */
export const tanh = elementwise<TanhSpec>({
  name: 'tanh',
  schema: TanhSpec,
  torch: { module: 'torch.nn.Tanh', functional: 'torch.tanh' },
  describe: () => 'Tanh',
  forward: (a, x) => a.fn('tanh', x),
  backward: (a, _x, y, g) => a.mul(g, a.sub(a.c(1), a.mul(y, y))),
});
