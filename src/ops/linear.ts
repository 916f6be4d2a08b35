import { z } from 'zod';
import { allocate, rounderFor, type DType, type FloatArray } from '../tensor/dtype.ts';
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
  const [batch = 0, n = 0] = a.shape;
  const out = weight.shape[0] ?? 0;
  const z = tensor(dtype, [batch, out]);
  const full = out - (out % 4);
  if (dtype === 'float32') fourAtATimeFloat32(a.data, weight.data, z.data, bias, batch, n, out, full);
  else fourAtATimeFloat64(a.data, weight.data, z.data, bias, batch, n, out, full);
  // The last out mod 4 outputs of every row, four (b, j) pairs at a time.
  const tail = out - full;
  const xAt = new Int32Array(batch * tail);
  const wAt = new Int32Array(batch * tail);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < tail; t++) {
      xAt[b * tail + t] = b * n;
      wAt[b * tail + t] = (full + t) * n;
    }
  }
  const sums = dots(xAt, wAt, null, a.data, weight.data, n, dtype);
  for (let p = 0; p < sums.length; p++) {
    const j = full + (p % tail);
    z.data[Math.floor(p / tail) * out + j] = withBias(sums[p]!, bias, j, dtype);
  }
  return z;
}

/** Outputs (b, j … j + 3), j < full, of every row b: the same x row against four weight rows, each x loaded once. */
function fourAtATimeFloat64(x: FloatArray, w: FloatArray, z: FloatArray, bias: Tensor | null, batch: number, n: number, out: number, full: number): void {
  for (let b = 0; b < batch; b++) {
    const xo = b * n;
    for (let j = 0; j < full; j += 4) {
      const w0 = j * n;
      const w1 = w0 + n;
      const w2 = w1 + n;
      const w3 = w2 + n;
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      for (let k = 0; k < n; k++) {
        const xv = x[xo + k]!;
        a0 += xv * w[w0 + k]!;
        a1 += xv * w[w1 + k]!;
        a2 += xv * w[w2 + k]!;
        a3 += xv * w[w3 + k]!;
      }
      const zo = b * out + j;
      z[zo] = withBias(a0, bias, j, 'float64');
      z[zo + 1] = withBias(a1, bias, j + 1, 'float64');
      z[zo + 2] = withBias(a2, bias, j + 2, 'float64');
      z[zo + 3] = withBias(a3, bias, j + 3, 'float64');
    }
  }
}

/** As fourAtATimeFloat64, every product and partial sum rounded to float32. */
function fourAtATimeFloat32(x: FloatArray, w: FloatArray, z: FloatArray, bias: Tensor | null, batch: number, n: number, out: number, full: number): void {
  const f = Math.fround;
  for (let b = 0; b < batch; b++) {
    const xo = b * n;
    for (let j = 0; j < full; j += 4) {
      const w0 = j * n;
      const w1 = w0 + n;
      const w2 = w1 + n;
      const w3 = w2 + n;
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      for (let k = 0; k < n; k++) {
        const xv = x[xo + k]!;
        a0 = f(a0 + f(xv * w[w0 + k]!));
        a1 = f(a1 + f(xv * w[w1 + k]!));
        a2 = f(a2 + f(xv * w[w2 + k]!));
        a3 = f(a3 + f(xv * w[w3 + k]!));
      }
      const zo = b * out + j;
      z[zo] = withBias(a0, bias, j, 'float32');
      z[zo + 1] = withBias(a1, bias, j + 1, 'float32');
      z[zo + 2] = withBias(a2, bias, j + 2, 'float32');
      z[zo + 3] = withBias(a3, bias, j + 3, 'float32');
    }
  }
}

/** z[·, j] alone: what finite differences recompute when weight[j, ·] or bias[j] moves. */
export function linearColumn(a: Tensor, weight: Tensor, bias: Tensor | null, dtype: DType, j: number): FloatArray {
  const [batch = 0, n = 0] = a.shape;
  // Output (b, j) for every row b: x row b against weight row j.
  const xAt = new Int32Array(batch);
  for (let b = 0; b < batch; b++) xAt[b] = b * n;
  const sums = dots(xAt, new Int32Array(batch).fill(j * n), null, a.data, weight.data, n, dtype);
  const column = allocate(dtype, batch);
  for (let b = 0; b < batch; b++) column[b] = withBias(sums[b]!, bias, j, dtype);
  return column;
}

function withBias(acc: number, bias: Tensor | null, j: number, dtype: DType): number {
  if (bias === null) return acc;
  return dtype === 'float32' ? Math.fround(acc + bias.data[j]!) : acc + bias.data[j]!;
}

/**
 * prefix[(b·out + j)·n + c] = Σ_{k<c} a[b, k]·W[j, k], accumulated as the dot kernels accumulate
 * it: what linearResumedRows starts from.
 */
export function linearPrefixes(a: Tensor, weight: Tensor, dtype: DType): FloatArray {
  const [batch = 0, n = 0] = a.shape;
  const out = weight.shape[0] ?? 0;
  const prefix = allocate(dtype, batch * out * n);
  const [x, w] = [a.data, weight.data];
  for (let b = 0; b < batch; b++) {
    for (let j = 0; j < out; j++) {
      const at = (b * out + j) * n;
      let acc = 0;
      for (let k = 0; k < n; k++) {
        prefix[at + k] = acc;
        acc = dtype === 'float32' ? Math.fround(acc + Math.fround(x[b * n + k]! * w[j * n + k]!)) : acc + x[b * n + k]! * w[j * n + k]!;
      }
    }
  }
  return prefix;
}

/**
 * Rows of z = a·Wᵀ + b where a[rows[r], column] is now values[r]: each sum resumed at `column`
 * from its prefix, then continued over the unchanged columns in order, so every value is the one
 * linearForward computes for the changed input.
 */
export function linearResumedRows(
  prefix: FloatArray, a: Tensor, weight: Tensor, bias: Tensor | null, dtype: DType, column: number, rows: readonly number[], values: FloatArray,
): FloatArray {
  const n = a.shape[1] ?? 0;
  const out = weight.shape[0] ?? 0;
  const w = weight.data;
  const count = rows.length * out;
  const xAt = new Int32Array(count);
  const wAt = new Int32Array(count);
  const start = allocate(dtype, count);
  for (let r = 0; r < rows.length; r++) {
    const b = rows[r]!;
    for (let j = 0; j < out; j++) {
      const p = r * out + j;
      // The sum so far, and the changed column's term, rounded as the kernel rounds them.
      const sum = prefix[(b * out + j) * n + column]!;
      start[p] = dtype === 'float32' ? Math.fround(sum + Math.fround(values[r]! * w[j * n + column]!)) : sum + values[r]! * w[j * n + column]!;
      xAt[p] = b * n + column + 1;
      wAt[p] = j * n + column + 1;
    }
  }
  const sums = dots(xAt, wAt, start, a.data, w, n - column - 1, dtype);
  const z = allocate(dtype, count);
  for (let p = 0; p < count; p++) z[p] = withBias(sums[p]!, bias, p % out, dtype);
  return z;
}

// Note [Four dot products at once]
// A dot product summed in k order is one chain of dependent additions: each waits for the last
// to finish, and the adder sits idle most of the time. Four independent dot products advanced
// together keep it busy, and each is still summed in k order with the same roundings, so every
// output is bit-identical to computing it alone. Only the interleaving changes, not the order.
// Each kernel comes in a float64 and a float32 copy on purpose: the float64 loop rounds nothing,
// and keeping the two apart lets V8 compile each tightly (a rounding passed in as a function
// would be a call in the innermost loop).
// Any four will do, so the kernel takes a flat list of them (rows × outputs, whatever the shape).

/**
 * d[m] = start[m] + Σ_{k<len} x[xAt[m] + k]·w[wAt[m] + k] (start 0 when null), each summed in k
 * order, every product and partial sum rounded to `dtype`, four at a time.
 */
function dots(xAt: Int32Array, wAt: Int32Array, start: FloatArray | null, x: FloatArray, w: FloatArray, len: number, dtype: DType): Float64Array {
  const d = new Float64Array(xAt.length);
  if (dtype === 'float32') dotsFloat32(xAt, wAt, start, x, w, len, d);
  else dotsFloat64(xAt, wAt, start, x, w, len, d);
  return d;
}

function dotsFloat64(xAt: Int32Array, wAt: Int32Array, start: FloatArray | null, x: FloatArray, w: FloatArray, len: number, d: Float64Array): void {
  const count = xAt.length;
  let m = 0;
  for (; m + 4 <= count; m += 4) {
    const x0 = xAt[m]!;
    const w0 = wAt[m]!;
    const w1 = wAt[m + 1]!;
    const w2 = wAt[m + 2]!;
    const w3 = wAt[m + 3]!;
    let a0 = start === null ? 0 : start[m]!;
    let a1 = start === null ? 0 : start[m + 1]!;
    let a2 = start === null ? 0 : start[m + 2]!;
    let a3 = start === null ? 0 : start[m + 3]!;
    const x1 = xAt[m + 1]!;
    const x2 = xAt[m + 2]!;
    const x3 = xAt[m + 3]!;
    for (let k = 0; k < len; k++) {
      a0 += x[x0 + k]! * w[w0 + k]!;
      a1 += x[x1 + k]! * w[w1 + k]!;
      a2 += x[x2 + k]! * w[w2 + k]!;
      a3 += x[x3 + k]! * w[w3 + k]!;
    }
    d[m] = a0;
    d[m + 1] = a1;
    d[m + 2] = a2;
    d[m + 3] = a3;
  }
  for (; m < count; m++) {
    let acc = start === null ? 0 : start[m]!;
    for (let k = 0; k < len; k++) acc += x[xAt[m]! + k]! * w[wAt[m]! + k]!;
    d[m] = acc;
  }
}

function dotsFloat32(xAt: Int32Array, wAt: Int32Array, start: FloatArray | null, x: FloatArray, w: FloatArray, len: number, d: Float64Array): void {
  const f = Math.fround;
  const count = xAt.length;
  let m = 0;
  for (; m + 4 <= count; m += 4) {
    const x0 = xAt[m]!;
    const w0 = wAt[m]!;
    const w1 = wAt[m + 1]!;
    const w2 = wAt[m + 2]!;
    const w3 = wAt[m + 3]!;
    let a0 = start === null ? 0 : start[m]!;
    let a1 = start === null ? 0 : start[m + 1]!;
    let a2 = start === null ? 0 : start[m + 2]!;
    let a3 = start === null ? 0 : start[m + 3]!;
    const x1 = xAt[m + 1]!;
    const x2 = xAt[m + 2]!;
    const x3 = xAt[m + 3]!;
    for (let k = 0; k < len; k++) {
      a0 = f(a0 + f(x[x0 + k]! * w[w0 + k]!));
      a1 = f(a1 + f(x[x1 + k]! * w[w1 + k]!));
      a2 = f(a2 + f(x[x2 + k]! * w[w2 + k]!));
      a3 = f(a3 + f(x[x3 + k]! * w[w3 + k]!));
    }
    d[m] = a0;
    d[m + 1] = a1;
    d[m + 2] = a2;
    d[m + 3] = a3;
  }
  for (; m < count; m++) {
    let acc = start === null ? 0 : start[m]!;
    for (let k = 0; k < len; k++) acc = f(acc + f(x[xAt[m]! + k]! * w[wAt[m]! + k]!));
    d[m] = acc;
  }
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
  // weight[j, k] and bias[j] feed output column j only.
  parameterColumn: (_spec, suffix, index, inFeatures) => (suffix === 'weight' ? Math.floor(index / inFeatures) : index),
  forwardColumn: (spec, input, params, dtype, column) => linearColumn(input, params.weight!, spec.bias ? params.bias! : null, dtype, column),
  resume: {
    prefixes: (_spec, input, params, dtype) => linearPrefixes(input, params.weight!, dtype),
    rows: (spec, prefix, input, params, dtype, column, rows, values) =>
      linearResumedRows(prefix, input, params.weight!, spec.bias ? params.bias! : null, dtype, column, rows, values),
  },
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
