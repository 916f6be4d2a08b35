import { describe, expect, it } from 'vitest';
import { finiteDifferenceCheck } from '../../src/fd/engine.ts';
import { modelProblem } from '../../src/fd/modelProblem.ts';
import { loadGolden } from '../../src/golden/load.ts';
import { erf } from '../../src/ops/erf.ts';
import { boundArith, valueArith, type Tracked } from '../../src/ops/scalar.ts';
import { ulpDistance } from '../../src/tensor/ulp.ts';
import { Roundoffs } from '../../src/tolerance/roundoff.ts';

const u32 = 2 ** -24;

describe('erf', () => {
  // erf at these points, to 25 digits (mpmath at 40): the reference the implementation is held to.
  const reference: [number, number][] = [
    [1e-8, 1.128379167095512559892102e-8],
    [0.1, 0.1124629160182848984047123],
    [0.5, 0.5204998778130465376827467],
    [1.0, 0.8427007929497148693412206],
    [1.5, 0.9661051464753107270669763],
    [2.5, 0.9995930479825550410604358],
    [3.0, 0.9999779095030014145586272],
    [4.5, 0.9999999998033839558457113],
  ];

  it.each(reference)('erf(%s) is within the 3 ulps the bounds assume', (x, value) => {
    expect(ulpDistance(erf(x), value, 'float64')).toBeLessThanOrEqual(3);
    expect(ulpDistance(erf(-x), -value, 'float64')).toBeLessThanOrEqual(3);
  });

  it('is odd, bounded by ±1, exact at 0 and ±∞, and NaN on NaN', () => {
    expect([erf(0), erf(Infinity), erf(-Infinity), erf(40)]).toEqual([0, 1, -1, 1]);
    expect(Object.is(erf(-0), -0)).toBe(true);
    expect(erf(Number.NaN)).toBeNaN();
  });
});

describe('the bound arithmetic', () => {
  const r = new Roundoffs(['float32', 'float32']);
  const a = boundArith(r, 'float32');
  const exact = (v: number): Tracked => ({ v, e: { arithmetic: 0, elementary: 0, inputRounding: 0, branch: 0 } });
  const total = (t: Tracked) => t.e.arithmetic + t.e.elementary + t.e.inputRounding + t.e.branch;

  it('adds one rounding per operation, on each side', () => {
    const product = a.mul(exact(3), exact(5));
    expect(product.v).toBe(15);
    expect(product.e.arithmetic).toBeCloseTo(2 * u32 * 15 + 2 * 2 ** -149, 20);
  });

  it('keeps the absolute error of a cancellation, which relative models lose', () => {
    // 1 + erf(x) for x = −4: erf is −1 + 1.5e-8, so the sum is tiny and its error is erf's, absolute.
    const sum = a.add(a.c(1), a.fn('erf', exact(-4)));
    expect(sum.v).toBeLessThan(1e-7);
    expect(total(sum)).toBeGreaterThan(u32); // the erf's absolute allowance, far above u·|sum|
    expect(total(sum) / Math.abs(sum.v)).toBeGreaterThan(1);
  });

  it('allows the gap between two branches where the sides may take different ones', () => {
    const slope = 0.01;
    const leaky = (x: Tracked) => a.select(x, 0, () => x, () => a.mul(x, a.c(slope)));
    const far = leaky({ ...exact(-1), e: { ...exact(-1).e, arithmetic: 1e-6 } });
    expect(far.e.branch).toBe(0);
    // Within its bound of 0: one side may have kept x, the other x·slope.
    const near = leaky({ ...exact(-1e-7), e: { ...exact(-1e-7).e, arithmetic: 1e-6 } });
    expect(near.e.branch / (1e-7 * (1 - slope))).toBeCloseTo(1, 6);
    // Both sides' own values known and on the same side of 0: no allowance, however close.
    const known = leaky({ ...exact(-1e-7), e: { ...exact(-1e-7).e, arithmetic: 1e-6 }, sides: [-1e-7, -2e-7] });
    expect(known.e.branch).toBe(0);
  });

  it('rounds every operation of the value arithmetic to the precision', () => {
    const f32 = valueArith('float32');
    expect(f32.add(1, 2 ** -25)).toBe(1); // half an ulp of 1, rounded to even
    expect(valueArith('float64').add(1, 2 ** -25)).toBe(1 + 2 ** -25);
    expect(f32.fn('exp', 1)).toBe(Math.fround(Math.E));
  });
});

describe('finite differences at a LeakyReLU kink', () => {
  const golden = loadGolden('goldens/leaky-relu-kink.json');
  it.each(['float32', 'float64'] as const)('hold the analytic value to the one-sided slopes (%s)', (dtype) => {
    const report = finiteDifferenceCheck(modelProblem(golden, dtype));
    expect(report.verdict).toBe('pass');
    // 0.bias[0] feeds the input that is exactly 0 for sample 0: torch's slope there is negative_slope.
    const kink = report.elements.find((e) => e.tensor === '0.bias' && e.index[0] === 0)!;
    expect(kink.verdict).toBe('kink');
    expect(Math.min(kink.oneSided!.left, kink.oneSided!.right)).toBeLessThan(Math.max(kink.oneSided!.left, kink.oneSided!.right));
  });
});
