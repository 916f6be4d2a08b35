import { z } from 'zod';
import { elementwise } from './elementwise.ts';

export const LeakyReluSpec = z.strictObject({ op: z.literal('leaky_relu'), negativeSlope: z.number() });
export type LeakyReluSpec = z.infer<typeof LeakyReluSpec>;

/** torch.nn.LeakyReLU(negative_slope): x > 0 ? x : x·slope; the gradient likewise, slope at exactly 0 (as torch). */
export const leakyRelu = elementwise<LeakyReluSpec>({
  name: 'leaky_relu',
  schema: LeakyReluSpec,
  torch: { module: 'torch.nn.LeakyReLU', functional: 'torch.nn.functional.leaky_relu' },
  describe: (spec) => `LeakyReLU(negative_slope=${spec.negativeSlope})`,
  forward: (a, x, spec) => a.select(x, 0, () => x, () => a.mul(x, a.c(spec.negativeSlope))),
  backward: (a, x, _y, g, spec) => a.select(x, 0, () => g, () => a.mul(g, a.c(spec.negativeSlope))),
  kinks: () => [0],
});
