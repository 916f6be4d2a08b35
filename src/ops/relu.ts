import { z } from 'zod';
import { dtypeOf } from '../tensor/dtype.ts';
import { tensor, type Tensor } from '../tensor/tensor.ts';
import { BOUND_PARTS, totals, zeroBound, type ErrorBound } from '../tolerance/errorBound.ts';
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

/**
 * Per element of the input: whether each side's ReLU was open (z > 0). With both sides' values
 * known this is exact; otherwise it is inferred from the TS value and its bound: certainly closed
 * on both sides where z ≤ −|Δz|, possibly different where |z| ≤ |Δz|.
 */
interface ReluSides {
  /** Both sides output exactly 0 here (and pass exactly 0 back). */
  bothClosed(i: number): boolean;
  /** The two sides may have taken different branches here. */
  mayDiffer(i: number): boolean;
}

function reluSides({ input: z, inputBound, inputOnSides: [za, zb] }: ModuleBoundContext<ReluSpec>): ReluSides {
  if (za !== undefined && zb !== undefined) {
    return {
      bothClosed: (i) => za.data[i]! <= 0 && zb.data[i]! <= 0,
      mayDiffer: (i) => za.data[i]! > 0 !== zb.data[i]! > 0,
    };
  }
  const zTotal = totals(inputBound);
  return {
    bothClosed: (i) => z.data[i]! <= -zTotal[i]!,
    // A zero bound means both sides hold the same z, so they branch alike even at 0.
    mayDiffer: (i) => zTotal[i]! > 0 && Math.abs(z.data[i]!) <= zTotal[i]!,
  };
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
    const sides = reluSides(ctx);
    const zBound = ctx.inputBound;
    const n = zBound.parts.arithmetic.length;
    const open = new Uint8Array(n);
    for (let i = 0; i < n; i++) open[i] = sides.bothClosed(i) ? 0 : 1; // where closed, both outputs are exactly 0
    const out = zeroBound(zBound.shape, n);
    for (const part of BOUND_PARTS) {
      const [from, into] = [zBound.parts[part], out.parts[part]];
      for (let i = 0; i < n; i++) if (open[i] === 1) into[i] = from[i]!;
    }
    return out;
  },
  // The branch rule (§2.3): where the sides' signs may differ, one passes ∂L/∂h and the other 0.
  backwardBound(ctx) {
    const sides = reluSides(ctx);
    const { dOut, dOutBound } = ctx;
    const n = dOut.data.length;
    const out: ErrorBound = zeroBound(dOut.shape, n);
    // 0: both sides pass exactly 0; 1: both pass ∂L/∂h; 2: the sides' branches may differ.
    const state = new Uint8Array(n);
    for (let i = 0; i < n; i++) state[i] = sides.mayDiffer(i) ? 2 : sides.bothClosed(i) ? 0 : 1;
    for (const part of BOUND_PARTS) {
      const [from, into] = [dOutBound.parts[part], out.parts[part]];
      for (let i = 0; i < n; i++) if (state[i] !== 0) into[i] = from[i]!;
    }
    for (let i = 0; i < n; i++) if (state[i] === 2) out.parts.branch[i]! += Math.abs(dOut.data[i]!);
    return { dInput: out, dParams: {} };
  },
  piece: (_spec, x) => (x > 0 ? 1 : 0),
  elementwise: true,
};
