import { allocate, type DType, type FloatArray } from './dtype.ts';

/** A dense row-major tensor. `shape` [] is a scalar holding one element. */
export interface Tensor {
  readonly shape: readonly number[];
  readonly data: FloatArray;
}

/** Tensors by name: parameters (`0.weight`), the input `x`, and their gradients. */
export type NamedTensors = Record<string, Tensor>;

export function numel(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

/** The largest size of one dimension: 2³¹ − 1, the largest small integer. */
const MAX_SIZE = 2 ** 31 - 1;

/** A tensor of `shape` in `dtype`, filled with `values` (rounded to the precision) or zeros. */
export function tensor(dtype: DType, shape: readonly number[], values?: ArrayLike<number>): Tensor {
  // Sizes as small integers: a parser may hand them over as boxed doubles (a JSON shape read into
  // an array of doubles), and a kernel fed a boxed size does its index arithmetic in doubles, at
  // half speed (measured on a 256 × 128 weight).
  const sizes = Array.from(shape, (d) => {
    if (!Number.isInteger(d) || d < 0 || d > MAX_SIZE) throw new RangeError(`tensor of shape [${shape.join(', ')}]: every size must be a whole number from 0 to ${MAX_SIZE}`);
    return d | 0;
  });
  const data = allocate(dtype, numel(sizes));
  if (values !== undefined) {
    if (values.length !== data.length) {
      throw new RangeError(`tensor of shape [${shape.join(', ')}] needs ${data.length} values, got ${values.length}`);
    }
    data.set(values);
  }
  return { shape: sizes, data };
}

export function scalar(dtype: DType, value: number): Tensor {
  return tensor(dtype, [], [value]);
}

/** Copies a tensor into another precision (rounding to nearest when narrowing). */
export function cast(t: Tensor, dtype: DType): Tensor {
  return tensor(dtype, t.shape, t.data);
}

/** The multi-index of a flat row-major offset, e.g. 5 in [2, 3] → [1, 2]. */
export function unravelIndex(flat: number, shape: readonly number[]): number[] {
  const index = new Array<number>(shape.length).fill(0);
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    const extent = shape[axis] ?? 1;
    index[axis] = flat % extent;
    flat = Math.floor(flat / extent);
  }
  return index;
}

/** The flat row-major offset of a multi-index: the inverse of unravelIndex. */
export function ravelIndex(index: readonly number[], shape: readonly number[]): number {
  return index.reduce((flat, i, axis) => flat * (shape[axis] ?? 1) + i, 0);
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
