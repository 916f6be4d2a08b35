import { z } from 'zod';
import { elementwise } from './elementwise.ts';

export const SoftplusSpec = z.strictObject({ op: z.literal('softplus'), beta: z.number().positive(), threshold: z.number() });
export type SoftplusSpec = z.infer<typeof SoftplusSpec>;

/**
 * torch.nn.Softplus(beta, threshold): x·β > threshold ? x : log1p(exp(x·β))/β; backward
 * x·β > threshold ? g : g·z/(z + 1) with z = exp(x·β), as torch. The switch is a (tiny) jump of
 * the value and the slope, so finite differences treat it as a kink.
 */
export const softplus = elementwise<SoftplusSpec>({
  name: 'softplus',
  schema: SoftplusSpec,
  torch: { module: 'torch.nn.Softplus', functional: 'torch.nn.functional.softplus' },
  describe: (spec) => `Softplus(beta=${spec.beta}, threshold=${spec.threshold})`,
  forward(a, x, spec) {
    const xb = a.mul(x, a.c(spec.beta));
    return a.select(xb, spec.threshold, () => x, () => a.div(a.fn('log1p', a.fn('exp', xb)), a.c(spec.beta)));
  },
  backward(a, x, _y, g, spec) {
    const xb = a.mul(x, a.c(spec.beta));
    return a.select(xb, spec.threshold, () => g, () => {
      const z = a.fn('exp', xb);
      return a.div(a.mul(g, z), a.add(z, a.c(1)));
    });
  },
  kinks: (spec) => [spec.threshold / spec.beta],
});
