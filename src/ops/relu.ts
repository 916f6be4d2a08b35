import { z } from 'zod';
import { dtypeOf } from '../tensor/dtype.ts';
import { tensor, type Tensor } from '../tensor/tensor.ts';
import { BOUND_PARTS, totalOf, zeroBound, type ErrorBound } from '../tolerance/errorBound.ts';
import type { ModuleBoundContext, ModuleOp } from './types.ts';

// ReLU is exact in any precision: it only selects. Both directions test `z <= 0` rather than
// `z > 0` so that a NaN input propagates, as it does in PyTorch.

export const ReluSpec = z.strictObject({ op: z.literal('relu') });
export type ReluSpec = z.infer<typeof ReluSpec>;

export function reluForward(z: Tensor): Tensor {
  const out = tensor(dtypeOf(z.data), z.shape);
  for (let i = 0; i < z.data.length; i++) {
    const v = z.data[i]!;
    out.data[i] = (v <= 0 ? 0 : v);
  }
  return out;
}

/**
 * ∂L/∂z = ∂L/∂h where z > 0, else 0. At z = 0 exactly the derivative is 0, as in PyTorch, whose
 * threshold_backward keeps the gradient only where z > threshold (= 0).
 */
export function reluBackward(dh: Tensor, z: Tensor): Tensor {
  const out = tensor(dtypeOf(dh.data), dh.shape);
  for (let i = 0; i < dh.data.length; i++) {
    const g = dh.data[i]!;
    out.data[i] = (z.data[i]! <= 0 ? 0 : g);
  }
  return out;
}

/** What the two sides' ReLUs did at an element of the input (reluSides), as flags. */
const CLOSED = 1; // both closed: both output exactly 0
const MAY_DIFFER = 2; // the sides may have taken different branches

/**
 * Per element of the input: what each side's ReLU did (z > 0: open). With both sides' values
 * known this is exact; otherwise it is inferred from the TS value and its bound: certainly closed
 * on both sides where z ≤ −|Δz|, possibly different where |z| ≤ |Δz|.
 */
function reluSides({ input: z, inputBound, inputOnSides: [za, zb] }: ModuleBoundContext<ReluSpec>): Uint8Array {
  const n = z.data.length;
  const state = new Uint8Array(n);
  if (za !== undefined && zb !== undefined) {
    for (let i = 0; i < n; i++) state[i] = (za.data[i]! <= 0 && zb.data[i]! <= 0 ? CLOSED : 0) | (za.data[i]! > 0 !== zb.data[i]! > 0 ? MAY_DIFFER : 0);
    return state;
  }
  const zTotal = totalOf(inputBound);
  for (let i = 0; i < n; i++) {
    const [v, bound] = [z.data[i]!, zTotal[i]!];
    // A zero bound means both sides hold the same z, so they branch alike even at 0.
    state[i] = (v <= -bound ? CLOSED : 0) | (bound > 0 && Math.abs(v) <= bound ? MAY_DIFFER : 0);
  }
  return state;
}

/** torch.nn.ReLU: no parameters, a kink at 0 (relu′(0) = 0, as PyTorch takes it). */
export const relu: ModuleOp<ReluSpec> = {
  name: 'relu',
  schema: ReluSpec,
  torch: { module: 'torch.nn.ReLU', functional: 'torch.nn.functional.relu' },
  describe: () => 'ReLU',
  outFeatures: (_spec, inFeatures) => inFeatures,
  parameters: () => [],
  forward: (_spec, input) => reluForward(input),
  backward: (_spec, dOut, input) => ({ dInput: reluBackward(dOut, input), dParams: {} }),
  // 1-Lipschitz, and exactly 0 on both sides where both are closed: §2.1.
  forwardBound(ctx) {
    const state = reluSides(ctx);
    const zBound = ctx.inputBound;
    const out = zeroBound(zBound.shape, state.length);
    for (const part of BOUND_PARTS) {
      const [from, into] = [zBound.parts[part], out.parts[part]];
      for (let i = 0; i < state.length; i++) if ((state[i]! & CLOSED) === 0) into[i] = from[i]!;
    }
    return out;
  },
  // The branch rule (§2.3): where the sides' signs may differ, one passes ∂L/∂h and the other 0.
  backwardBound(ctx) {
    const state = reluSides(ctx);
    const { dOut, dOutBound } = ctx;
    const out: ErrorBound = zeroBound(dOut.shape, state.length);
    for (const part of BOUND_PARTS) {
      const [from, into] = [dOutBound.parts[part], out.parts[part]];
      // Both sides pass exactly 0 only where both are certainly closed.
      for (let i = 0; i < state.length; i++) if (state[i] !== CLOSED) into[i] = from[i]!;
    }
    for (let i = 0; i < state.length; i++) if ((state[i]! & MAY_DIFFER) !== 0) out.parts.branch[i]! += Math.abs(dOut.data[i]!);
    return { dInput: out, dParams: {} };
  },
  piece: (_spec, x) => (x > 0 ? 1 : 0),
  elementwise: true,
};
