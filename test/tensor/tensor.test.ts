import { describe, expect, it } from 'vitest';
import { tensor } from '../../src/tensor/tensor.ts';

describe('tensor shapes', () => {
  it('keeps whole sizes, as small integers', () => {
    // A size that arrives as a double (as a JSON parser may hand it over) is the same size.
    const t = tensor('float64', [Number.parseFloat('2.0'), 3]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.data).toHaveLength(6);
    expect(tensor('float32', []).shape).toEqual([]);
  });

  it('refuses a size that is not a whole number from 0 to 2³¹ − 1, naming the shape', () => {
    for (const shape of [[1.5, 2], [-1, 2], [0, 2 ** 31], [Number.NaN], [Number.POSITIVE_INFINITY]]) {
      expect(() => tensor('float64', shape)).toThrow(`tensor of shape [${shape.join(', ')}]: every size must be a whole number from 0 to 2147483647`);
    }
  });
});
