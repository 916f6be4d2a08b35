import { BOUND_PARTS, totals, zeroBound, type ErrorBound } from './errorBound.ts';
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
  return { values, bound, total: totals(bound), rowStride, colStride };
}

/** A vector of n exact ones: Σ_b as a product. */
export const ones = (n: number): Operand => operand(new Float64Array(n).fill(1), zeroBound([n], n), 1, 1);

function isZero(values: Float64Array): boolean {
  for (let i = 0; i < values.length; i++) if (values[i] !== 0) return false;
  return true;
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
  const out = zeroBound([m, p], m * p);
  const g = r.gamma(terms);
  // n products and n sums at most, each possibly underflowing.
  const underflow = r.underflow(2 * terms);
  const arithmetic = out.parts.arithmetic;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < p; j++) {
      let magnitude = bias === null ? 0 : Math.abs(bias.values[j]!);
      for (let k = 0; k < n; k++) magnitude += Math.abs(a.values[i * a.rowStride + k * a.colStride]!) * Math.abs(b.values[k * b.rowStride + j * b.colStride]!);
      arithmetic[i * p + j] = g * magnitude + underflow;
    }
  }
  // Each part propagates on its own: |ΔA|·|B| + (|A| + |ΔA|)·|ΔB| per part. Parts that are zero
  // on both operands (most of them, most of the time) contribute nothing and are skipped.
  for (const part of BOUND_PARTS) {
    const [da, db] = [a.bound.parts[part], b.bound.parts[part]];
    const dBias = bias?.bound.parts[part];
    const [aZero, bZero] = [isZero(da), isZero(db)];
    if (aZero && bZero && (dBias === undefined || isZero(dBias))) continue;
    const into = out.parts[part];
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < p; j++) {
        let sum = dBias === undefined ? 0 : dBias[j]!;
        for (let k = 0; k < n; k++) {
          const ia = i * a.rowStride + k * a.colStride;
          const ib = k * b.rowStride + j * b.colStride;
          if (!aZero) sum += da[ia]! * Math.abs(b.values[ib]!);
          if (!bZero) sum += (Math.abs(a.values[ia]!) + a.total[ia]!) * db[ib]!;
        }
        into[i * p + j]! += sum;
      }
    }
  }
  return out;
}
