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
  const four = dtype === 'float32' ? dot4Float32 : dot4Float64;
  const one = dtype === 'float32' ? dotFloat32 : dotFloat64;
  for (let b = 0; b < batch; b++) {
    const xb = b * n;
    // Four outputs of a row at a time: the same x row against four weight rows.
    let j = 0;
    for (; j + 4 <= out; j += 4) {
      four(a.data, xb, xb, xb, xb, weight.data, j * n, (j + 1) * n, (j + 2) * n, (j + 3) * n, n);
      for (let q = 0; q < 4; q++) z.data[b * out + j + q] = withBias(block[q]!, bias, j + q, dtype);
    }
    for (; j < out; j++) z.data[b * out + j] = withBias(one(a.data, xb, weight.data, j * n, n), bias, j, dtype);
  }
  return z;
}

/** z[·, j] alone: what finite differences recompute when weight[j, ·] or bias[j] moves. */
export function linearColumn(a: Tensor, weight: Tensor, bias: Tensor | null, dtype: DType, j: number): FloatArray {
  const [batch = 0, n = 0] = a.shape;
  const column = allocate(dtype, batch);
  const four = dtype === 'float32' ? dot4Float32 : dot4Float64;
  const one = dtype === 'float32' ? dotFloat32 : dotFloat64;
  const wj = j * n;
  // Four rows at a time: four x rows against the same weight row.
  let b = 0;
  for (; b + 4 <= batch; b += 4) {
    four(a.data, b * n, (b + 1) * n, (b + 2) * n, (b + 3) * n, weight.data, wj, wj, wj, wj, n);
    for (let q = 0; q < 4; q++) column[b + q] = withBias(block[q]!, bias, j, dtype);
  }
  for (; b < batch; b++) column[b] = withBias(one(a.data, b * n, weight.data, wj, n), bias, j, dtype);
  return column;
}

function withBias(acc: number, bias: Tensor | null, j: number, dtype: DType): number {
  if (bias === null) return acc;
  return dtype === 'float32' ? Math.fround(acc + bias.data[j]!) : acc + bias.data[j]!;
}

// Note [Four dot products at once]
// A dot product summed in k order is one chain of dependent additions: each waits for the last
// to finish, and the adder sits idle most of the time. Four independent dot products advanced
// together keep it busy, and each is still summed in k order with the same roundings, so every
// output is bit-identical to computing it alone. Only the interleaving changes, not the order.

/** dot4Float64's and dot4Float32's four results. */
const block = new Float64Array(4);

function dot4Float64(x: FloatArray, x0: number, x1: number, x2: number, x3: number, w: FloatArray, w0: number, w1: number, w2: number, w3: number, n: number): void {
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  for (let k = 0; k < n; k++) {
    a0 += x[x0 + k]! * w[w0 + k]!;
    a1 += x[x1 + k]! * w[w1 + k]!;
    a2 += x[x2 + k]! * w[w2 + k]!;
    a3 += x[x3 + k]! * w[w3 + k]!;
  }
  block[0] = a0;
  block[1] = a1;
  block[2] = a2;
  block[3] = a3;
}

/** As dot4Float64, every product and partial sum rounded to float32. */
function dot4Float32(x: FloatArray, x0: number, x1: number, x2: number, x3: number, w: FloatArray, w0: number, w1: number, w2: number, w3: number, n: number): void {
  const f = Math.fround;
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  for (let k = 0; k < n; k++) {
    a0 = f(a0 + f(x[x0 + k]! * w[w0 + k]!));
    a1 = f(a1 + f(x[x1 + k]! * w[w1 + k]!));
    a2 = f(a2 + f(x[x2 + k]! * w[w2 + k]!));
    a3 = f(a3 + f(x[x3 + k]! * w[w3 + k]!));
  }
  block[0] = a0;
  block[1] = a1;
  block[2] = a2;
  block[3] = a3;
}

/** Σ_k x[xi + k]·w[wi + k], every product and partial sum rounded to float32. */
function dotFloat32(x: FloatArray, xi: number, w: FloatArray, wi: number, n: number): number {
  let acc = 0;
  for (let k = 0; k < n; k++) acc = Math.fround(acc + Math.fround(x[xi + k]! * w[wi + k]!));
  return acc;
}

function dotFloat64(x: FloatArray, xi: number, w: FloatArray, wi: number, n: number): number {
  let acc = 0;
  for (let k = 0; k < n; k++) acc += x[xi + k]! * w[wi + k]!;
  return acc;
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
  const z = allocate(dtype, rows.length * out);
  const [x, w] = [a.data, weight.data];
  for (let r = 0; r < rows.length; r++) {
    const b = rows[r]!;
    const v = values[r]!;
    // Four outputs at a time, each its own chain in k order (Note [Four dot products at once]).
    let j = 0;
    for (; j + 4 <= out; j += 4) {
      resume4(prefix, x, w, b, v, j, n, out, column, dtype);
      for (let q = 0; q < 4; q++) z[r * out + j + q] = withBias(block[q]!, bias, j + q, dtype);
    }
    for (; j < out; j++) {
      let acc = prefix[(b * out + j) * n + column]!;
      if (dtype === 'float32') {
        acc = Math.fround(acc + Math.fround(v * w[j * n + column]!));
        for (let k = column + 1; k < n; k++) acc = Math.fround(acc + Math.fround(x[b * n + k]! * w[j * n + k]!));
      } else {
        acc += v * w[j * n + column]!;
        for (let k = column + 1; k < n; k++) acc += x[b * n + k]! * w[j * n + k]!;
      }
      z[r * out + j] = withBias(acc, bias, j, dtype);
    }
  }
  return z;
}

/** Outputs (b, j … j + 3) resumed at `column` with its new value v, into `block`. */
function resume4(prefix: FloatArray, x: FloatArray, w: FloatArray, b: number, v: number, j: number, n: number, out: number, column: number, dtype: DType): void {
  const [w0, w1, w2, w3] = [j * n, (j + 1) * n, (j + 2) * n, (j + 3) * n];
  const at = (b * out + j) * n + column;
  const xb = b * n;
  let [a0, a1, a2, a3] = [prefix[at]!, prefix[at + n]!, prefix[at + 2 * n]!, prefix[at + 3 * n]!];
  if (dtype === 'float32') {
    const f = Math.fround;
    a0 = f(a0 + f(v * w[w0 + column]!));
    a1 = f(a1 + f(v * w[w1 + column]!));
    a2 = f(a2 + f(v * w[w2 + column]!));
    a3 = f(a3 + f(v * w[w3 + column]!));
    for (let k = column + 1; k < n; k++) {
      const xv = x[xb + k]!;
      a0 = f(a0 + f(xv * w[w0 + k]!));
      a1 = f(a1 + f(xv * w[w1 + k]!));
      a2 = f(a2 + f(xv * w[w2 + k]!));
      a3 = f(a3 + f(xv * w[w3 + k]!));
    }
  } else {
    a0 += v * w[w0 + column]!;
    a1 += v * w[w1 + column]!;
    a2 += v * w[w2 + column]!;
    a3 += v * w[w3 + column]!;
    for (let k = column + 1; k < n; k++) {
      const xv = x[xb + k]!;
      a0 += xv * w[w0 + k]!;
      a1 += xv * w[w1 + k]!;
      a2 += xv * w[w2 + k]!;
      a3 += xv * w[w3 + k]!;
    }
  }
  block[0] = a0;
  block[1] = a1;
  block[2] = a2;
  block[3] = a3;
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
