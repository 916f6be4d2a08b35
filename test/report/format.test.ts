import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseFigure, percent, precise, sci } from '../../src/report/format.ts';

// Every figure the project prints must parse back to the value it stands for, within the
// precision it is printed with: three significant digits for sci and percent (a relative error of
// at most half a unit in the third digit, 5e-3), eight for precise.

/** Doubles spread evenly over the exponents, subnormals included, with the specials mixed in. */
const anyMagnitude = fc.oneof(
  fc.tuple(fc.double({ min: 1, max: 10, noNaN: true, maxExcluded: true }), fc.integer({ min: -323, max: 307 }), fc.boolean()).map(([m, e, negative]) => (negative ? -1 : 1) * m * 10 ** e),
  fc.double({ noNaN: false }),
  fc.constantFrom(0, -0, Number.MIN_VALUE, 2 ** -1074 * 3, 2 ** -1022, Number.MAX_VALUE, 1e-300, 1e300, Infinity, -Infinity, Number.NaN, 1.5, 2, 3.9, 0.999999, 9.9999, 99.995, 0.00001),
);

function expectParsesBack(printed: string, value: number, relative: number): void {
  const back = parseFigure(printed);
  expect(back, `"${printed}" is not a figure`).toBeDefined();
  if (Number.isNaN(value)) return void expect(back).toBeNaN();
  if (!Number.isFinite(value) || value === 0) return void expect(back).toBe(value === 0 ? 0 : value);
  expect(Math.abs(back! - value) / Math.abs(value), `"${printed}" for ${value}`).toBeLessThanOrEqual(relative);
}

describe('the number formats', () => {
  it('sci parses back within three significant digits, from subnormals to the largest double', () => {
    fc.assert(fc.property(anyMagnitude, (v) => expectParsesBack(sci(v), v, 5e-3 + 1e-12)), { numRuns: 5000 });
  });

  it('percent parses back to the share within three significant digits', () => {
    fc.assert(fc.property(anyMagnitude, (v) => expectParsesBack(percent(v), v, 5e-3 + 1e-12)), { numRuns: 5000 });
  });

  it('precise parses back within eight significant digits', () => {
    fc.assert(fc.property(anyMagnitude, (v) => expectParsesBack(precise(v), v, 5e-8 + 1e-15)), { numRuns: 5000 });
  });

  it('prints the shares that were misprinted before as the numbers they are', () => {
    expect([1.5, 2, 3.9, 5.05e8, 0.038, 1e-5, 9.9999, 0].map(percent)).toEqual(['150%', '200%', '390%', '5.05e+10%', '3.8%', '1e-3%', '1000%', '0%']);
    expect([Infinity, -Infinity, Number.NaN].map(percent)).toEqual(['inf', '-inf', 'nan']);
    expect(sci(Number.MIN_VALUE)).toBe('4.94e-324');
  });

  it('knows what is not a figure', () => {
    expect(parseFigure('<0.1%')).toBeUndefined();
    expect(parseFigure('15 %')).toBeUndefined();
  });
});
