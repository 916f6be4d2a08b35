import { z } from 'zod';
import { rounderFor, type DType } from '../tensor/dtype.ts';
import { tensor, type Tensor } from '../tensor/tensor.ts';
import { ones, operand, productBound } from '../tolerance/product.ts';
import type { ModuleOp } from './types.ts';

// Linear: z = a·Wᵀ + b with a [B, n], W [out, n] (PyTorch's layout), b [out].
// Every product and every partial sum is rounded to `dtype`, as a float32 kernel would.

export const LinearSpec = z.strictObject({
  op: z.literal('linear'),
  /** Output width; the input width is the previous module's output (or the model's inputSize). */
  out: z.number().int().positive(),
  bias: z.boolean(),
});
export type LinearSpec = z.infer<typeof LinearSpec>;

export function linearForward(a: Tensor, weight: Tensor, bias: Tensor | null, dtype: DType): Tensor {
  const round = rounderFor(dtype);
  const [batch = 0, n = 0] = a.shape;
  const out = weight.shape[0] ?? 0;
  const z = tensor(dtype, [batch, out]);
  const [x, w] = [a.data, weight.data];
  for (let b = 0; b < batch; b++) {
    for (let j = 0; j < out; j++) {
      // The float64 loop needs no rounding; keeping it apart lets V8 compile both tightly.
      const acc = dtype === 'float32' ? dotFloat32(x, b * n, w, j * n, n) : dotFloat64(x, b * n, w, j * n, n);
      z.data[b * out + j] = bias === null ? acc : round(acc + bias.data[j]!);
    }
  }
  return z;
}

/** Σ_k x[xi + k]·w[wi + k], every product and partial sum rounded to float32. */
function dotFloat32(x: ArrayLike<number>, xi: number, w: ArrayLike<number>, wi: number, n: number): number {
  let acc = 0;
  for (let k = 0; k < n; k++) acc = Math.fround(acc + Math.fround(x[xi + k]! * w[wi + k]!));
  return acc;
}

function dotFloat64(x: ArrayLike<number>, xi: number, w: ArrayLike<number>, wi: number, n: number): number {
  let acc = 0;
  for (let k = 0; k < n; k++) acc += x[xi + k]! * w[wi + k]!;
  return acc;
}

export interface LinearGrads {
  readonly input: Tensor;
  readonly weight: Tensor;
  readonly bias: Tensor | null;
}

/**
 * Undoes linearForward given dz = ∂L/∂z [B, out]:
 *   ∂L/∂a = dz·W      [B, n]    (a sum over out)
 *   ∂L/∂W = dzᵀ·a     [out, n]  (a sum over the batch)
 *   ∂L/∂b = Σ_b dz    [out]     (a sum over the batch)
 */
export function linearBackward(dz: Tensor, a: Tensor, weight: Tensor, hasBias: boolean, dtype: DType): LinearGrads {
  const round = rounderFor(dtype);
  const [batch = 0, n = 0] = a.shape;
  const out = weight.shape[0] ?? 0;
  const input = tensor(dtype, [batch, n]);
  for (let b = 0; b < batch; b++) {
    for (let k = 0; k < n; k++) {
      let acc = 0;
      for (let j = 0; j < out; j++) acc = round(acc + round(dz.data[b * out + j]! * weight.data[j * n + k]!));
      input.data[b * n + k] = acc;
    }
  }
  const dWeight = tensor(dtype, [out, n]);
  for (let j = 0; j < out; j++) {
    for (let k = 0; k < n; k++) {
      let acc = 0;
      for (let b = 0; b < batch; b++) acc = round(acc + round(dz.data[b * out + j]! * a.data[b * n + k]!));
      dWeight.data[j * n + k] = acc;
    }
  }
  let dBias: Tensor | null = null;
  if (hasBias) {
    dBias = tensor(dtype, [out]);
    for (let j = 0; j < out; j++) {
      let acc = 0;
      for (let b = 0; b < batch; b++) acc = round(acc + dz.data[b * out + j]!);
      dBias.data[j] = acc;
    }
  }
  return { input, weight: dWeight, bias: dBias };
}

/** torch.nn.Linear: the weight [out, in] and, with `bias`, the bias [out]. */
export const linear: ModuleOp<LinearSpec> = {
  name: 'linear',
  schema: LinearSpec,
  torch: { module: 'torch.nn.Linear', functional: 'torch.nn.functional.linear' },
  describe: (spec, inFeatures) => `Linear(${inFeatures}, ${spec.out}${spec.bias ? '' : ', bias=False'})`,
  outFeatures: (spec) => spec.out,
  parameters: (spec, inFeatures) => [
    { suffix: 'weight', shape: [spec.out, inFeatures] },
    ...(spec.bias ? [{ suffix: 'bias', shape: [spec.out] }] : []),
  ],
  forward: (spec, input, params, dtype) => linearForward(input, params.weight!, spec.bias ? params.bias! : null, dtype),
  backward(spec, dOut, input, _out, params, dtype) {
    const grads = linearBackward(dOut, input, params.weight!, spec.bias, dtype);
    return { dInput: grads.input, dParams: { weight: grads.weight, ...(grads.bias === null ? {} : { bias: grads.bias }) } };
  },
  // Each output is a dot product of n terms plus the bias: docs/tolerance-policy.md §2.1.
  forwardBound({ spec, input, inputBound, params, paramBounds, r }) {
    const [batch = 0, n = 0] = input.shape;
    const weight = operand(params.weight!.data, paramBounds.weight!, 1, n); // Wᵀ [n × out]
    const bias = spec.bias ? { values: params.bias!.data, bound: paramBounds.bias! } : null;
    return productBound(operand(input.data, inputBound, n, 1), weight, batch, n, spec.out, n + (spec.bias ? 1 : 0), r, bias);
  },
  // ∂L/∂W = dzᵀ·a reduces over the batch, ∂L/∂b = Σ_b dz over B − 1 sums, ∂L/∂a = dz·W over out: §2.3.
  backwardBound({ spec, input, inputBound, params, paramBounds, dOut, dOutBound, r }) {
    const [batch = 0, n = 0] = input.shape;
    const out = spec.out;
    const dzT = operand(dOut.data, dOutBound, 1, out); // dzᵀ [out × B]
    const weight = productBound(dzT, operand(input.data, inputBound, n, 1), out, batch, n, batch, r);
    const dParams = { weight, ...(spec.bias ? { bias: productBound(dzT, ones(batch), out, batch, 1, batch - 1, r) } : {}) };
    const dInput = productBound(operand(dOut.data, dOutBound, out, 1), operand(params.weight!.data, paramBounds.weight!, n, 1), batch, out, n, out, r);
    return { dInput, dParams };
  },
};
