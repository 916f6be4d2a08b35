import { coarserDtype, type DType } from '../tensor/dtype.ts';
import { sameShape, unravelIndex, type Tensor } from '../tensor/tensor.ts';
import { ulpDistance } from '../tensor/ulp.ts';
import { partsAt, totalAt, type ErrorBound } from './errorBound.ts';

/** Who computed a value, and in which precision: `ts:float32`, `torch:float64`, … */
export interface Side {
  readonly source: string;
  readonly dtype: DType | 'exact';
  /** The side's arithmetic model when it is not IEEE (Note [Arithmetic models]), e.g. `webgpu`. */
  readonly arithmetic?: string;
}

export const sideLabel = (s: Side): string => `${s.source}:${s.dtype}${s.arithmetic === undefined ? '' : `(${s.arithmetic})`}`;

/** `ts:float32 torch:float32`: which pair of sides a comparison is between, as one string. */
export const pairLabel = (r: { readonly actual: Side; readonly expected: Side }): string => `${sideLabel(r.actual)} ${sideLabel(r.expected)}`;

/** One element of a comparison, with the bound it was held to. */
export interface ElementReport {
  readonly index: readonly number[];
  readonly actual: number;
  readonly expected: number;
  readonly absDiff: number;
  /** |actual − expected| / |expected|; Infinity when expected is 0 and actual is not. */
  readonly relDiff: number;
  readonly bound: number;
  /** The bound's named parts: arithmetic, elementary, … (or rounding, truncation, … for finite differences). */
  readonly boundParts: Readonly<Record<string, number>>;
  /** absDiff / bound: 1 means the whole allowance is used. */
  readonly share: number;
}

/**
 * Everything one comparison of two tensors found. Data first: the console, Markdown and JSON
 * reports, and the assertion messages, are all formatted from this record.
 */
export interface ComparisonRecord {
  readonly case: string;
  /** The golden the comparison is about, when there is one: where an annotation points. */
  readonly file?: string;
  readonly tensor: string;
  readonly actual: Side;
  readonly expected: Side;
  readonly shape: readonly number[];
  readonly numel: number;
  /** Elements outside their bound, non-finite ones included. */
  readonly mismatched: number;
  readonly nonFinite: number;
  /** The element with the largest absolute difference, and the one with the largest relative. */
  readonly greatestAbs: ElementReport | null;
  readonly greatestRel: ElementReport | null;
  /** The element that used the largest share of its bound: the one closest to failing. */
  readonly worst: ElementReport | null;
  /** Largest distance in units in the last place, in the coarser of the two precisions. */
  readonly maxUlps: number;
  /** Finite differences only: elements whose step crossed a ReLU kink (held to the one-sided interval). */
  readonly kinks?: number;
  /** Finite differences only: of those, elements on a piece narrower than the step, which finite differences cannot decide. */
  readonly undecided?: number;
  readonly verdict: 'pass' | 'fail';
}

export class ComparisonShapeError extends Error {
  override name = 'ComparisonShapeError';
}

function shareOf(absDiff: number, bound: number): number {
  if (absDiff === 0) return 0;
  return absDiff / bound; // Infinity when the bound is 0; NaN stays NaN
}

/**
 * Compares `actual` with `expected` elementwise against `bound`. Every element is looked at and
 * every mismatch counted. A NaN or ±Inf on either side is a mismatch: NaN never equals anything,
 * and the cases gradparity checks expect finite results.
 */
export function compareTensors(
  meta: { case: string; file?: string; tensor: string; actual: Side; expected: Side },
  actual: Tensor,
  expected: Tensor,
  bound: ErrorBound,
): ComparisonRecord {
  if (!sameShape(actual.shape, expected.shape) || actual.data.length !== bound.parts.arithmetic.length) {
    throw new ComparisonShapeError(
      `${meta.case}: ${meta.tensor}: ${sideLabel(meta.actual)} has shape [${actual.shape.join(', ')}], ` +
        `${sideLabel(meta.expected)} has [${expected.shape.join(', ')}]`,
    );
  }
  // An empty tensor compares nothing, and a comparison of nothing must not read as a pass.
  if (actual.data.length === 0) throw new ComparisonShapeError(`${meta.case}: ${meta.tensor}: the tensors are empty (shape [${actual.shape.join(', ')}]): nothing to compare`);
  const ulpDtype = coarserDtype(meta.actual.dtype, meta.expected.dtype);
  const element = (i: number): ElementReport => {
    const a = actual.data[i]!;
    const e = expected.data[i]!;
    const absDiff = Math.abs(a - e);
    const b = totalAt(bound, i);
    return {
      index: unravelIndex(i, actual.shape),
      actual: a,
      expected: e,
      absDiff,
      relDiff: absDiff === 0 ? 0 : absDiff / Math.abs(e),
      bound: b,
      boundParts: partsAt(bound, i),
      share: shareOf(absDiff, b),
    };
  };

  let mismatched = 0;
  let nonFinite = 0;
  let maxUlps = 0;
  let [absAt, relAt, worstAt] = [-1, -1, -1];
  let [maxAbs, maxRel, maxShare] = [-1, -1, -1];
  for (let i = 0; i < actual.data.length; i++) {
    const a = actual.data[i]!;
    const e = expected.data[i]!;
    const absDiff = Math.abs(a - e);
    const b = totalAt(bound, i);
    if (!Number.isFinite(a) || !Number.isFinite(e)) {
      nonFinite++;
      mismatched++;
      // A non-finite element is the worst there is; report the first one.
      if (maxShare !== Infinity) [worstAt, maxShare] = [i, Infinity];
      continue;
    }
    if (!(absDiff <= b)) mismatched++;
    maxUlps = Math.max(maxUlps, ulpDistance(a, e, ulpDtype));
    const rel = absDiff === 0 ? 0 : absDiff / Math.abs(e);
    const share = shareOf(absDiff, b);
    if (absDiff > maxAbs) [absAt, maxAbs] = [i, absDiff];
    if (rel > maxRel) [relAt, maxRel] = [i, rel];
    if (share > maxShare) [worstAt, maxShare] = [i, share];
  }
  return {
    ...meta,
    shape: [...actual.shape],
    numel: actual.data.length,
    mismatched,
    nonFinite,
    greatestAbs: absAt >= 0 ? element(absAt) : null,
    greatestRel: relAt >= 0 ? element(relAt) : null,
    worst: worstAt >= 0 ? element(worstAt) : null,
    maxUlps,
    verdict: mismatched === 0 ? 'pass' : 'fail',
  };
}

/** The largest share of its bound any element used (Infinity for a non-finite element). */
export function worstShare(record: ComparisonRecord): number {
  return record.worst?.share ?? 0;
}
