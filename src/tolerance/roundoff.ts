import { rounderFor, unitRoundoff, type DType } from '../tensor/dtype.ts';
import { functionError, IEEE, type ArithmeticModel, type ElementaryFunction } from './arithmetic.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { boundFrom, type ErrorBound } from './errorBound.ts';

/**
 * γ_n = n·u / (1 − n·u): the relative error bound of a sum or dot product of n terms computed
 * in precision u, in any order, with or without FMA (Higham, Accuracy and Stability of
 * Numerical Algorithms, 2nd ed., §3.1). A length-n dot product does n multiplications and
 * n − 1 additions; γ_n covers both.
 */
export function gamma(n: number, u: number): number {
  if (n <= 0 || u === 0) return 0;
  const nu = n * u;
  return nu < 1 ? nu / (1 - nu) : Number.POSITIVE_INFINITY;
}

/**
 * Below the normal range the relative model fl(x) = x(1 + δ) fails: results are subnormal and
 * carry an absolute error up to half the subnormal spacing (or flush to 0), so the full model is
 * fl(x) = x(1 + δ) + η (Higham §2.1). We take |η| ≤ the smallest subnormal (2^-149 in float32,
 * 2^-1074 in float64), a whole spacing rather than half so that it is representable in float64.
 */
export function underflowUnit(dtype: DType): number {
  return dtype === 'float32' ? 2 ** -149 : Number.MIN_VALUE;
}

/** Where subnormals may flush to zero (Note [Arithmetic models]), a result below the normal range may lose all of itself: up to the smallest normal. */
export function flushUnit(dtype: DType): number {
  return dtype === 'float32' ? 2 ** -126 : 2 ** -1022;
}

/** Both sides on IEEE arithmetic: every comparison's default. */
export const IEEE_SIDES: readonly [ArithmeticModel, ArithmeticModel] = [IEEE, IEEE];

/**
 * The rounding budget of a comparison between two computations. Each side rounds in its own
 * precision (u = 0 for an exact reference), and to first order their errors add, so one
 * propagation with the summed per-operation bounds bounds |side A − side B|.
 */
export class Roundoffs {
  private readonly us: readonly number[];
  private readonly etas: readonly number[];
  private readonly rounders: readonly ((v: number) => number)[];
  /** Each side's arithmetic model (an exact side's is never consulted). */
  private readonly models: readonly ArithmeticModel[];

  /**
   * Whether bounds keep their parts apart (reports need them); false where only each bound's
   * total is wanted, carried in the arithmetic part (Note [Totals only] in src/model/bounds.ts).
   */
  readonly split: boolean;

  constructor(dtypes: readonly (DType | 'exact')[], models: readonly ArithmeticModel[] = IEEE_SIDES, split = true) {
    this.split = split;
    this.us = dtypes.map((d) => (d === 'exact' ? 0 : unitRoundoff(d)));
    this.models = dtypes.map((_, k) => models[k] ?? IEEE);
    this.etas = dtypes.map((d, k) => (d === 'exact' ? 0 : this.models[k]!.flushSubnormals ? flushUnit(d) : underflowUnit(d)));
    this.rounders = dtypes.map((d) => rounderFor(d === 'exact' ? 'float64' : d));
  }

  /** Σ_sides the error of elementary function f at argument x with result v, by each side's model. */
  elementary(f: ElementaryFunction, x: number, v: number): number {
    return this.us.reduce((sum, u, k) => (u === 0 ? sum : sum + functionError(this.models[k]!.functions[f], x, v, u)), 0);
  }

  /** Σ_sides what a division loses beyond a correct rounding (already counted as one rounding), relative to |v|. */
  divisionExtra(v: number): number {
    return this.us.reduce((sum, u, k) => sum + Math.max(0, this.models[k]!.divisionUlps - 0.5) * 2 * u * Math.abs(v), 0);
  }

  /** How far apart the sides hold a constant v: 0 in the same precision, |fl₃₂(v) − fl₆₄(v)| across. */
  representationGap(v: number): number {
    const held = this.rounders.map((round) => round(v));
    return Math.max(...held) - Math.min(...held);
  }

  /** The same relative to |v| (0 for v = 0): how differently the sides hold a constant. */
  relativeGap(v: number): number {
    return v === 0 ? 0 : this.representationGap(v) / Math.abs(v);
  }

  /** Whether both sides hold any input alike: the same precision, or float64 against exact (inputDifference is then zero). */
  holdAlike(): boolean {
    return this.rounders[0] === this.rounders[1];
  }

  /** v as side `side` holds it: rounded to that side's precision (an exact side keeps float64). */
  roundOn(side: 0 | 1, v: number): number {
    return this.rounders[side]!(v);
  }

  /** Σ_sides k·η_side: the absolute underflow error of k operations. */
  underflow(k: number): number {
    return this.etas.reduce((sum, eta) => sum + k * eta, 0);
  }

  /** Σ_sides γ_n(u_side): the relative bound of one length-n reduction. */
  gamma(n: number): number {
    return this.us.reduce((sum, u) => sum + gamma(n, u), 0);
  }

  /** Σ_sides k·u_side: k single roundings. */
  ulps(k: number): number {
    return this.us.reduce((sum, u) => sum + k * u, 0);
  }
}

/** The precisions of the two sides of a comparison ('exact' for a mathematically exact reference). */
export type Sides = readonly [DType | 'exact', DType | 'exact'];

/**
 * |round_A(v) − round_B(v)| per element: how far apart the inputs the two sides computed with are
 * (a float64 input rounded to float32 on one side only), as the `inputRounding` part.
 */
export function inputDifference(t: Tensor, sides: Sides): ErrorBound {
  const round = (d: DType | 'exact') => rounderFor(d === 'exact' ? 'float64' : d);
  const [ra, rb] = [round(sides[0]), round(sides[1])];
  const gap = new Float64Array(t.data.length);
  // Sides that hold inputs alike (the same precision, or float64 against exact) start from the
  // same values; a non-finite value still gives NaN (∞ − ∞), as the general formula does.
  if (ra !== rb) for (let i = 0; i < gap.length; i++) gap[i] = Math.abs(ra(t.data[i]!) - rb(t.data[i]!));
  else for (let i = 0; i < gap.length; i++) if (!Number.isFinite(t.data[i]!)) gap[i] = NaN;
  return boundFrom(t.shape, 'inputRounding', gap);
}
