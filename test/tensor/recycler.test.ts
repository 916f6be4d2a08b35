import { describe, expect, it } from 'vitest';
import { allocate, ArrayRecycler } from '../../src/tensor/dtype.ts';

describe('recycled arrays (Note [Recycled arrays])', () => {
  it('hands out, call by call, the arrays of its last run, zeroed, where dtype and length agree', () => {
    const recycler = new ArrayRecycler();
    const first = recycler.run(() => [allocate('float64', 3), allocate('float32', 2), allocate('float64', 4)]);
    first.forEach((a) => a.fill(7));
    const second = recycler.run(() => [allocate('float64', 3), allocate('float64', 2), allocate('float64', 5)]);
    expect(second[0]).toBe(first[0]);
    expect(Array.from(second[0]!)).toEqual([0, 0, 0]);
    // Another dtype, another length: new arrays, and the old ones are left alone.
    expect(second[1]).not.toBe(first[1]);
    expect(second[1]).toBeInstanceOf(Float64Array);
    expect(second[2]).not.toBe(first[2]);
    expect(Array.from(first[2]!)).toEqual([7, 7, 7, 7]);
  });

  it('recycles nothing outside a run, and restores an outer run after an inner one', () => {
    const [outer, inner] = [new ArrayRecycler(), new ArrayRecycler()];
    const a = allocate('float64', 2);
    expect(allocate('float64', 2)).not.toBe(a);
    const [x, y] = outer.run(() => [allocate('float64', 2), inner.run(() => allocate('float64', 2))]);
    expect(y).not.toBe(x);
    const [x2, z] = outer.run(() => [allocate('float64', 2), allocate('float64', 2)]);
    expect(x2).toBe(x);
    // The outer run's second array is its own, not the inner recycler's.
    expect(z).not.toBe(y);
    expect(() => outer.run(() => { throw new Error('inside'); })).toThrow('inside');
    expect(allocate('float64', 2)).not.toBe(x);
  });

  it('refuses to run inside its own run, which would hand out arrays still in use', () => {
    const recycler = new ArrayRecycler();
    expect(() => recycler.run(() => recycler.run(() => allocate('float64', 2)))).toThrow('cannot nest inside its own run');
    // And is usable again after.
    expect(recycler.run(() => allocate('float64', 2))).toHaveLength(2);
  });
});
