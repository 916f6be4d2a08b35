import type { DType } from '../tensor/dtype.ts';
import { ulpOf } from '../tensor/ulp.ts';

// Note [Measured noise instead of its worst case]
// In float32 the loss's worst-case error bound ε_f is typically orders of magnitude above the
// rounding noise the loss actually shows, and divided by a step of about 5e-3 it hides most bugs
// (docs/tolerance-policy.md §6). So a float32 element is judged by its measured noise instead:
// the loss is evaluated at nine equally spaced points x + jδ (j = −4 … 4, δ = h/4, so the
// central differences of step h and h/2 come from the same table), and Moré and Wild's
// difference-table method ("Estimating computational noise", SIAM J. Sci. Comput. 33(3), 2011)
// estimates the noise σ: for a smooth f plus independent noise of standard deviation σ, the k-th
// differences Δᵏf have mean square σ²·(2k)!/(k!)², while f's own share shrinks like δᵏ. The
// estimate is taken at the first order k whose neighbours k + 1 and k + 2 agree with it within a
// factor of 4 and whose differences change sign (noise, not a smooth trend). The noise of
// D(h) = (f₊ − f₋)/(x₊ − x₋) then has standard deviation √2·σ/(x₊ − x₋), and the element's rounding
// part is z times that, with z the normal quantile of the false-alarm probability the run
// allots to each element. Where no order qualifies (the noise is invisible, or a trend swamps
// it), the worst case stays the threshold.

/** The noise level of evaluations at equally spaced points, or null when no order of differences shows it. */
export function differenceTableNoise(values: readonly number[]): number | null {
  const estimates: { sigma: number; signChange: boolean }[] = [];
  let d = [...values];
  let factorial = 1;
  for (let k = 1; k < values.length - 1; k++) {
    d = d.slice(1).map((v, i) => v - d[i]!);
    factorial *= k;
    // γ_k = (k!)²/(2k)!: the mean square of Δᵏ of unit-variance noise is 1/γ_k.
    let central = 1;
    for (let i = k + 1; i <= 2 * k; i++) central *= i;
    const gamma = factorial / central;
    const meanSquare = d.reduce((s, v) => s + v * v, 0) / d.length;
    estimates.push({ sigma: Math.sqrt(gamma * meanSquare), signChange: d.some((v) => v > 0) && d.some((v) => v < 0) });
  }
  for (let k = 0; k + 2 < estimates.length; k++) {
    const trio = estimates.slice(k, k + 3).map((e) => e.sigma);
    const [lo, hi] = [Math.min(...trio), Math.max(...trio)];
    if (estimates[k]!.signChange && lo > 0 && hi <= 4 * lo) return estimates[k]!.sigma;
  }
  return null;
}

/** Half a unit in the last place of |f| in the dtype: the rounding of the loss itself, below which no noise estimate goes. */
export function lossRounding(value: number, dtype: DType): number {
  return value === 0 || !Number.isFinite(value) ? 0 : ulpOf(value, dtype) / 2;
}

/** P(|Z| > z) for a standard normal Z, accurate in the far tails (a continued fraction there). */
export function twoSidedTail(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  // erfc(x): a series of erf below 2, the Laplace continued fraction above (evaluated from the tail up).
  if (x < 2) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 60; n++) {
      term *= (-x * x) / n;
      sum += term / (2 * n + 1);
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum;
  }
  let fraction = 0;
  for (let n = 60; n >= 1; n--) fraction = n / 2 / (x + fraction);
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / (x + fraction);
}

/** The z with P(|Z| > z) = alpha, by bisection on twoSidedTail. */
export function normalQuantile(alpha: number): number {
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`a false-alarm probability must be in (0, 1), got ${alpha}`);
  let [lo, hi] = [0, 40];
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (twoSidedTail(mid) > alpha) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}
