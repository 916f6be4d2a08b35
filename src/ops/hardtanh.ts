import { z } from 'zod';
import { elementwise } from './elementwise.ts';
import type { Arith } from './scalar.ts';

export const HardtanhSpec = z
  .strictObject({ op: z.literal('hardtanh'), min: z.number(), max: z.number() })
  .refine((spec) => spec.min < spec.max, { message: 'min must be below max (torch.nn.Hardtanh requires max_val > min_val)', path: ['max'] });
export type HardtanhSpec = z.infer<typeof HardtanhSpec>;
export const Relu6Spec = z.strictObject({ op: z.literal('relu6') });
export type Relu6Spec = z.infer<typeof Relu6Spec>;

// Every comparison is arranged so that NaN falls through to the last branch, as in torch, where
// clamp propagates NaN and hardtanh_backward passes the gradient of a NaN input. (−x > −min is
// x < min, and false for NaN.)

/** clamp(x, min, max): max above it, min below it, x itself otherwise (NaN included). */
function clamp<T>(a: Arith<T>, x: T, min: number, max: number): T {
  return a.select(x, max, () => a.c(max), () => a.select(a.neg(x), -min, () => a.c(min), () => x));
}

/** g where min < x < max (or x is NaN), else 0: torch's hardtanh_backward passes nothing at the bounds themselves. */
function clampGradient<T>(a: Arith<T>, x: T, g: T, min: number, max: number): T {
  return a.select(x, max, () => a.c(0), () => a.select(a.neg(x), -min, () => a.c(0), () => g, true), true);
}

/** torch.nn.Hardtanh(min_val, max_val): a clamp, with kinks at both ends. */
export const hardtanh = elementwise<HardtanhSpec>({
  name: 'hardtanh',
  schema: HardtanhSpec,
  torch: { module: 'torch.nn.Hardtanh', functional: 'torch.nn.functional.hardtanh' },
  describe: (spec) => `Hardtanh(min_val=${spec.min}, max_val=${spec.max})`,
  forward: (a, x, spec) => clamp(a, x, spec.min, spec.max),
  backward: (a, x, _y, g, spec) => clampGradient(a, x, g, spec.min, spec.max),
  kinks: (spec) => [spec.min, spec.max],
});

/** torch.nn.ReLU6: Hardtanh(0, 6). */
export const relu6 = elementwise<Relu6Spec>({
  name: 'relu6',
  schema: Relu6Spec,
  torch: { module: 'torch.nn.ReLU6', functional: 'torch.nn.functional.relu6' },
  describe: () => 'ReLU6',
  forward: (a, x) => clamp(a, x, 0, 6),
  backward: (a, x, _y, g) => clampGradient(a, x, g, 0, 6),
  kinks: () => [0, 6],
});
