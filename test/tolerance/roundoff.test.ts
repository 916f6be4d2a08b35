import { describe, expect, it } from 'vitest';
import { tensor } from '../../src/tensor/tensor.ts';
import { totals } from '../../src/tolerance/errorBound.ts';
import { inputDifference } from '../../src/tolerance/roundoff.ts';

describe('inputDifference: how far apart the two sides hold an input', () => {
  it('is 0 where both sides hold inputs alike, and NaN for a value that is not finite, as across precisions', () => {
    const t = tensor('float64', [4], [0.1, Number.POSITIVE_INFINITY, Number.NaN, -2]);
    const alike = totals(inputDifference(t, ['float64', 'exact']));
    const across = totals(inputDifference(t, ['float32', 'float64']));
    expect(Array.from(alike)).toEqual([0, Number.NaN, Number.NaN, 0]);
    expect(across[0]).toBe(Math.abs(Math.fround(0.1) - 0.1));
    expect(Number.isNaN(across[1]!) && Number.isNaN(across[2]!)).toBe(true);
    expect(across[3]).toBe(0);
  });
});
