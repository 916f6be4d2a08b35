// Note [erf in binary64]
// JavaScript has no erf, and GELU needs one. Two expansions, each without cancellation:
// - |x| < 1: erf(x) = (2/√π)·x·e^{−x²}·Σ_{n≥0} (2x²)ⁿ / (1·3·5···(2n+1)), a series of positive
//   terms (Abramowitz & Stegun 7.1.6); at |x| = 1 about 18 terms reach 2⁻⁵³ of the sum.
// - |x| ≥ 1: erf(x) = 1 − erfc(x), with erfc(x) = e^{−x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …))))
//   (A&S 7.1.14), a continued fraction evaluated from the tail (CF_LEVELS levels); erfc(1) < 0.16,
//   so its relative error shrinks by that factor in 1 − erfc.
// e^{−x²} is where accuracy is lost: x² rounded once is off by up to x²·2⁻⁵³ relative, which exp
// turns into a relative error of x²·2⁻⁵³ (up to 10 ulps at x = 3). So x² is split exactly into
// hi + lo (Dekker's product), and e^{−x²} = e^{−hi}·(1 − lo) to first order.
// `npm run elementary-accuracy` (scripts/elementary-accuracy.ts, scripts/elementary_accuracy.py)
// measures the result against mpmath at 50 digits: below 3 ulps everywhere, 2.87 at most, next
// to the switch. docs/tolerance-policy.md §1 has the figure and the bounds use it
// (erf's row of the ieee arithmetic model, src/tolerance/arithmetic.ts).

const TWO_OVER_SQRT_PI = 1.1283791670955126; // 2/√π rounded to binary64
const ONE_OVER_SQRT_PI = 0.5641895835477563; // 1/√π
const SPLIT = 134217729; // 2^27 + 1, Dekker's splitter for binary64
/** Below this the series, from it the continued fraction (see the note). */
const SWITCH = 1;
/** Levels of the continued fraction: enough for 2⁻⁶⁰ relative accuracy from x = SWITCH on. */
const CF_LEVELS = 400;

/** x·x as hi + lo exactly (Dekker 1971): hi = fl(x²), lo the rounding error. */
function square(x: number): { hi: number; lo: number } {
  const hi = x * x;
  const c = SPLIT * x;
  const xh = c - (c - x);
  const xl = x - xh;
  return { hi, lo: xh * xh - hi + 2 * xh * xl + xl * xl };
}

/** e^{−x²} with the rounding of x² taken out. */
function expMinusSquare(x: number): number {
  return expMinus(square(x));
}

function expMinus({ hi, lo }: { hi: number; lo: number }): number {
  return Math.exp(-hi) * (1 - lo);
}

/**
 * Σ (2x²)ⁿ / (1·3···(2n+1)) for |x| < 2.5 at x² = hi + lo: the terms at hi, summed from the
 * smallest up, and the first-order correction lo·dS/d(x²), whose terms are n·termₙ/hi.
 */
function positiveSeries({ hi, lo }: { hi: number; lo: number }): number {
  const terms: number[] = [];
  let [term, sum] = [1, 0];
  for (let n = 0; n < 400; n++) {
    terms.push(term);
    sum += term;
    if (term < 1e-18 * sum && n > 2 * hi) break; // past the peak, and below 2⁻⁵⁹ of the sum
    term *= (2 * hi) / (2 * n + 3);
  }
  let [total, slope] = [0, 0];
  for (let n = terms.length - 1; n >= 0; n--) {
    total += terms[n]!;
    slope += n * terms[n]!;
  }
  return hi === 0 ? total : total + (lo * slope) / hi;
}

/** erfc(x) for x ≥ 2.5 by its continued fraction, evaluated bottom-up. */
function erfcTail(x: number): number {
  let f = x;
  for (let k = CF_LEVELS; k >= 1; k--) f = x + k / 2 / f;
  return (ONE_OVER_SQRT_PI * expMinusSquare(x)) / f;
}

/** The error function in binary64, accurate to the ulps docs/tolerance-policy.md §1 states. */
export function erf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  const a = Math.abs(x);
  if (a >= SWITCH) {
    const r = a >= 6 ? 1 : 1 - erfcTail(a); // erfc(6) < 2.2e-17: below half an ulp of 1
    return x < 0 ? -r : r;
  }
  if (a < 1e-300) return TWO_OVER_SQRT_PI * x; // x² would underflow; erf(x) = 2x/√π to all digits
  const x2 = square(a);
  return TWO_OVER_SQRT_PI * x * expMinus(x2) * positiveSeries(x2);
}
