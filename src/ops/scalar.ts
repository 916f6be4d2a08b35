import { rounderFor, type DType } from '../tensor/dtype.ts';
import { BOUND_PARTS, zeroParts, type BoundPart } from '../tolerance/errorBound.ts';
import type { ElementaryFunction } from '../tolerance/arithmetic.ts';
import type { Roundoffs } from '../tolerance/roundoff.ts';
import { erf } from './erf.ts';

// Note [Elementwise ops as formulas]
// An elementwise op is written once, as a formula over the operations of `Arith`: its forward
// and its backward exactly as PyTorch's CPU kernels compute them (scripts/probe in the commit
// history matched each formula bit for bit against torch 1.13 in float32). Two arithmetics run
// the same formula:
// - `valueArith(dtype)` computes it, every operation rounded to `dtype`: the TS reference;
// - `boundArith(r)` carries, beside the TS value, a bound on how far two implementations' values
//   can be apart, by running error analysis (docs/tolerance-policy.md §2.4): each operation adds
//   its own rounding (u·|result| on each side, in `arithmetic`), an elementary function adds its
//   accuracy (each side's arithmetic model, src/tolerance/arithmetic.ts, in `elementary`), and incoming errors propagate through the
//   operation's partial derivatives at the TS values, to first order.
// So an op's bound is derived from the very formula it computes, and cannot drift from it.

/** The elementary functions a formula may call. Their accuracy on each side is that side's arithmetic model's (src/tolerance/arithmetic.ts). */
export type Elementary = ElementaryFunction;

// Looked up on Math at each call, not captured once, so that a test can stand in another implementation's functions.
const ELEMENTARY: Readonly<Record<Elementary, (x: number) => number>> = { exp: (x) => Math.exp(x), log: (x) => Math.log(x), log1p: (x) => Math.log1p(x), tanh: (x) => Math.tanh(x), erf };

/** The derivative of each elementary function at x, given f(x) = y. */
const SLOPE: Readonly<Record<Elementary, (x: number, y: number) => number>> = {
  exp: (_x, y) => y,
  log: (x) => 1 / x,
  log1p: (x) => 1 / (1 + x),
  tanh: (_x, y) => 1 - y * y,
  erf: (x) => 1.1283791670955126 * Math.exp(-x * x),
};

/** The operations an elementwise formula may use. */
export interface Arith<T> {
  /** A constant, as the kernel holds it (rounded to the precision). */
  c(v: number): T;
  add(a: T, b: T): T;
  sub(a: T, b: T): T;
  mul(a: T, b: T): T;
  div(a: T, b: T): T;
  neg(a: T): T;
  fn(f: Elementary, a: T): T;
  /**
   * `x > threshold ? above() : below()` (or `>=` with `orEqual`). Where the two sides may fall
   * on different sides of the threshold, the bound allows the difference of the two branches.
   */
  select(x: T, threshold: number, above: () => T, below: () => T, orEqual?: boolean): T;
  /** The number a formula's result stands for (its value, for the value arithmetic). */
  valueOf(a: T): number;
}

const isAbove = (v: number, t: number, orEqual: boolean) => (orEqual ? v >= t : v > t);

/** The TS reference: the formula in `dtype`, every operation rounded. */
export function valueArith(dtype: DType): Arith<number> {
  const round = rounderFor(dtype);
  return {
    c: round,
    add: (a, b) => round(a + b),
    sub: (a, b) => round(a - b),
    mul: (a, b) => round(a * b),
    div: (a, b) => round(a / b),
    neg: (a) => -a,
    fn: (f, a) => round(ELEMENTARY[f](a)),
    // The kernel holds the threshold in its own precision, as it does every scalar argument.
    select: (x, t, above, below, orEqual = false) => (isAbove(x, round(t), orEqual) ? above() : below()),
    valueOf: (a) => a,
  };
}

/** A value with a bound on how far two implementations' values of it can be apart, by part. */
export interface Tracked {
  readonly v: number;
  readonly e: Readonly<Record<BoundPart, number>>;
  /**
   * Each side's own value, when known: for the op's input when both sides' results are known,
   * for constants, and for what exact operations (on both sides) make of them. A branch on a
   * value whose sides are known is decided exactly instead of from the bound.
   */
  readonly sides?: readonly [number, number];
}

const total = (t: Tracked) => BOUND_PARTS.reduce((s, p) => s + t.e[p], 0);

/** Σ kᵢ·eᵢ over the parts, plus `extra` added to one part. */
function combine(terms: readonly (readonly [number, Tracked])[], extra: Partial<Record<BoundPart, number>> = {}): Record<BoundPart, number> {
  const e = zeroParts();
  // A term with no error contributes nothing, even where its slope overflowed (∞·0 would be NaN).
  for (const [k, t] of terms) for (const p of BOUND_PARTS) if (t.e[p] !== 0 && k !== 0) e[p] += Math.abs(k) * t.e[p];
  for (const p of BOUND_PARTS) e[p] += extra[p] ?? 0;
  return e;
}

/**
 * The bound arithmetic of a comparison with rounding budget `r`. Values are the TS run's (in the
 * coarser precision, `dtype`), so that magnitudes are those of the computation being bounded.
 */
export function boundArith(r: Roundoffs, dtype: DType): Arith<Tracked> {
  const value = valueArith(dtype);
  // One rounding of a result of magnitude |v| on each side, and its underflow.
  const rounding = (v: number) => r.ulps(1) * Math.abs(v) + r.underflow(1);
  // Both sides' values of an operation's result, where both sides' operands are known and the
  // operation is exact on each side; otherwise unknown (rounding may differ between the sides).
  const exactly = (a: Tracked, b: Tracked, op: (x: number, y: number) => number): { sides?: readonly [number, number] } => {
    if (a.sides === undefined || b.sides === undefined) return {};
    const exact = [op(a.sides[0], b.sides[0]), op(a.sides[1], b.sides[1])] as const;
    return exact.every((v, side) => Number.isFinite(v) && r.roundOn(side as 0 | 1, v) === v) ? { sides: exact } : {};
  };
  const sides = (x: Tracked, t: number, orEqual: boolean): 'same' | 'may differ' => {
    if (x.sides !== undefined) {
      // Each side compares against the threshold as its own precision holds it.
      const [a, b] = [0, 1].map((side) => isAbove(x.sides![side]!, r.roundOn(side as 0 | 1, t), orEqual));
      return a === b ? 'same' : 'may differ';
    }
    // Within its bound of the threshold (as either side holds it) the sides may branch apart; a
    // zero bound and a threshold held alike mean both compare the same numbers, even at t.
    const margin = total(x) + r.representationGap(t);
    return margin > 0 && Math.abs(x.v - t) <= margin ? 'may differ' : 'same';
  };
  return {
    // A constant is rounded alike on both sides of a same-precision comparison; across precisions
    // the two roundings differ by exactly this.
    c: (v) => ({ v: value.c(v), e: { ...zeroParts(), inputRounding: r.representationGap(v) }, sides: [r.roundOn(0, v), r.roundOn(1, v)] }),
    add: (a, b) => {
      const v = value.add(a.v, b.v);
      return { v, e: combine([[1, a], [1, b]], { arithmetic: rounding(v) }), ...exactly(a, b, (x, y) => x + y) };
    },
    sub: (a, b) => {
      const v = value.sub(a.v, b.v);
      return { v, e: combine([[1, a], [1, b]], { arithmetic: rounding(v) }), ...exactly(a, b, (x, y) => x - y) };
    },
    mul: (a, b) => {
      const v = value.mul(a.v, b.v);
      return { v, e: combine([[b.v, a], [a.v, b]], { arithmetic: rounding(v) }), ...exactly(a, b, (x, y) => x * y) };
    },
    div: (a, b) => {
      const v = value.div(a.v, b.v);
      return { v, e: combine([[1 / b.v, a], [a.v / (b.v * b.v), b]], { arithmetic: rounding(v) + r.divisionExtra(v) }), ...exactly(a, b, (x, y) => x / y) };
    },
    neg: (a) => ({ v: -a.v, e: a.e, ...(a.sides === undefined ? {} : { sides: [-a.sides[0], -a.sides[1]] as const }) }),
    fn: (f, a) => {
      const v = value.fn(f, a.v);
      // Each side's model's accuracy at this argument (Note [Arithmetic models]); a subnormal result adds η.
      return { v, e: combine([[SLOPE[f](a.v, v), a]], { elementary: r.elementary(f, a.v, v) + r.underflow(1) }) };
    },
    select: (x, t, above, below, orEqual = false) => {
      // Where both sides branch alike, the branch they took (judged by their own values when known).
      const same = sides(x, t, orEqual) === 'same';
      const taken = isAbove(same && x.sides ? x.sides[0] : x.v, value.c(t), orEqual) ? above() : below();
      if (same) return taken;
      // One side may have taken the other branch: allow the larger error and the gap between them.
      const [a, b] = [above(), below()];
      const e = zeroParts();
      for (const p of BOUND_PARTS) e[p] = Math.max(a.e[p], b.e[p]);
      e.branch += Math.abs(a.v - b.v);
      return { v: taken.v, e };
    },
    valueOf: (a) => a.v,
  };
}
