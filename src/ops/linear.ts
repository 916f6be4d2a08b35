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
  const b = biasValues(bias);
  if (dtype === 'float32') rowsFloat32(a.data, weight.data, b, z.data, batch, n, out, null, 0, null, null);
  else rowsFloat64(a.data, weight.data, b, z.data, batch, n, out, null, 0, null, null);
  return z;
}

/** z[·, j] alone: what finite differences recompute when weight[j, ·] or bias[j] moves. */
export function linearColumn(a: Tensor, weight: Tensor, bias: Tensor | null, dtype: DType, j: number): FloatArray {
  const [batch = 0, n = 0] = a.shape;
  const column = allocate(dtype, batch);
  const b = biasValues(bias);
  if (dtype === 'float32') columnFloat32(a.data, weight.data, j, b, column, batch, n);
  else columnFloat64(a.data, weight.data, j, b, column, batch, n);
  return column;
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
  const b = biasValues(bias);
  const resume: Resume = { prefix, column };
  if (dtype === 'float32') rowsFloat32(a.data, weight.data, b, z, rows.length, n, out, resume, column + 1, rows, values);
  else rowsFloat64(a.data, weight.data, b, z, rows.length, n, out, resume, column + 1, rows, values);
  return z;
}

// Note [Four dot products at once]
// A dot product summed in k order is one chain of dependent additions: each waits for the last
// to finish, and the adder sits idle most of the time. Four independent dot products advanced
// together keep it busy, and each is still summed in k order with the same roundings, so every
// output is bit-identical to computing it alone. Only the interleaving changes, not the order.
// The sums share their operands: a forward pass (and a resumed one) takes two input rows against
// four weight rows, eight sums for which each x value is loaded once per four outputs and each w
// value once per two rows; a column takes four input rows against its one weight row. Each
// kernel comes in a float64 and a float32 copy on purpose: the float64 loop rounds nothing, and
// keeping the two apart lets V8 compile each tightly (a rounding passed in as a function would be
// a call in the innermost loop). The kernels write into their caller's one output array and
// allocate nothing: finite differences call them tens of thousands of times.

/** The bias the kernels add, or null for none. */
function biasValues(bias: Tensor | null): FloatArray | null {
  return bias === null ? null : bias.data;
}

/** Where resumed sums start: the prefix before `column`, plus the changed column's term. */
interface Resume {
  readonly prefix: FloatArray;
  readonly column: number;
}

/**
 * z[r·out + j] = bias[j] + Σ_{k ≥ k0} x[b·n + k]·w[j·n + k] for r < count, with b = rows[r] (r
 * itself when rows is null) and the sum starting at 0, or, resumed, at
 * prefix[(b·out + j)·n + column] + values[r]·w[j·n + column]. Two rows and four outputs at a
 * time (eight sums from two x loads and four w loads per step), then a last odd row four outputs
 * at a time, then every row's last out mod 4 outputs one at a time.
 */
function rowsFloat64(
  x: FloatArray, w: FloatArray, bias: FloatArray | null, z: FloatArray, count: number, n: number, out: number,
  resume: Resume | null, k0: number, rows: readonly number[] | null, values: FloatArray | null,
): void {
  const full = out - (out % 4);
  let r = 0;
  for (; r + 2 <= count; r += 2) {
    const b0 = rows === null ? r : rows[r]!;
    const b1 = rows === null ? r + 1 : rows[r + 1]!;
    const x0 = b0 * n;
    const x1 = b1 * n;
    const z0 = r * out;
    const z1 = z0 + out;
    for (let j = 0; j < full; j += 4) {
      const w0 = j * n;
      const w1 = w0 + n;
      const w2 = w1 + n;
      const w3 = w2 + n;
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      let c0 = 0;
      let c1 = 0;
      let c2 = 0;
      let c3 = 0;
      if (resume !== null) {
        a0 = startFloat64(resume, values!, w, r, b0, j, out, n);
        a1 = startFloat64(resume, values!, w, r, b0, j + 1, out, n);
        a2 = startFloat64(resume, values!, w, r, b0, j + 2, out, n);
        a3 = startFloat64(resume, values!, w, r, b0, j + 3, out, n);
        c0 = startFloat64(resume, values!, w, r + 1, b1, j, out, n);
        c1 = startFloat64(resume, values!, w, r + 1, b1, j + 1, out, n);
        c2 = startFloat64(resume, values!, w, r + 1, b1, j + 2, out, n);
        c3 = startFloat64(resume, values!, w, r + 1, b1, j + 3, out, n);
      }
      for (let k = k0; k < n; k++) {
        const xv = x[x0 + k]!;
        const yv = x[x1 + k]!;
        const v0 = w[w0 + k]!;
        const v1 = w[w1 + k]!;
        const v2 = w[w2 + k]!;
        const v3 = w[w3 + k]!;
        a0 += xv * v0;
        a1 += xv * v1;
        a2 += xv * v2;
        a3 += xv * v3;
        c0 += yv * v0;
        c1 += yv * v1;
        c2 += yv * v2;
        c3 += yv * v3;
      }
      if (bias === null) {
        z[z0 + j] = a0;
        z[z0 + j + 1] = a1;
        z[z0 + j + 2] = a2;
        z[z0 + j + 3] = a3;
        z[z1 + j] = c0;
        z[z1 + j + 1] = c1;
        z[z1 + j + 2] = c2;
        z[z1 + j + 3] = c3;
      } else {
        z[z0 + j] = a0 + bias[j]!;
        z[z0 + j + 1] = a1 + bias[j + 1]!;
        z[z0 + j + 2] = a2 + bias[j + 2]!;
        z[z0 + j + 3] = a3 + bias[j + 3]!;
        z[z1 + j] = c0 + bias[j]!;
        z[z1 + j + 1] = c1 + bias[j + 1]!;
        z[z1 + j + 2] = c2 + bias[j + 2]!;
        z[z1 + j + 3] = c3 + bias[j + 3]!;
      }
    }
  }
  if (r < count) {
    const b = rows === null ? r : rows[r]!;
    const xo = b * n;
    const zo = r * out;
    for (let j = 0; j < full; j += 4) {
      const w0 = j * n;
      const w1 = w0 + n;
      const w2 = w1 + n;
      const w3 = w2 + n;
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      if (resume !== null) {
        a0 = startFloat64(resume, values!, w, r, b, j, out, n);
        a1 = startFloat64(resume, values!, w, r, b, j + 1, out, n);
        a2 = startFloat64(resume, values!, w, r, b, j + 2, out, n);
        a3 = startFloat64(resume, values!, w, r, b, j + 3, out, n);
      }
      for (let k = k0; k < n; k++) {
        const xv = x[xo + k]!;
        a0 += xv * w[w0 + k]!;
        a1 += xv * w[w1 + k]!;
        a2 += xv * w[w2 + k]!;
        a3 += xv * w[w3 + k]!;
      }
      z[zo + j] = bias === null ? a0 : a0 + bias[j]!;
      z[zo + j + 1] = bias === null ? a1 : a1 + bias[j + 1]!;
      z[zo + j + 2] = bias === null ? a2 : a2 + bias[j + 2]!;
      z[zo + j + 3] = bias === null ? a3 : a3 + bias[j + 3]!;
    }
  }
  for (let q = 0; q < count && full < out; q++) {
    const b = rows === null ? q : rows[q]!;
    const xo = b * n;
    for (let j = full; j < out; j++) {
      const wj = j * n;
      let acc = resume === null ? 0 : startFloat64(resume, values!, w, q, b, j, out, n);
      for (let k = k0; k < n; k++) acc += x[xo + k]! * w[wj + k]!;
      z[q * out + j] = bias === null ? acc : acc + bias[j]!;
    }
  }
}

/** As rowsFloat64, every product and partial sum rounded to float32. */
function rowsFloat32(
  x: FloatArray, w: FloatArray, bias: FloatArray | null, z: FloatArray, count: number, n: number, out: number,
  resume: Resume | null, k0: number, rows: readonly number[] | null, values: FloatArray | null,
): void {
  const f = Math.fround;
  const full = out - (out % 4);
  let r = 0;
  for (; r + 2 <= count; r += 2) {
    const b0 = rows === null ? r : rows[r]!;
    const b1 = rows === null ? r + 1 : rows[r + 1]!;
    const x0 = b0 * n;
    const x1 = b1 * n;
    const z0 = r * out;
    const z1 = z0 + out;
    for (let j = 0; j < full; j += 4) {
      const w0 = j * n;
      const w1 = w0 + n;
      const w2 = w1 + n;
      const w3 = w2 + n;
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      let c0 = 0;
      let c1 = 0;
      let c2 = 0;
      let c3 = 0;
      if (resume !== null) {
        a0 = startFloat32(resume, values!, w, r, b0, j, out, n);
        a1 = startFloat32(resume, values!, w, r, b0, j + 1, out, n);
        a2 = startFloat32(resume, values!, w, r, b0, j + 2, out, n);
        a3 = startFloat32(resume, values!, w, r, b0, j + 3, out, n);
        c0 = startFloat32(resume, values!, w, r + 1, b1, j, out, n);
        c1 = startFloat32(resume, values!, w, r + 1, b1, j + 1, out, n);
        c2 = startFloat32(resume, values!, w, r + 1, b1, j + 2, out, n);
        c3 = startFloat32(resume, values!, w, r + 1, b1, j + 3, out, n);
      }
      for (let k = k0; k < n; k++) {
        const xv = x[x0 + k]!;
        const yv = x[x1 + k]!;
        const v0 = w[w0 + k]!;
        const v1 = w[w1 + k]!;
        const v2 = w[w2 + k]!;
        const v3 = w[w3 + k]!;
        a0 = f(a0 + f(xv * v0));
        a1 = f(a1 + f(xv * v1));
        a2 = f(a2 + f(xv * v2));
        a3 = f(a3 + f(xv * v3));
        c0 = f(c0 + f(yv * v0));
        c1 = f(c1 + f(yv * v1));
        c2 = f(c2 + f(yv * v2));
        c3 = f(c3 + f(yv * v3));
      }
      if (bias === null) {
        z[z0 + j] = a0;
        z[z0 + j + 1] = a1;
        z[z0 + j + 2] = a2;
        z[z0 + j + 3] = a3;
        z[z1 + j] = c0;
        z[z1 + j + 1] = c1;
        z[z1 + j + 2] = c2;
        z[z1 + j + 3] = c3;
      } else {
        z[z0 + j] = f(a0 + bias[j]!);
        z[z0 + j + 1] = f(a1 + bias[j + 1]!);
        z[z0 + j + 2] = f(a2 + bias[j + 2]!);
        z[z0 + j + 3] = f(a3 + bias[j + 3]!);
        z[z1 + j] = f(c0 + bias[j]!);
        z[z1 + j + 1] = f(c1 + bias[j + 1]!);
        z[z1 + j + 2] = f(c2 + bias[j + 2]!);
        z[z1 + j + 3] = f(c3 + bias[j + 3]!);
      }
    }
  }
  if (r < count) {
    const b = rows === null ? r : rows[r]!;
    const xo = b * n;
    const zo = r * out;
    for (let j = 0; j < full; j += 4) {
      const w0 = j * n;
      const w1 = w0 + n;
      const w2 = w1 + n;
      const w3 = w2 + n;
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      if (resume !== null) {
        a0 = startFloat32(resume, values!, w, r, b, j, out, n);
        a1 = startFloat32(resume, values!, w, r, b, j + 1, out, n);
        a2 = startFloat32(resume, values!, w, r, b, j + 2, out, n);
        a3 = startFloat32(resume, values!, w, r, b, j + 3, out, n);
      }
      for (let k = k0; k < n; k++) {
        const xv = x[xo + k]!;
        a0 = f(a0 + f(xv * w[w0 + k]!));
        a1 = f(a1 + f(xv * w[w1 + k]!));
        a2 = f(a2 + f(xv * w[w2 + k]!));
        a3 = f(a3 + f(xv * w[w3 + k]!));
      }
      z[zo + j] = bias === null ? a0 : f(a0 + bias[j]!);
      z[zo + j + 1] = bias === null ? a1 : f(a1 + bias[j + 1]!);
      z[zo + j + 2] = bias === null ? a2 : f(a2 + bias[j + 2]!);
      z[zo + j + 3] = bias === null ? a3 : f(a3 + bias[j + 3]!);
    }
  }
  for (let q = 0; q < count && full < out; q++) {
    const b = rows === null ? q : rows[q]!;
    const xo = b * n;
    for (let j = full; j < out; j++) {
      const wj = j * n;
      let acc = resume === null ? 0 : startFloat32(resume, values!, w, q, b, j, out, n);
      for (let k = k0; k < n; k++) acc = f(acc + f(x[xo + k]! * w[wj + k]!));
      z[q * out + j] = bias === null ? acc : f(acc + bias[j]!);
    }
  }
}

/** Where resumed sum (row rows[r] = b, output j) starts: its prefix before the changed column, plus that column's new term. */
function startFloat64(resume: Resume, values: FloatArray, w: FloatArray, r: number, b: number, j: number, out: number, n: number): number {
  return resume.prefix[(b * out + j) * n + resume.column]! + values[r]! * w[j * n + resume.column]!;
}

/** As startFloat64, rounded to float32 as the kernel rounds. */
function startFloat32(resume: Resume, values: FloatArray, w: FloatArray, r: number, b: number, j: number, out: number, n: number): number {
  return Math.fround(resume.prefix[(b * out + j) * n + resume.column]! + Math.fround(values[r]! * w[j * n + resume.column]!));
}

/** column[b] = bias[j] + Σ_k x[b·n + k]·w[j·n + k] for every row b: four rows against weight row j at a time. */
function columnFloat64(x: FloatArray, w: FloatArray, j: number, biases: FloatArray | null, column: FloatArray, batch: number, n: number): void {
  const wo = j * n;
  const hasBias = biases !== null;
  const bias = biases === null ? 0 : biases[j]!;
  let b = 0;
  for (; b + 4 <= batch; b += 4) {
    const x0 = b * n;
    const x1 = x0 + n;
    const x2 = x1 + n;
    const x3 = x2 + n;
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    for (let k = 0; k < n; k++) {
      const wv = w[wo + k]!;
      a0 += x[x0 + k]! * wv;
      a1 += x[x1 + k]! * wv;
      a2 += x[x2 + k]! * wv;
      a3 += x[x3 + k]! * wv;
    }
    column[b] = hasBias ? a0 + bias : a0;
    column[b + 1] = hasBias ? a1 + bias : a1;
    column[b + 2] = hasBias ? a2 + bias : a2;
    column[b + 3] = hasBias ? a3 + bias : a3;
  }
  for (; b < batch; b++) {
    let acc = 0;
    for (let k = 0; k < n; k++) acc += x[b * n + k]! * w[wo + k]!;
    column[b] = hasBias ? acc + bias : acc;
  }
}

/** As columnFloat64, every product and partial sum rounded to float32. */
function columnFloat32(x: FloatArray, w: FloatArray, j: number, biases: FloatArray | null, column: FloatArray, batch: number, n: number): void {
  const f = Math.fround;
  const wo = j * n;
  const hasBias = biases !== null;
  const bias = biases === null ? 0 : biases[j]!;
  let b = 0;
  for (; b + 4 <= batch; b += 4) {
    const x0 = b * n;
    const x1 = x0 + n;
    const x2 = x1 + n;
    const x3 = x2 + n;
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    for (let k = 0; k < n; k++) {
      const wv = w[wo + k]!;
      a0 = f(a0 + f(x[x0 + k]! * wv));
      a1 = f(a1 + f(x[x1 + k]! * wv));
      a2 = f(a2 + f(x[x2 + k]! * wv));
      a3 = f(a3 + f(x[x3 + k]! * wv));
    }
    column[b] = hasBias ? f(a0 + bias) : a0;
    column[b + 1] = hasBias ? f(a1 + bias) : a1;
    column[b + 2] = hasBias ? f(a2 + bias) : a2;
    column[b + 3] = hasBias ? f(a3 + bias) : a3;
  }
  for (; b < batch; b++) {
    let acc = 0;
    for (let k = 0; k < n; k++) acc = f(acc + f(x[b * n + k]! * w[wo + k]!));
    column[b] = hasBias ? f(acc + bias) : acc;
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
  const [batch = 0, n = 0] = a.shape;
  const out = weight.shape[0] ?? 0;
  // Each sum runs over its index in ascending order from 0 (j for ∂L/∂a, b for ∂L/∂W and ∂L/∂b),
  // which is what the forward kernels compute for rows against rows without a bias: ∂L/∂a is dz's
  // rows against Wᵀ's, ∂L/∂W is dzᵀ's against aᵀ's (Note [Four dot products at once]).
  const rows = dtype === 'float32' ? rowsFloat32 : rowsFloat64;
  const input = tensor(dtype, [batch, n]);
  rows(dz.data, transposed(weight.data, out, n, dtype), null, input.data, batch, out, n, null, 0, null, null);
  const dWeight = tensor(dtype, [out, n]);
  rows(transposed(dz.data, batch, out, dtype), transposed(a.data, batch, n, dtype), null, dWeight.data, out, batch, n, null, 0, null, null);
  let dBias: Tensor | null = null;
  if (hasBias) {
    dBias = tensor(dtype, [out]);
    const round = rounderFor(dtype);
    for (let j = 0; j < out; j++) {
      let acc = 0;
      for (let b = 0; b < batch; b++) acc = round(acc + dz.data[b * out + j]!);
      dBias.data[j] = acc;
    }
  }
  return { input, weight: dWeight, bias: dBias };
}

/** The transpose of a rows × cols matrix, in the same precision (a copy: no value changes). */
function transposed(m: FloatArray, rows: number, cols: number, dtype: DType): FloatArray {
  const t = allocate(dtype, rows * cols);
  for (let i = 0; i < rows; i++) for (let k = 0; k < cols; k++) t[k * rows + i] = m[i * cols + k]!;
  return t;
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
