import { describe, expect, it } from 'vitest';
import { compareTensors } from '../../src/tolerance/compare.ts';
import { boundFrom } from '../../src/tolerance/errorBound.ts';
import { gamma } from '../../src/tolerance/roundoff.ts';
import { tensor } from '../../src/tensor/tensor.ts';
import { ulpDistance } from '../../src/tensor/ulp.ts';
import { mismatchMessage } from '../../src/report/message.ts';

const meta = { case: 'c', tensor: 'grad.0.weight', actual: { source: 'ts', dtype: 'float32' as const }, expected: { source: 'torch', dtype: 'float32' as const } };
const bound = (values: number[]) => boundFrom([2, 2], 'arithmetic', Float64Array.from(values));

describe('compareTensors', () => {
  it('counts every mismatch, not just the first', () => {
    const r = compareTensors(meta, tensor('float64', [2, 2], [1, 2, 3, 4]), tensor('float64', [2, 2], [1.5, 2, 3.5, 4]), bound([0.1, 0.1, 0.1, 0.1]));
    expect(r.verdict).toBe('fail');
    expect(r.mismatched).toBe(2);
    expect(r.greatestAbs?.index).toEqual([0, 0]);
  });

  it('passes a difference exactly at the bound and reports its share', () => {
    const r = compareTensors(meta, tensor('float64', [2, 2], [1, 2, 3, 4]), tensor('float64', [2, 2], [1.25, 2, 3, 4]), bound([0.25, 0, 0, 0]));
    expect(r.verdict).toBe('pass');
    expect(r.worst?.share).toBe(1);
  });

  it('refuses to compare empty tensors: comparing nothing is not a pass', () => {
    const empty = tensor('float64', [0, 3]);
    expect(() => compareTensors(meta, empty, empty, boundFrom([0, 3], 'arithmetic', new Float64Array(0)))).toThrow(/grad\.0\.weight: the tensors are empty \(shape \[0, 3\]\): nothing to compare/);
  });

  it('fails a nonzero difference where the bound is 0', () => {
    const r = compareTensors(meta, tensor('float64', [2, 2], [0, 0, 0, 1e-300]), tensor('float64', [2, 2], [0, 0, 0, 0]), bound([0, 0, 0, 0]));
    expect(r.verdict).toBe('fail');
    expect(r.worst?.share).toBe(Infinity);
  });

  it('never lets NaN or ±Inf pass, even on both sides', () => {
    const nan = compareTensors(meta, tensor('float64', [2, 2], [Number.NaN, 0, 0, 0]), tensor('float64', [2, 2], [Number.NaN, 0, 0, 0]), bound([1, 1, 1, 1]));
    expect([nan.verdict, nan.nonFinite]).toEqual(['fail', 1]);
    const inf = compareTensors(meta, tensor('float64', [2, 2], [Infinity, 0, 0, 0]), tensor('float64', [2, 2], [Infinity, 0, 0, 0]), bound([1, 1, 1, 1]));
    expect([inf.verdict, inf.nonFinite]).toEqual(['fail', 1]);
  });

  it('treats +0 and −0 as equal', () => {
    const r = compareTensors(meta, tensor('float64', [2, 2], [-0, 0, 0, 0]), tensor('float64', [2, 2], [0, 0, 0, 0]), bound([0, 0, 0, 0]));
    expect(r.verdict).toBe('pass');
  });

  it('words a failure like torch.testing.assert_close', () => {
    const r = compareTensors(meta, tensor('float64', [2, 2], [1, 2, 3, 4]), tensor('float64', [2, 2], [1, 2, 3, 4.5]), bound([0.1, 0.1, 0.1, 0.1]));
    expect(mismatchMessage(r)).toContain('Mismatched elements: 1 / 4 (25%)');
    expect(mismatchMessage(r)).toContain('Greatest absolute difference: 5.00e-01 at index (1, 1) (up to 1.00e-01 allowed)');
    expect(mismatchMessage(r)).toContain('Bound at (1, 1): 1.00e-01 = arithmetic 1.00e-01');
  });
});

describe('floating-point facts', () => {
  it('γ_n = n·u/(1 − n·u), and Infinity once n·u reaches 1', () => {
    expect(gamma(3, 2 ** -24)).toBe((3 * 2 ** -24) / (1 - 3 * 2 ** -24));
    expect(gamma(1000, 1e-3)).toBe(Infinity);
    expect(gamma(0, 1)).toBe(0);
  });

  it('ULP distance counts representable floats between two values', () => {
    expect(ulpDistance(1, Math.fround(1 + 2 ** -23), 'float32')).toBe(1);
    expect(ulpDistance(-Number.MIN_VALUE, Number.MIN_VALUE, 'float64')).toBe(2);
    expect(ulpDistance(0, -0, 'float32')).toBe(0);
  });
});
