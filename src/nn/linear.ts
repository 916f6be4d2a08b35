import { rounderFor, type DType } from '../tensor/dtype.ts';
import { tensor, type Tensor } from '../tensor/tensor.ts';

// Linear: z = a·Wᵀ + b with a [B, n], W [out, n] (PyTorch's layout), b [out].
// Every product and every partial sum is rounded to `dtype`, as a float32 kernel would.

export function linearForward(a: Tensor, weight: Tensor, bias: Tensor | null, dtype: DType): Tensor {
  const round = rounderFor(dtype);
  const [batch = 0, n = 0] = a.shape;
  const out = weight.shape[0] ?? 0;
  const z = tensor(dtype, [batch, out]);
  for (let b = 0; b < batch; b++) {
    for (let j = 0; j < out; j++) {
      let acc = 0;
      for (let k = 0; k < n; k++) acc = round(acc + round(a.data[b * n + k]! * weight.data[j * n + k]!));
      z.data[b * out + j] = bias === null ? acc : round(acc + bias.data[j]!);
    }
  }
  return z;
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
