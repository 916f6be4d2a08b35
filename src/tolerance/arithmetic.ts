import { z } from 'zod';
import { InputError } from '../errors.ts';

// Note [Arithmetic models]
// Every bound assumes something about the arithmetic each side runs on: its precision (u), what
// happens below the normal range, and how accurate its elementary functions are. IEEE arithmetic
// with gradual underflow and glibc's or V8's functions (within 1–3 ulps) is what PyTorch's CPU
// kernels and the TS reference run on; a WebGPU shader is allowed much less: WGSL lets an
// implementation flush subnormals to zero, gives exp 3 + 2·|x| ulps, log 2⁻²¹ absolute on
// [0.5, 2] and 3 ulps elsewhere, tanh the worse of 1e-5 absolute and what sinh/cosh inherit, and
// division 2.5 ulps (WGSL §15.7.4, "Floating Point Accuracy"). A correct shader outside the IEEE
// assumptions fails an IEEE bound; so each side of a comparison names its model, and the bound
// takes each side's own.

/** How accurate one elementary function is: ulps of the result (growing with |x| if so), plus absolute allowances. */
export interface FunctionAccuracy {
  /** Error in ulps of the result: `ulps + ulpsPerUnitArgument·|x|`. */
  readonly ulps: number;
  readonly ulpsPerUnitArgument?: number;
  /** An absolute allowance in units of u (an implementation that approximates to an absolute tolerance). */
  readonly absoluteInU?: number;
  /** An absolute error instead of the ulps where the argument lies in `within` (WGSL's log on [0.5, 2]), or everywhere as a floor. */
  readonly absolute?: { readonly value: number; readonly within?: readonly [number, number] };
}

export const ELEMENTARY_FUNCTIONS = ['exp', 'log', 'log1p', 'tanh', 'erf'] as const;
export type ElementaryFunction = (typeof ELEMENTARY_FUNCTIONS)[number];

/**
 * The arithmetic one side of a comparison runs on (Note [Arithmetic models]): its name (printed
 * with every verdict that uses it), whether subnormals may flush to zero, division's accuracy, and
 * each elementary function's. The unit roundoff stays the precision's.
 */
export interface ArithmeticModel {
  readonly name: string;
  readonly description: string;
  /** Subnormal results (and inputs) may become 0: the absolute error of an operation below the normal range is the smallest normal, not half a subnormal spacing. */
  readonly flushSubnormals: boolean;
  /** Division's error in ulps (0.5: correctly rounded). */
  readonly divisionUlps: number;
  readonly functions: Readonly<Record<ElementaryFunction, FunctionAccuracy>>;
}

/**
 * IEEE 754 with gradual underflow, and the elementary functions PyTorch's CPU kernels and the TS
 * reference call, as measured against mpmath (scripts/elementary_accuracy.py; docs/tolerance-policy.md §1).
 */
export const IEEE: ArithmeticModel = {
  name: 'ieee',
  description: 'IEEE 754 with subnormals; exp 1.5, log and log1p 1, tanh 2, erf 3 ulps (+8u absolute)',
  flushSubnormals: false,
  divisionUlps: 0.5,
  functions: {
    exp: { ulps: 1.5 },
    log: { ulps: 1 },
    log1p: { ulps: 1 },
    tanh: { ulps: 2 },
    erf: { ulps: 3, absoluteInU: 8 },
  },
};

/**
 * What WGSL allows a float32 shader (§15.7.4): subnormals may flush; exp 3 + 2·|x| ulps; log
 * 2⁻²¹ absolute on [0.5, 2], 3 ulps outside; tanh the worse of 1e-5 absolute and sinh(x)/cosh(x)
 * (here: twice exp's ulps, from exp(x) and exp(−x), plus the division's); division 2.5 ulps.
 * WGSL has no log1p or erf: a shader composes them, so they take log's and IEEE's erf's rows.
 */
export const WEBGPU: ArithmeticModel = {
  name: 'webgpu',
  description: 'WGSL float32 accuracy: subnormals may flush; exp 3 + 2|x| ulps; log 2^-21 absolute on [0.5, 2], 3 ulps outside; tanh ≥ 1e-5 absolute; division 2.5 ulps',
  flushSubnormals: true,
  divisionUlps: 2.5,
  functions: {
    exp: { ulps: 3, ulpsPerUnitArgument: 2 },
    log: { ulps: 3, absolute: { value: 2 ** -21, within: [0.5, 2] } },
    log1p: { ulps: 3, absolute: { value: 2 ** -21, within: [-0.5, 1] } },
    tanh: { ulps: 8.5, ulpsPerUnitArgument: 4, absolute: { value: 1e-5 } },
    erf: { ulps: 3, absoluteInU: 8 },
  },
};

export const ARITHMETIC_PRESETS: Readonly<Record<string, ArithmeticModel>> = { ieee: IEEE, webgpu: WEBGPU };

const Accuracy = z.strictObject({
  ulps: z.number().nonnegative(),
  ulpsPerUnitArgument: z.number().nonnegative().optional(),
  absoluteInU: z.number().nonnegative().optional(),
  absolute: z.strictObject({ value: z.number().nonnegative(), within: z.tuple([z.number(), z.number()]).optional() }).optional(),
});

/** A model of your own, as JSON: every field of ArithmeticModel. */
export const ArithmeticModelJson = z.strictObject({
  name: z.string().min(1),
  description: z.string(),
  flushSubnormals: z.boolean(),
  divisionUlps: z.number().min(0.5),
  functions: z.strictObject(Object.fromEntries(ELEMENTARY_FUNCTIONS.map((f) => [f, Accuracy])) as Record<ElementaryFunction, typeof Accuracy>),
});

/** A preset by name, or a model of your own (validated: an InputError names the field, with `where` as the file). */
export function arithmeticModel(given: string | unknown, where = 'arithmetic model'): ArithmeticModel {
  if (typeof given === 'string') {
    const preset = ARITHMETIC_PRESETS[given];
    if (preset === undefined) throw new InputError(where, null, `no arithmetic model named ${given} (presets: ${Object.keys(ARITHMETIC_PRESETS).join(', ')})`);
    return preset;
  }
  const parsed = ArithmeticModelJson.safeParse(given);
  if (!parsed.success) {
    const [first] = parsed.error.issues;
    throw new InputError(where, (first?.path ?? []) as (string | number)[], first?.message ?? 'invalid');
  }
  return parsed.data as ArithmeticModel;
}

/** One function's error at argument x with result v, in a precision of unit roundoff u: ulps of |v| (an ulp is at most 2u), or its absolute forms. */
export function functionError(a: FunctionAccuracy, x: number, v: number, u: number): number {
  const inside = a.absolute?.within !== undefined && x >= a.absolute.within[0] && x <= a.absolute.within[1];
  if (inside) return a.absolute!.value;
  // A zero result (exp of a masked −∞ score) has no ulps to be off by; an argument-free row never reads |x|.
  const ulps = a.ulps + (a.ulpsPerUnitArgument ? a.ulpsPerUnitArgument * Math.abs(x) : 0);
  const relative = v === 0 ? 0 : ulps * 2 * u * Math.abs(v);
  const floor = a.absolute !== undefined && a.absolute.within === undefined ? a.absolute.value : 0;
  return Math.max(relative, floor) + (a.absoluteInU ?? 0) * u;
}
