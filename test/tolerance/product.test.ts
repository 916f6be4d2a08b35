import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BOUND_PARTS, totals, zeroBound, type ErrorBound } from '../../src/tolerance/errorBound.ts';
import { operand, productBound, type Operand } from '../../src/tolerance/product.ts';
import { gamma, Roundoffs } from '../../src/tolerance/roundoff.ts';

// productBound packs its operands and sums four outputs at a time; here it is held, bit for bit,
// to the formula of docs/tolerance-policy.md §2.1 written as the plain triple loop it is.

/** The bound of C = A·B (+ bias) element by element, one sum at a time in k order. */
function plainBound(a: Operand, b: Operand, m: number, n: number, p: number, terms: number, r: Roundoffs, bias: { values: ArrayLike<number>; bound: ErrorBound } | null): ErrorBound {
  const out = zeroBound([m, p], m * p);
  const [A, B] = [(i: number, k: number) => i * a.rowStride + k * a.colStride, (k: number, j: number) => k * b.rowStride + j * b.colStride];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < p; j++) {
      let magnitude = bias === null ? 0 : Math.abs(bias.values[j]!);
      for (let k = 0; k < n; k++) magnitude += Math.abs(a.values[A(i, k)]!) * Math.abs(b.values[B(k, j)]!);
      out.parts.arithmetic[i * p + j] = r.gamma(terms) * magnitude + r.underflow(2 * terms);
    }
  }
  for (const part of BOUND_PARTS) {
    const [da, db, dBias] = [a.bound.parts[part], b.bound.parts[part], bias?.bound.parts[part]];
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < p; j++) {
        let sum = dBias === undefined ? 0 : dBias[j]!;
        for (let k = 0; k < n; k++) {
          if (da.some((v) => v !== 0)) sum += da[A(i, k)]! * Math.abs(b.values[B(k, j)]!);
          if (db.some((v) => v !== 0)) sum += (Math.abs(a.values[A(i, k)]!) + a.total[A(i, k)]!) * db[B(k, j)]!;
        }
        out.parts[part][i * p + j]! += sum;
      }
    }
  }
  return out;
}

/** A bound over `length` values with the chosen parts nonzero. */
function someBound(length: number, parts: readonly boolean[], seed: number): ErrorBound {
  const bound = zeroBound([length], length);
  BOUND_PARTS.forEach((part, k) => {
    if (parts[k]) for (let i = 0; i < length; i++) bound.parts[part][i] = ((seed * 31 + i * 17 + k * 7) % 13) * 1e-9;
  });
  return bound;
}

const values = (length: number, seed: number) => Float64Array.from({ length }, (_, i) => Math.sin(seed + i * 1.7) * 3);

describe('the bound of a matrix product (docs/tolerance-policy.md §2.1)', () => {
  it('equals the plain formula bit for bit, for any shape, strides and parts, a bias carrying a part alone included', () => {
    const parts = fc.array(fc.boolean(), { minLength: 4, maxLength: 4 });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 7 }), fc.integer({ min: 1, max: 9 }), fc.boolean(), fc.boolean(), parts, parts, fc.option(parts), (m, n, p, aTransposed, bTransposed, aParts, bParts, biasParts) => {
        const a = operand(values(m * n, 1), someBound(m * n, aParts, 2), aTransposed ? 1 : n, aTransposed ? m : 1);
        const b = operand(values(n * p, 3), someBound(n * p, bParts, 4), bTransposed ? 1 : p, bTransposed ? n : 1);
        const bias = biasParts === null ? null : { values: values(p, 5), bound: someBound(p, biasParts, 6) };
        const r = new Roundoffs(['float32', 'float64']);
        const got = productBound(a, b, m, n, p, n + (bias === null ? 0 : 1), r, bias);
        const want = plainBound(a, b, m, n, p, n + (bias === null ? 0 : 1), r, bias);
        for (const part of BOUND_PARTS) expect(Array.from(got.parts[part])).toEqual(Array.from(want.parts[part]));
        expect(Array.from(totals(got))).toEqual(Array.from(totals(want)));
      }),
      { numRuns: 300 },
    );
  });

  it('carries its total alone, when asked, to the rounding of the bound arithmetic (Note [Totals only])', () => {
    const parts = fc.array(fc.boolean(), { minLength: 4, maxLength: 4 });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 7 }), fc.integer({ min: 1, max: 9 }), fc.boolean(), parts, parts, fc.option(parts), (m, n, p, transposed, aParts, bParts, biasParts) => {
        const a = operand(values(m * n, 1), someBound(m * n, aParts, 2), transposed ? 1 : n, transposed ? m : 1);
        const b = operand(values(n * p, 3), someBound(n * p, bParts, 4), p, 1);
        const bias = biasParts === null ? null : { values: values(p, 5), bound: someBound(p, biasParts, 6) };
        const terms = n + (bias === null ? 0 : 1);
        const split = totals(productBound(a, b, m, n, p, terms, new Roundoffs(['float32', 'float64']), bias));
        const total = productBound(a, b, m, n, p, terms, new Roundoffs(['float32', 'float64'], undefined, false), bias);
        for (const part of BOUND_PARTS) if (part !== 'arithmetic') expect(total.parts[part].every((v) => v === 0)).toBe(true);
        // Both are float64 sums of the same nonnegative terms, each with at most 2n + 10 roundings on
        // any term's path (n + 1 magnitudes, n per part, the products, γ, the parts' sum): each
        // within γ_K of the exact value, so within 2γ_K of each other.
        const slack = 2 * gamma(2 * n + 10, 2 ** -53);
        split.forEach((want, q) => expect(Math.abs(total.parts.arithmetic[q]! - want)).toBeLessThanOrEqual(slack * want));
        if (n > 0 || bias !== null) expect(split.some((v) => v > 0)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('carries a bias-only part: exact operands, a bias that rounds', () => {
    const [m, n, p] = [2, 3, 2];
    const exact = (length: number) => zeroBound([length], length);
    const biasBound = zeroBound([p], p);
    biasBound.parts.inputRounding.set([1e-9, 2e-9]);
    const bound = productBound(operand(values(m * n, 1), exact(m * n), n, 1), operand(values(n * p, 2), exact(n * p), p, 1), m, n, p, n + 1, new Roundoffs(['float32', 'float64']), { values: [0.1, -0.3], bound: biasBound });
    expect(Array.from(bound.parts.inputRounding)).toEqual([1e-9, 2e-9, 1e-9, 2e-9]);
  });
});
