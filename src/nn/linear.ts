import { rounderFor, type DType } from '../tensor/dtype.ts';
import { tensor, type Tensor } from '../tensor/tensor.ts';

// Linear: z = a·Wᵀ + b with a [B, n], W [out, n] (PyTorch's layout), b [out].
// Every product and every partial sum is rounded to `dtype`, as a float32 kernel would.

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
