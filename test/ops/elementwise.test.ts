import { describe, expect, it } from 'vitest';
import { finiteDifferenceCheck } from '../../src/fd/engine.ts';
import { modelProblem } from '../../src/fd/modelProblem.ts';
import { loadGolden } from '../../src/golden/load.ts';
import { erf } from '../../src/ops/erf.ts';
import { hardtanh, HardtanhSpec } from '../../src/ops/hardtanh.ts';
import { tensor } from '../../src/tensor/tensor.ts';
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

  it('branches alike where both sides hold the same value exactly, even on the threshold', () => {
    const step = (x: Tracked) => a.select(x, 0, () => a.c(1), () => a.c(0));
    expect(step(exact(0)).e.branch).toBe(0);
    expect(step({ ...exact(0), e: { ...exact(0).e, arithmetic: 1e-9 } }).e.branch).toBe(1);
  });

  it('adds nothing for an exact operand even where its slope overflows (no ∞·0 = NaN)', () => {
    const big = a.fn('exp', exact(200)); // exp overflows float32: slope ∞, and exact(200) has no error
    expect(big.v).toBe(Infinity);
    expect(Number.isNaN(big.e.arithmetic) || Number.isNaN(big.e.inputRounding)).toBe(false);
  });

  it('carries both sides’ values through operations that are exact on each side', () => {
    const other = Math.fround(0.5000001); // each side's value is in its own precision, float32 here
    const x: Tracked = { ...exact(0.5), sides: [0.5, other] };
    expect(a.mul(x, a.c(2)).sides).toEqual([1, 2 * other]); // ×2 is exact
    expect(a.neg(x).sides).toEqual([-0.5, -other]);
    expect(a.mul(x, a.c(0.1)).sides).toBeUndefined(); // rounded: the sides may round apart
    // So a threshold on 2x is decided from the sides: both above 1 here, no allowance.
    const doubled: Tracked = { ...exact(0.5), e: { ...exact(0.5).e, arithmetic: 1e-3 }, sides: [Math.fround(0.50001), Math.fround(0.50002)] };
    const step = a.select(a.mul(doubled, a.c(2)), 1, () => a.c(1), () => a.c(0));
    expect(step.e.branch).toBe(0);
    expect(step.v).toBe(1);
  });

  it('compares against the threshold as the precision holds it', () => {
    const f32 = valueArith('float32');
    const t = 0.1; // fl32(0.1) = 0.100000001490116…, above 0.1
    const x = Math.fround(0.1);
    expect(f32.select(x, t, () => 1, () => 0)).toBe(0); // x > fl32(t) is false
    // Across precisions the sides hold the threshold 1.49e-9 apart: an input that close may branch apart.
    const across = boundArith(new Roundoffs(['float32', 'float64']), 'float32');
    expect(across.select(exact(x), t, () => across.c(1), () => across.c(0)).e.branch).toBe(1);
  });

  it('rounds every operation of the value arithmetic to the precision', () => {
    const f32 = valueArith('float32');
    expect(f32.add(1, 2 ** -25)).toBe(1); // half an ulp of 1, rounded to even
    expect(valueArith('float64').add(1, 2 ** -25)).toBe(1 + 2 ** -25);
    expect(f32.fn('exp', 1)).toBe(Math.fround(Math.E));
  });
});

describe('Hardtanh and ReLU6 as torch computes them', () => {
  const spec = { op: 'hardtanh', min: -0.5, max: 0.5 } as const;
  it('clamps, and passes the gradient strictly inside the bounds only', () => {
    expect([-1, -0.5, 0.25, 0.5, 1].map(clampOf)).toEqual([-0.5, -0.5, 0.25, 0.5, 0.5]);
    expect([-1, -0.5, 0.25, 0.5, 1].map((x) => gradOf(x))).toEqual([0, 0, 1, 0, 0]);
  });
  it('propagates NaN forward and passes the gradient of a NaN input, as torch', () => {
    expect(clampOf(Number.NaN)).toBeNaN();
    expect(gradOf(Number.NaN)).toBe(1);
  });
  it('rejects min ≥ max, naming the field', () => {
    const parsed = HardtanhSpec.safeParse({ op: 'hardtanh', min: 1, max: 1 });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(['max']);
  });

  function clampOf(x: number): number {
    const input = tensor('float32', [1], [x]);
    return hardtanh.forward(spec, input, {}, 'float32').data[0]!;
  }
  function gradOf(x: number): number {
    const input = tensor('float32', [1], [x]);
    const out = hardtanh.forward(spec, input, {}, 'float32');
    return hardtanh.backward(spec, tensor('float32', [1], [1]), input, out, {}, 'float32').dInput.data[0]!;
  }
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
