/** The two precisions gradparity evaluates in, named as PyTorch names them. */
export const DTYPES = ['float32', 'float64'] as const;
/** `float32` or `float64`. */
export type DType = (typeof DTYPES)[number];

export type FloatArray = Float32Array | Float64Array;

/**
 * Unit roundoff u: the largest relative error of one correctly rounded operation
 * (half of machine epsilon). float32: 2^-24 ≈ 5.96e-8, float64: 2^-53 ≈ 1.11e-16.
 */
export function unitRoundoff(dtype: DType): number {
  return dtype === 'float32' ? 2 ** -24 : 2 ** -53;
}

const identity = (v: number): number => v;

/**
 * Rounds a binary64 result to the evaluation precision. For float32 this is exact emulation:
 * + − × ÷ computed in binary64 and then rounded to binary32 give the correctly rounded binary32
 * result, because 53 ≥ 2·24 + 2 (Figueroa, "When is double rounding innocuous?", 1995).
 */
export function rounderFor(dtype: DType): (v: number) => number {
  return dtype === 'float32' ? Math.fround : identity;
}

export function allocate(dtype: DType, length: number): FloatArray {
  return dtype === 'float32' ? new Float32Array(length) : new Float64Array(length);
}

export function dtypeOf(data: FloatArray): DType {
  return data instanceof Float32Array ? 'float32' : 'float64';
}

/** The coarser of two precisions ('exact' counts as finest): the one a comparison is limited by. */
export function coarserDtype(a: DType | 'exact', b: DType | 'exact'): DType {
  return a === 'float32' || b === 'float32' ? 'float32' : 'float64';
}
