import { zeroBound, type ErrorBound } from '../tolerance/errorBound.ts';
import type { ElementKind } from './onnxFile.ts';

/**
 * A tensor flowing through the graph: its float64 value (the magnitudes every bound is taken at),
 * and what the two sides of a comparison may disagree on. A float tensor carries a bound of
 * |side A − side B| per element, by part; a boolean one marks the elements where the sides may
 * have decided differently (a comparison within its bound of the threshold). Integers are exact:
 * shapes, indices and class targets are the same on both sides.
 */
export interface GValue {
  readonly kind: ElementKind;
  readonly shape: readonly number[];
  readonly data: Float64Array;
  readonly bound: ErrorBound;
  /** Booleans only: 1 where the sides may disagree. */
  readonly uncertain: Uint8Array;
}

export const elementCount = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** A value with no disagreement between the sides (a constant, a shape, an index). */
export function exactValue(kind: ElementKind, shape: readonly number[], data: Float64Array): GValue {
  return { kind, shape, data, bound: zeroBound(shape, data.length), uncertain: new Uint8Array(data.length) };
}

/** A value with a bound (float) or its uncertain elements (bool). */
export function graphValue(kind: ElementKind, shape: readonly number[], data: Float64Array, bound?: ErrorBound, uncertain?: Uint8Array): GValue {
  return { kind, shape, data, bound: bound ?? zeroBound(shape, data.length), uncertain: uncertain ?? new Uint8Array(data.length) };
}

/** The numpy-style broadcast of two shapes, or null when they do not broadcast. */
export function broadcastShapes(...shapes: readonly (readonly number[])[]): number[] | null {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let k = 0; k < rank; k++) {
    const dims = shapes.map((s) => s[s.length - rank + k] ?? 1);
    const big = Math.max(...dims);
    if (dims.some((d) => d !== 1 && d !== big)) return null;
    out.push(dims.includes(0) ? 0 : big);
  }
  return out;
}

/** For each element of `out`, the index of the element of a tensor of shape `shape` it reads under broadcasting. */
export function broadcastIndex(shape: readonly number[], out: readonly number[]): Int32Array {
  const n = elementCount(out);
  const index = new Int32Array(n);
  const rank = out.length;
  const strides = new Array<number>(rank).fill(0);
  let stride = 1;
  for (let k = shape.length - 1; k >= 0; k--) {
    const axis = rank - shape.length + k;
    strides[axis] = shape[k] === 1 ? 0 : stride;
    stride *= shape[k]!;
  }
  const counter = new Array<number>(rank).fill(0);
  for (let i = 0; i < n; i++) {
    let at = 0;
    for (let k = 0; k < rank; k++) at += counter[k]! * strides[k]!;
    index[i] = at;
    for (let k = rank - 1; k >= 0; k--) {
      if (++counter[k]! < out[k]!) break;
      counter[k] = 0;
    }
  }
  return index;
}

/** Row-major strides of a shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length).fill(1);
  for (let k = shape.length - 2; k >= 0; k--) strides[k] = strides[k + 1]! * shape[k + 1]!;
  return strides;
}

/** An axis attribute (possibly negative) as an index into a shape of `rank`. */
export const normalizeAxis = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);
