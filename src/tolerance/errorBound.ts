/**
 * Where a bound comes from. Reported per element so a reader can tell what the allowance is
 * made of:
 * - arithmetic: roundings of + and × (the γ_n terms of every dot product and sum, and the few
 *   single roundings of the loss);
 * - elementary: the elementary functions (exp, log, log1p, tanh, erf), each taken as accurate
 *   to the ulps measured for it on either side, plus an absolute allowance where an
 *   implementation approximates absolutely (each side's arithmetic model, src/tolerance/arithmetic.ts);
 * - inputRounding: the two sides started from different inputs (a float64 case rounded to
 *   float32 on one side only), or hold a constant differently across precisions;
 * - branch: an op with a branch (ReLU, LeakyReLU, Softplus's switch, a clamp, …) whose input
 *   sits so close to the branch point that the two sides may have taken different branches; the
 *   allowance is the gap between the branches' values.
 */
export const BOUND_PARTS = ['arithmetic', 'elementary', 'inputRounding', 'branch'] as const;
/** One of BOUND_PARTS: where part of a bound comes from. */
export type BoundPart = (typeof BOUND_PARTS)[number];

/** An elementwise absolute error bound, split by where it comes from. */
export interface ErrorBound {
  readonly shape: readonly number[];
  readonly parts: Readonly<Record<BoundPart, Float64Array>>;
}

export function zeroBound(shape: readonly number[], length: number): ErrorBound {
  const parts = Object.fromEntries(BOUND_PARTS.map((p) => [p, new Float64Array(length)])) as Record<BoundPart, Float64Array>;
  return { shape: [...shape], parts };
}

/** A bound with one part set and the others zero. */
export function boundFrom(shape: readonly number[], part: BoundPart, values: Float64Array): ErrorBound {
  const bound = zeroBound(shape, values.length);
  bound.parts[part].set(values);
  return bound;
}

export function totalAt(bound: ErrorBound, i: number): number {
  let sum = 0;
  for (const p of BOUND_PARTS) sum += bound.parts[p][i]!;
  return sum;
}

export function totals(bound: ErrorBound): Float64Array {
  const n = bound.parts.arithmetic.length;
  const out = new Float64Array(n);
  // Part after part, in BOUND_PARTS order: the same sums as totalAt's, a whole array at a time.
  for (const p of BOUND_PARTS) {
    const part = bound.parts[p];
    for (let i = 0; i < n; i++) out[i]! += part[i]!;
  }
  return out;
}

/** The same bound carried as its total alone, in the arithmetic part (Note [Totals only] in src/model/bounds.ts). */
export function collapsed(bound: ErrorBound): ErrorBound {
  const { elementary, inputRounding, branch } = bound.parts;
  // Already so (a product's bound, carried as its total, is): nothing to gather.
  if (isZero(elementary) && isZero(inputRounding) && isZero(branch)) return bound;
  return totalOnly(bound.shape, totals(bound));
}

/**
 * A bound carried as its total (Note [Totals only]): `total` as the arithmetic part, the others
 * one shared array of zeros per length. A rule only ever writes into the bounds it makes itself
 * (zeroBound's), never into those it is given, so nothing writes into the shared zeros;
 * test/model/totalsOnly.test.ts checks that they stay zero.
 */
export function totalOnly(shape: readonly number[], total: Float64Array): ErrorBound {
  const zeros = sharedZeros(total.length);
  return { shape: [...shape], parts: { arithmetic: total, elementary: zeros, inputRounding: zeros, branch: zeros } };
}

const zerosByLength = new Map<number, Float64Array>();

/** The shared array of `length` zeros that totalOnly bounds hold (exported for the test that it stays so). */
export function sharedZeros(length: number): Float64Array {
  let zeros = zerosByLength.get(length);
  if (zeros === undefined) zerosByLength.set(length, (zeros = new Float64Array(length)));
  return zeros;
}

/** Whether every value is 0. */
export function isZero(values: Float64Array): boolean {
  for (let i = 0; i < values.length; i++) if (values[i] !== 0) return false;
  return true;
}

/**
 * The bound's total, to read and never to write: a bound carried as its total (totalOnly) gives
 * its arithmetic part itself, any other a new array of totals.
 */
export function totalOf(bound: ErrorBound): Float64Array {
  const { arithmetic, elementary, inputRounding, branch } = bound.parts;
  const zeros = zerosByLength.get(arithmetic.length);
  return zeros !== undefined && elementary === zeros && inputRounding === zeros && branch === zeros ? arithmetic : totals(bound);
}

/** A bound of zero in every part, for one value. */
export function zeroParts(): Record<BoundPart, number> {
  return { arithmetic: 0, elementary: 0, inputRounding: 0, branch: 0 };
}

/** into += factor·from, part by part. */
export function addScaled(into: Record<BoundPart, number>, from: Readonly<Record<BoundPart, number>>, factor: number): void {
  for (const part of BOUND_PARTS) into[part] += factor * from[part];
}

/** The parts of one element, for reports. */
export function partsAt(bound: ErrorBound, i: number): Record<BoundPart, number> {
  // Written out rather than built from BOUND_PARTS: rules call this once per element.
  const { arithmetic, elementary, inputRounding, branch } = bound.parts;
  return { arithmetic: arithmetic[i]!, elementary: elementary[i]!, inputRounding: inputRounding[i]!, branch: branch[i]! };
}
