import { BOUND_PARTS, isZero, totalOf, totalOnly, zeroBound, type ErrorBound } from './errorBound.ts';
import type { Roundoffs } from './roundoff.ts';

/** A matrix view into a flat array with its bound: element (i, k) at i·rowStride + k·colStride. */
export interface Operand {
  readonly values: ArrayLike<number>;
  readonly bound: ErrorBound;
  readonly total: Float64Array;
  readonly rowStride: number;
  readonly colStride: number;
}

export function operand(values: ArrayLike<number>, bound: ErrorBound, rowStride: number, colStride: number): Operand {
  return { values, bound, total: totalOf(bound), rowStride, colStride };
}

/** A vector of n exact ones: Σ_b as a product. */
export const ones = (n: number): Operand => operand(new Float64Array(n).fill(1), zeroBound([n], n), 1, 1);

/** out[i·cols + k] = values[i·rowStride + k·colStride]: a strided view copied contiguous, row by row. */
function packed(values: ArrayLike<number>, rows: number, cols: number, rowStride: number, colStride: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let k = 0; k < cols; k++) out[i * cols + k] = values[i * rowStride + k * colStride]!;
  return out;
}

/** As packed, with magnitudes |values|. */
function packedAbs(values: ArrayLike<number>, rows: number, cols: number, rowStride: number, colStride: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let k = 0; k < cols; k++) out[i * cols + k] = Math.abs(values[i * rowStride + k * colStride]!);
  return out;
}

/**
 * Bound of C = A·B (+ bias) for A [m×n], B [n×p] views, where each output element is a
 * reduction of `terms` roundings (n products and sums, plus one for a bias), per
 * docs/tolerance-policy.md §2.1: |ΔC| ≤ γ_terms·(|A||B| + |b|) + |ΔA||B| + (|A| + |ΔA|)|ΔB| + |Δb|,
 * plus one subnormal spacing per operation for results that underflow.
 */
export function productBound(
  a: Operand, b: Operand, m: number, n: number, p: number, terms: number, r: Roundoffs,
  bias: { values: ArrayLike<number>; bound: ErrorBound } | null = null,
): ErrorBound {
  const g = r.gamma(terms);
  // n products and n sums at most, each possibly underflowing.
  const underflow = r.underflow(2 * terms);
  if (!r.split) return totalOnly([m, p], totalBound(a, b, m, n, p, g, underflow, bias));
  const out = zeroBound([m, p], m * p);
  // A by rows and B by columns, copied contiguous along k: every inner loop below then walks two
  // arrays in step, whatever the views' strides (a transposed gradient, a weight read as Wᵀ).
  const absA = packedAbs(a.values, m, n, a.rowStride, a.colStride);
  const absB = packedAbs(b.values, p, n, b.colStride, b.rowStride);
  const arithmetic = out.parts.arithmetic;
  const magnitude = sumsOfProducts(absA, absB, null, null, m, n, p, bias === null ? null : Float64Array.from({ length: p }, (_, j) => Math.abs(bias.values[j]!)));
  for (let q = 0; q < m * p; q++) arithmetic[q] = g * magnitude[q]! + underflow;
  // Each part propagates on its own: |ΔA|·|B| + (|A| + |ΔA|)·|ΔB| per part. Parts that are zero
  // on both operands (most of them, most of the time) contribute nothing and are skipped.
  let reachA: Float64Array | undefined;
  for (const part of BOUND_PARTS) {
    const dBias = bias?.bound.parts[part];
    const [aZero, bZero] = [isZero(a.bound.parts[part]), isZero(b.bound.parts[part])];
    if (aZero && bZero && (dBias === undefined || isZero(dBias))) continue;
    const da = aZero ? null : packed(a.bound.parts[part], m, n, a.rowStride, a.colStride);
    const db = bZero ? null : packed(b.bound.parts[part], p, n, b.colStride, b.rowStride);
    // |A| + |ΔA| with ΔA's every part, once for all parts.
    if (db !== null) reachA ??= packed(a.total, m, n, a.rowStride, a.colStride).map((t, q) => absA[q]! + t);
    const into = out.parts[part];
    if (da === null && db === null) {
      // The bias alone carries this part.
      for (let q = 0; q < m * p; q++) into[q]! += dBias![q % p]!;
      continue;
    }
    const sums = da === null
      ? sumsOfProducts(reachA!, db!, null, null, m, n, p, dBias ?? null)
      : sumsOfProducts(da, absB, db === null ? null : reachA!, db, m, n, p, dBias ?? null);
    for (let q = 0; q < m * p; q++) into[q]! += sums[q]!;
  }
  return out;
}

/**
 * productBound's total alone (Note [Totals only] in src/model/bounds.ts), into `into`: the same
 * terms gathered into one sum per output, (γ|A| + |ΔA|)·|B| + (|A| + |ΔA|)·|ΔB| + γ|b| + |Δb|, so
 * one pass over k instead of one for the magnitudes and one per part.
 */
function totalBound(
  a: Operand, b: Operand, m: number, n: number, p: number, g: number, underflow: number,
  bias: { values: ArrayLike<number>; bound: ErrorBound } | null,
): Float64Array {
  const lead = packed(a.values, m, n, a.rowStride, a.colStride);
  const reach = isZero(b.total) ? null : new Float64Array(m * n);
  const aTotal = packed(a.total, m, n, a.rowStride, a.colStride);
  for (let q = 0; q < m * n; q++) {
    const magnitude = Math.abs(lead[q]!);
    lead[q] = g * magnitude + aTotal[q]!;
    if (reach !== null) reach[q] = magnitude + aTotal[q]!;
  }
  const biasTotal = bias === null ? null : totalOf(bias.bound);
  const start = bias === null ? null : Float64Array.from({ length: p }, (_, j) => g * Math.abs(bias.values[j]!) + biasTotal![j]!);
  const sums = sumsOfProducts(lead, packedAbs(b.values, p, n, b.colStride, b.rowStride), reach, reach === null ? null : packed(b.total, p, n, b.colStride, b.rowStride), m, n, p, start);
  for (let q = 0; q < m * p; q++) sums[q]! += underflow;
  return sums;
}

/**
 * sums[i·p + j] = start[j] + Σ_k (a[i·n + k]·b[j·n + k] + c[i·n + k]·d[j·n + k]) (start 0 when
 * null; the c·d terms only when given), each sum in k order, one term after the other; four j
 * at a time, sharing a row of a (Note [Four dot products at once] in src/ops/linear.ts).
 */
function sumsOfProducts(a: Float64Array, b: Float64Array, c: Float64Array | null, d: Float64Array | null, m: number, n: number, p: number, start: ArrayLike<number> | null): Float64Array {
  const sums = new Float64Array(m * p);
  const full = p - (p % 4);
  for (let i = 0; i < m; i++) {
    const ia = i * n;
    let j = 0;
    for (; j < full; j += 4) {
      const [b0, b1, b2, b3] = [j * n, (j + 1) * n, (j + 2) * n, (j + 3) * n];
      let s0 = start === null ? 0 : start[j]!;
      let s1 = start === null ? 0 : start[j + 1]!;
      let s2 = start === null ? 0 : start[j + 2]!;
      let s3 = start === null ? 0 : start[j + 3]!;
      if (c === null || d === null) {
        for (let k = 0; k < n; k++) {
          const av = a[ia + k]!;
          s0 += av * b[b0 + k]!;
          s1 += av * b[b1 + k]!;
          s2 += av * b[b2 + k]!;
          s3 += av * b[b3 + k]!;
        }
      } else {
        for (let k = 0; k < n; k++) {
          const [av, cv] = [a[ia + k]!, c[ia + k]!];
          s0 = s0 + av * b[b0 + k]! + cv * d[b0 + k]!;
          s1 = s1 + av * b[b1 + k]! + cv * d[b1 + k]!;
          s2 = s2 + av * b[b2 + k]! + cv * d[b2 + k]!;
          s3 = s3 + av * b[b3 + k]! + cv * d[b3 + k]!;
        }
      }
      sums[i * p + j] = s0;
      sums[i * p + j + 1] = s1;
      sums[i * p + j + 2] = s2;
      sums[i * p + j + 3] = s3;
    }
    for (; j < p; j++) {
      const jb = j * n;
      let s0 = start === null ? 0 : start[j]!;
      if (c === null || d === null) for (let k = 0; k < n; k++) s0 += a[ia + k]! * b[jb + k]!;
      else for (let k = 0; k < n; k++) s0 = s0 + a[ia + k]! * b[jb + k]! + c[ia + k]! * d[jb + k]!;
      sums[i * p + j] = s0;
    }
  }
  return sums;
}
