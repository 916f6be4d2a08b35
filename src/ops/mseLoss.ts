import { z } from 'zod';
import { elementwiseLoss } from './elementwiseLoss.ts';
import { Reduction } from './reduction.ts';

export const MseLossSpec = z.strictObject({ op: z.literal('mse_loss'), reduction: Reduction });
export type MseLossSpec = z.infer<typeof MseLossSpec>;

/**
 * torch.nn.MSELoss: ℓ = (x − y)², mean over all B·C elements or their sum. Backward as torch's
 * mse_loss_backward kernel: (norm·(x − y))·g with norm = 2/N for `mean`, 2 otherwise.
 */
export const mseLoss = elementwiseLoss<MseLossSpec>({
  name: 'mse_loss',
  schema: MseLossSpec,
  torch: { module: 'torch.nn.MSELoss', functional: 'torch.nn.functional.mse_loss' },
  describe: (spec) => `mse_loss(reduction=${spec.reduction})`,
  targetKind: 'values',
  forward(a, x, y) {
    const d = a.sub(x, y);
    return a.mul(d, d);
  },
  backward: (a, x, y, g, mean) => a.mul(a.mul(a.c(mean === null ? 2 : 2 / mean), a.sub(x, y)), g),
});
