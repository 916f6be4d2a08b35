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

/** A new array of `length` zeros in `dtype`, or, inside reusingArrays, one recycled from its last run. */
export function allocate(dtype: DType, length: number): FloatArray {
  if (recycling !== null) return recycling.take(dtype, length);
  return dtype === 'float32' ? new Float32Array(length) : new Float64Array(length);
}

// Note [Recycled arrays]
// A finite-difference evaluation runs the whole forward pass to read two things off it, the loss
// and the branch fingerprint, and every module's output is garbage a moment later: tens of
// kilobytes per module, thousands of times per check. What a thread spent collecting them was a
// third of what it spent evaluating. An evaluation that keeps nothing can run inside
// reusingArrays: allocate then hands out, call by call, the arrays the previous run of the same
// recycler got, zeroed, whenever dtype and length agree (the same pass asks for the same arrays in
// the same order), and new ones otherwise. Nothing allocated inside may outlive the run.

/** Arrays handed out in one run of reusingArrays, kept for the next. */
export class ArrayRecycler {
  private readonly arrays: FloatArray[] = [];
  private next = 0;

  take(dtype: DType, length: number): FloatArray {
    const k = this.next++;
    const old = this.arrays[k];
    if (old !== undefined && old.length === length && (old instanceof Float32Array) === (dtype === 'float32')) return old.fill(0);
    const fresh = dtype === 'float32' ? new Float32Array(length) : new Float64Array(length);
    this.arrays[k] = fresh;
    return fresh;
  }

  /** Runs f with allocate() recycling this recycler's arrays (Note [Recycled arrays]); f's result must hold none of them. */
  run<T>(f: () => T): T {
    // Inside its own run it would hand out again the arrays that run is still using.
    if (recycling === this) throw new Error('an ArrayRecycler run cannot nest inside its own run');
    const outer = recycling;
    recycling = this;
    this.next = 0;
    try {
      return f();
    } finally {
      recycling = outer;
    }
  }
}

let recycling: ArrayRecycler | null = null;

export function dtypeOf(data: FloatArray): DType {
  return data instanceof Float32Array ? 'float32' : 'float64';
}

/** The coarser of two precisions ('exact' counts as finest): the one a comparison is limited by. */
export function coarserDtype(a: DType | 'exact', b: DType | 'exact'): DType {
  return a === 'float32' || b === 'float32' ? 'float32' : 'float64';
}
