import { z } from 'zod';
import { rounderFor, type DType } from '../tensor/dtype.ts';
import { tensor, type Tensor } from '../tensor/tensor.ts';
import { BOUND_PARTS, zeroBound, type ErrorBound } from '../tolerance/errorBound.ts';
import type { Roundoffs } from '../tolerance/roundoff.ts';

/** A loss's `reduction`, as PyTorch names them: one number (`mean`, `sum`) or one per row or element (`none`). */
export const Reduction = z.enum(['mean', 'sum', 'none']);
export type Reduction = z.infer<typeof Reduction>;

/**
 * The loss as the reduction returns it, from the unreduced values (one per row or element): the
 * values themselves for `none`, their sum, or their sum divided by `divisor` for `mean`
 * (the element count, or a loss's total weight). Rounded to `dtype` after every operation.
 */
export function reduce(values: Tensor, reduction: Reduction, divisor: number, dtype: DType): Tensor {
  if (reduction === 'none') return values;
  const round = rounderFor(dtype);
  let total = 0;
  for (const v of values.data) total = round(total + v);
  return tensor(dtype, [], [reduction === 'mean' ? round(total / divisor) : total]);
}

/** The loss's shape for `reduction` when unreduced it would be `shape`. */
export function reducedShape(reduction: Reduction, shape: readonly number[]): readonly number[] {
  return reduction === 'none' ? shape : [];
}

/** What the bound of a reduced loss needs beyond its unreduced values' bounds. */
export interface ReducedBoundTerms {
  /** How many values are summed, and Σ|value| over them. */
  readonly terms: number;
  readonly magnitude: number;
  /** The reduced loss as the TS run computed it. */
  readonly value: number;
  /** `mean`'s divisor, or null for `sum`. */
  readonly divisor: number | null;
  /** The divisor's own relative error (a sum of weights rounds), and how far apart the sides hold it. */
  readonly divisorRelative?: number;
  readonly divisorGap?: number;
}

/**
 * The bound of a reduced loss: the values' bounds summed, γ_{n−1}·Σ|value| for a sum of n terms
 * in any order, then ÷D for `mean`, which adds 2u of the result (a division, or a rounded 1/D
 * and a product) and the divisor's own error.
 */
export function reducedLossBound(values: ErrorBound, t: ReducedBoundTerms, r: Roundoffs): ErrorBound {
  const loss = zeroBound([], 1);
  const scale = t.divisor === null ? 1 : 1 / t.divisor;
  for (const part of BOUND_PARTS) {
    let sum = 0;
    for (const v of values.parts[part]) sum += v;
    loss.parts[part][0] = scale * sum;
  }
  loss.parts.arithmetic[0]! += scale * r.gamma(t.terms - 1) * t.magnitude;
  if (t.divisor !== null) {
    loss.parts.arithmetic[0]! += (r.ulps(2) + (t.divisorRelative ?? 0)) * Math.abs(t.value);
    loss.parts.inputRounding[0]! += (t.divisorGap ?? 0) * Math.abs(t.value);
  }
  return loss;
}
