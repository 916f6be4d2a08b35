import { unitRoundoff, type DType } from './dtype.ts';

const f32 = new Float32Array(1);
const f32Bits = new Int32Array(f32.buffer);
const f64 = new Float64Array(1);
const f64Bits = new BigInt64Array(f64.buffer);

/**
 * Maps a float to an integer that increases with the float, so that the difference of two
 * mapped values counts the representable numbers between them. Both zeros map to 0.
 */
function orderedFloat32(v: number): number {
  f32[0] = v;
  const bits = f32Bits[0] ?? 0;
  return bits < 0 ? -(bits & 0x7fffffff) : bits;
}

function orderedFloat64(v: number): bigint {
  f64[0] = v;
  const bits = f64Bits[0] ?? 0n;
  return bits < 0n ? -(bits & 0x7fffffffffffffffn) : bits;
}

/**
 * Distance in units in the last place between two values of the given precision: 0 for equal
 * values (and for +0 and −0), 1 for neighbours. NaN when either value is NaN.
 */
export function ulpDistance(a: number, b: number, dtype: DType): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.NaN;
  if (dtype === 'float32') return Math.abs(orderedFloat32(a) - orderedFloat32(b));
  const d = orderedFloat64(a) - orderedFloat64(b);
  return Number(d < 0n ? -d : d);
}

/** One ulp of |value| in the dtype (2u times its power of two): the spacing of floats around it. */
export function ulpOf(value: number, dtype: DType): number {
  return 2 * unitRoundoff(dtype) * 2 ** Math.floor(Math.log2(Math.abs(value)));
}
