import { unitRoundoff, type DType, type FloatArray } from '../tensor/dtype.ts';
import { cast, unravelIndex, type NamedTensors } from '../tensor/tensor.ts';
import { differenceTableNoise, lossRounding, normalQuantile } from './noise.ts';
import { randomSigns, seededRandom } from './random.ts';

// Note [Finite differences and their error]
// Central difference D(h) = (f(x + h) − f(x − h)) / (x⁺ − x⁻), where x± = fl(x ± h) are the points
// actually evaluated. Its distance from f′(x) has three sources, each reported as a part:
// - rounding: f̂ is off by at most ε_f (the loss's own error bound), so the difference of two
//   evaluations is off by 2ε_f and D by 2ε_f / (x⁺ − x⁻) ≈ ε_f / h;
// - truncation: D(h) − f′ = c₂h² + O(h⁴); since D(h) − D(h/2) = ¾c₂h² + …, (4/3)|D(h) − D(h/2)|
//   estimates it (the estimate carries the rounding noise of both differences, so it errs large);
// - step representation: x ± h is rounded, so the step taken is not 2h. Dividing by x⁺ − x⁻
//   removes this error entirely; dividing by 2h (as most gradient checkers do) leaves
//   |Δf|·|1/(2h) − 1/(x⁺ − x⁻)|, which is what the part shows when asked to divide by 2h.
// The analytic gradient has its own error bound, which is the fourth part.
// With Richardson extrapolation R = (4D(h/2) − D(h))/3 the h² term cancels; the truncation left
// is bounded by |D(h) − D(h/2)|/3 (conservative: R's true remainder is O(h⁴)).

/** One evaluation of the objective: its value and a fingerprint of the branches it took. */
export interface Evaluation {
  readonly value: number;
  /** Equal strings mean the same piecewise-smooth piece (for ReLU: the same activation pattern). */
  readonly branches: string;
}

/** A scalar function of named tensors, evaluated in the problem's precision. */
export type Objective = (point: NamedTensors) => Evaluation;

/** What the engine needs; it knows nothing about the model behind `objective`. */
export interface FdProblem {
  readonly dtype: DType;
  /** The point to differentiate at, already in `dtype`. */
  readonly point: NamedTensors;
  readonly objective: Objective;
  /** ε_f: a bound on |f̂ − f| near the point, from the objective's own error analysis. */
  readonly lossError: number;
  /** The gradient under test, by the same names as `point`. */
  readonly analytic: NamedTensors;
  /** A bound on the analytic gradient's own error, elementwise. */
  readonly analyticError: Readonly<Record<string, Float64Array>>;
  /**
   * Optional, for speed: the objective with element `i` of `name` set to `value` (already in
   * `dtype`) and every other element at `point`. It must return exactly what `objective` would,
   * bit for bit; the engine then uses it for every one-element step.
   */
  readonly perturbed?: (name: string, i: number, value: number) => Evaluation;
}

/** How finiteDifferenceCheck differentiates; every field has a default (DEFAULT_FD_OPTIONS). */
export interface FdOptions {
  /** A fixed step, or `auto`: ∛u · max(1, |θ|) per element, ∛u along a direction (the balance of rounding and truncation). */
  readonly step: 'auto' | number;
  readonly mode: 'full' | 'directional';
  readonly richardson: boolean;
  /** Directional mode: number of random unit directions, and their seed. */
  readonly directions: number;
  readonly seed: number;
  /** Divide by the step actually taken (default), or by the nominal 2h as most checkers do. */
  readonly divideBy: 'actual' | 'nominal';
  /** Full mode: check at most this many elements per tensor (a seeded sample that keeps the largest |gradient|). */
  readonly maxElementsPerTensor?: number;
  /**
   * Estimate the truncation error at every element or direction (`always`), or only where the
   * first step alone does not settle the verdict (`when-needed`, Note [The second step only when needed]).
   */
  readonly truncation: 'always' | 'when-needed';
  /** Directional mode: on a failed direction, check every element to say where (default), or stop there. */
  readonly fallBack: boolean;
  /**
   * What the rounding part of each threshold is: the loss's worst-case error bound ε_f, or its
   * measured noise (Note [Measured noise instead of its worst case]); `auto` measures in float32,
   * where the worst case hides most bugs, and keeps the worst case in float64, where it does not.
   */
  readonly threshold: 'auto' | 'worst-case' | 'measured';
  /** Measured thresholds: the probability the run allows for any false failure (split evenly over its checks). */
  readonly falseAlarm: number;
  /**
   * Directional mode: `directions` random directions over the whole model, or that many within
   * each tensor (Note [Directions within a tensor]); `auto` takes them within each tensor when the
   * threshold is measured, over the model otherwise.
   */
  readonly directionsPer: 'auto' | 'model' | 'tensor';
}

export const DEFAULT_FD_OPTIONS: FdOptions = {
  step: 'auto',
  mode: 'full',
  richardson: false,
  directions: 8,
  seed: 0,
  divideBy: 'actual',
  truncation: 'when-needed',
  fallBack: true,
  threshold: 'auto',
  falseAlarm: 1e-3,
  directionsPer: 'auto',
};

/** Which threshold model a check uses. */
export function thresholdModel(dtype: DType, options: Pick<FdOptions, 'threshold'>): 'worst-case' | 'measured' {
  return options.threshold === 'auto' ? (dtype === 'float32' ? 'measured' : 'worst-case') : options.threshold;
}

/**
 * Where a check's rounding part came from: the worst case (ε_f over the step), or the measured
 * noise σ of the loss along the step, z standard deviations of the difference's noise, z set by
 * the false-alarm probability of one check (`perCheck`) and of the whole run (`perRun`).
 */
export type Threshold =
  | { readonly model: 'worst-case' }
  | { readonly model: 'measured'; readonly noise: number; readonly z: number; readonly perCheck: number; readonly perRun: number };

export const FD_BOUND_PARTS = ['rounding', 'truncation', 'stepRepresentation', 'analytic'] as const;
export type FdBoundPart = (typeof FD_BOUND_PARTS)[number];
export type FdBound = Record<FdBoundPart, number> & { readonly total: number };

/**
 * pass: within the bound. fail: outside it, a real disagreement. kink: the step crossed a
 * non-differentiable point (a ReLU pre-activation changed sign); the analytic value was held to
 * the interval of the one-sided differences instead. undecided: within the bound, but the loss's
 * measured noise alone allows at least the whole analytic value, so even a 100% error would have
 * passed: finite differences cannot decide this check (Note [Measured noise instead of its worst case]).
 */
export type FdVerdict = 'pass' | 'fail' | 'kink' | 'undecided';

/** A measured check within its bound whose noise part alone reaches the analytic value: nothing decided. */
function swamped(threshold: Threshold | undefined, rounding: number, analytic: number): boolean {
  return threshold?.model === 'measured' && analytic !== 0 && rounding >= Math.abs(analytic);
}

/** One element's check: analytic against numeric, its bound in parts, and the verdict. */
export interface FdElementCheck {
  readonly tensor: string;
  readonly index: readonly number[];
  readonly analytic: number;
  readonly numeric: number;
  readonly absDiff: number;
  readonly step: { readonly nominal: number; readonly actual: number };
  readonly bound: FdBound;
  /** absDiff / bound.total (for a kink: the distance outside the one-sided interval over the bound). */
  readonly share: number;
  readonly verdict: FdVerdict;
  /** For kinks: the one-sided differences (f(x) − f(x⁻))/(x − x⁻) and (f(x⁺) − f(x))/(x⁺ − x). */
  readonly oneSided?: { readonly left: number; readonly right: number };
  /**
   * Finite differences cannot decide this element. Either (verdict kink) x lies on a piece of the
   * function narrower than the smallest step on both sides (kinks within it above and below, e.g.
   * ReLU inputs of ±1e-30): the one-sided differences then measure the neighbouring pieces, not
   * x's, and it is reported as undecided rather than held to a bracket that does not contain its
   * slope. Or (verdict undecided) the loss's measured noise alone is as large as the gradient.
   */
  readonly undecided?: true;
  /**
   * False when the element passed on its first step alone, within the bound without its
   * truncation part; the second step was not taken and `bound.truncation` is 0, not an estimate.
   */
  readonly truncationEstimated?: false;
  /** The model of the rounding part; absent means the worst case. */
  readonly threshold?: Threshold;
}

/** Directional mode: one random unit direction v, ⟨g, v⟩ against the central difference along v. */
export interface FdDirectionCheck {
  readonly direction: number;
  readonly numeric: number;
  readonly analytic: number;
  readonly absDiff: number;
  readonly bound: FdBound;
  readonly share: number;
  readonly verdict: FdVerdict;
  readonly oneSided?: { readonly left: number; readonly right: number };
  /** As FdElementCheck.undecided: kinks on both sides within the smallest step. */
  readonly undecided?: true;
  /** As FdElementCheck.truncationEstimated: passed on the first step alone. */
  readonly truncationEstimated?: false;
  /** As FdElementCheck.threshold. */
  readonly threshold?: Threshold;
  /** The tensor the direction lies in, when directions are taken within each tensor. */
  readonly tensor?: string;
}

/** Everything a finite-difference check found: every element (or direction) with its bound. */
export interface FdReport {
  readonly dtype: DType;
  readonly options: FdOptions;
  /** The loss at the unperturbed point, as the evaluation computed it. */
  readonly loss: number;
  readonly lossError: number;
  readonly elements: readonly FdElementCheck[];
  readonly directions: readonly FdDirectionCheck[];
  /** Directional mode fell back to per-element checks (every element) because a direction failed. */
  readonly fellBack: boolean;
  readonly evaluations: number;
  readonly verdict: 'pass' | 'fail';
}

/** The step auto chooses: ∛u balances ε_f/h against h²·f‴/6 when ε_f ≈ u·|f| (scaled by |θ| for large θ). */
export function autoStep(dtype: DType, value: number): number {
  return Math.cbrt(unitRoundoff(dtype)) * Math.max(1, Math.abs(value));
}

function boundOf(parts: Record<FdBoundPart, number>): FdBound {
  return { ...parts, total: FD_BOUND_PARTS.reduce((s, p) => s + parts[p], 0) };
}

/** Evaluates the objective with one element moved, and puts it back. */
class Perturber {
  private readonly point: NamedTensors;
  private readonly objective: Objective;
  private readonly perturbed: FdProblem['perturbed'];
  count = 0;
  /** How many checks the run makes: measured thresholds split the false-alarm probability over them. */
  checks = 1;
  /** Per tensor: the pooled noise of a sample of its elements (measured thresholds), once computed. */
  readonly pooledNoise = new Map<string, number | null>();
  /** Per tensor: the evaluations its pooled noise took (the same in every thread that needs it). */
  readonly pooledEvaluations = new Map<string, number>();

  /** Evaluations made ahead, elsewhere (Note [Directions on two threads]): at the point, and along a direction by step. */
  private knownBase: Evaluation | undefined;
  private readonly knownAlong = new Map<NamedTensors, ReadonlyMap<number, Evaluation>>();

  constructor(problem: FdProblem | DirectionSource) {
    // A private copy: the caller's tensors are never touched, not even temporarily.
    this.point = Object.fromEntries(Object.entries(problem.point).map(([k, t]) => [k, cast(t, problem.dtype)]));
    this.objective = problem.objective;
    this.perturbed = 'perturbed' in problem ? problem.perturbed : undefined;
  }

  /** Takes the evaluations made ahead as its own: they are what this perturber would compute, bit for bit. */
  rememberAhead({ plan: { vs, firstSteps }, evaluations }: MadeAhead): void {
    this.knownBase = evaluations.get(0);
    vs.forEach(({ v }, k) => {
      const byStep = new Map<number, Evaluation>();
      firstSteps.forEach((step, s) => {
        const known = evaluations.get(1 + k * firstSteps.length + s);
        if (known !== undefined) byStep.set(step, known);
      });
      this.knownAlong.set(v, byStep);
    });
  }

  base(): Evaluation {
    this.count++;
    return this.knownBase ?? this.objective(this.point);
  }

  value(name: string, i: number): number {
    return this.point[name]!.data[i]!;
  }

  /** f at x_i + delta (rounded to the tensor's precision by the typed array), and the x_i it used. */
  at(name: string, i: number, delta: number): { x: number; evaluation: Evaluation } {
    const data = this.point[name]!.data;
    const original = data[i]!;
    data[i] = original + delta;
    const x = data[i]!;
    this.count++;
    try {
      return { x, evaluation: this.perturbed === undefined ? this.objective(this.point) : this.perturbed(name, i, x) };
    } finally {
      data[i] = original;
    }
  }

  /** f at fl(x + delta·v) over every element, where v is given per tensor and fl is the point's own precision. */
  along(direction: NamedTensors, delta: number): Evaluation {
    this.count++;
    const known = this.knownAlong.get(direction)?.get(delta);
    if (known !== undefined) return known;
    for (const [name, t] of Object.entries(this.point)) {
      const saved = buffer(this.saved, name, t.data.length, t.data instanceof Float32Array);
      saved.set(t.data);
      const v = direction[name]!.data;
      for (let i = 0; i < saved.length; i++) t.data[i] = saved[i]! + delta * v[i]!;
    }
    try {
      return this.objective(this.point);
    } finally {
      for (const [name, t] of Object.entries(this.point)) t.data.set(this.saved.get(name)!);
    }
  }

  /** The point's values of one tensor, in its precision: to read, never to write. */
  values(name: string): FloatArray {
    return this.point[name]!.data;
  }

  /** The point's values while along() has moved it. */
  private readonly saved = new Map<string, FloatArray>();
}

/** buffers' array for `name`, made on first use: float32 or float64, of `length`. */
function buffer(buffers: Map<string, FloatArray>, name: string, length: number, float32: boolean): FloatArray {
  let b = buffers.get(name);
  if (b === undefined) buffers.set(name, (b = float32 ? new Float32Array(length) : new Float64Array(length)));
  return b;
}

interface Central {
  readonly plus: { x: number; evaluation: Evaluation };
  readonly minus: { x: number; evaluation: Evaluation };
  readonly actualStep: number;
  readonly nominalStep: number;
  /** The difference quotient with the chosen divisor. */
  readonly d: number;
  /** |Δf|·|1/(2h) − 1/(x⁺ − x⁻)| when dividing by 2h; 0 when dividing by the step taken. */
  readonly stepRepresentation: number;
}

function central(p: Perturber, name: string, i: number, h: number, divideBy: FdOptions['divideBy']): Central {
  const plus = p.at(name, i, h);
  const minus = p.at(name, i, -h);
  const actualStep = plus.x - minus.x;
  const df = plus.evaluation.value - minus.evaluation.value;
  const d = divideBy === 'actual' ? df / actualStep : df / (2 * h);
  const stepRepresentation = divideBy === 'actual' ? 0 : Math.abs(df) * Math.abs(1 / (2 * h) - 1 / actualStep);
  return { plus, minus, actualStep, nominalStep: 2 * h, d, stepRepresentation };
}

/** How many times checkElement shrinks the step (by 8 each time) to step off a kink before giving up. */
const KINK_RETRIES = 2;

/** A step so small that x ± h rounds back to x: no difference can be formed. */
export class StepTooSmall extends RangeError {
  override name = 'StepTooSmall';
}

function requireStep(c: Central, name: string, index: readonly number[], x: number, dtype: DType): Central {
  // Either side staying at x is as bad: the one-sided differences at a kink would divide by 0.
  if (c.plus.x === x || c.minus.x === x) {
    throw new StepTooSmall(`step ${c.nominalStep / 2} is below half the ${dtype} spacing at ${name}[${index.join(',')}] = ${x}: x ± h rounds back to x`);
  }
  return c;
}

function checkElement(p: Perturber, problem: FdProblem, base: Evaluation, name: string, i: number, options: FdOptions): FdElementCheck {
  return nonFiniteFails(checkElementSteps(p, problem, base, name, i, options), base.value);
}

/**
 * A check with a NaN or an infinity in its numbers (the loss at the point, either derivative, the
 * bound) compared nothing: it fails, whatever its comparisons said (every comparison with NaN is
 * false, so `absDiff > bound` alone would have let it pass).
 */
function nonFiniteFails<C extends { readonly analytic: number; readonly numeric: number; readonly absDiff: number; readonly bound: FdBound; readonly verdict: FdVerdict; readonly undecided?: true }>(check: C, loss: number): C {
  if ([loss, check.analytic, check.numeric, check.absDiff, check.bound.total].every(Number.isFinite)) return check;
  const { undecided: _undecided, ...rest } = check;
  return { ...rest, verdict: 'fail' } as C;
}

function checkElementSteps(p: Perturber, problem: FdProblem, base: Evaluation, name: string, i: number, options: FdOptions): FdElementCheck {
  const x0 = p.value(name, i);
  const h0 = options.step === 'auto' ? autoStep(problem.dtype, x0) : options.step;
  const analytic = problem.analytic[name]!.data[i]!;
  const analyticError = problem.analyticError[name]![i]!;
  const index = unravelIndex(i, problem.point[name]!.shape);

  // A step that reaches across a ReLU kink of some other unit measures a blend of two slopes.
  // Smaller steps usually avoid it (at the price of more rounding); only a kink at the point
  // itself, or within h0/64 of it, is left to the one-sided check, which uses the smallest step
  // tried so that no farther kink blends in.
  let last: { full: Central; half: Central } | undefined;
  const measured = thresholdModel(problem.dtype, options) === 'measured';
  for (let retry = 0, h = h0; retry <= KINK_RETRIES; retry++, h /= 8) {
    const full = requireStep(central(p, name, i, h, options.divideBy), name, index, x0, problem.dtype);
    // A measured threshold is tighter than the worst case: passing the latter settles nothing.
    if (!measured && options.truncation === 'when-needed' && !options.richardson && ![full.plus, full.minus].some((e) => e.evaluation.branches !== base.branches)) {
      const settled = firstStepPass(problem, name, index, full, analytic, analyticError);
      if (settled !== null) return settled;
    }
    const half = requireStep(central(p, name, i, h / 2, options.divideBy), name, index, x0, problem.dtype);
    last = { full, half };
    const crossed = [full.plus, full.minus, half.plus, half.minus].some((e) => e.evaluation.branches !== base.branches);
    if (crossed) continue;
    if (!measured) return smoothCheck(problem, name, index, full, half, analytic, analyticError, options);
    const table = noiseTable(p, base, name, i, h, full, half);
    if (table === null) continue; // a quarter step crossed a kink: try a smaller step
    return smoothCheck(problem, name, index, full, half, analytic, analyticError, options, measuredThreshold(p, problem, base, name, differenceTableNoise(table), options));
  }
  return kinkCheck(problem, base, x0, name, index, last!.full, last!.half, analytic, analyticError);
}

function smoothCheck(
  problem: FdProblem, name: string, index: number[], full: Central, half: Central,
  analytic: number, analyticError: number, options: FdOptions, threshold: Threshold = { model: 'worst-case' },
): FdElementCheck {
  // The rounding part of one difference over `step`: 2ε_f/step, or z·√2σ/step from the measured noise, whichever is smaller.
  const roundingOver = (step: number) => Math.min((2 * problem.lossError) / Math.abs(step), threshold.model === 'measured' ? (threshold.z * Math.SQRT2 * threshold.noise) / Math.abs(step) : Infinity);
  const roundingFull = roundingOver(full.actualStep);
  const roundingHalf = roundingOver(half.actualStep);
  const numeric = options.richardson ? (4 * half.d - full.d) / 3 : full.d;
  const bound = boundOf({
    rounding: options.richardson ? (4 * roundingHalf + roundingFull) / 3 : roundingFull,
    truncation: options.richardson ? Math.abs(full.d - half.d) / 3 : (4 / 3) * Math.abs(full.d - half.d),
    stepRepresentation: options.richardson ? (4 * half.stepRepresentation + full.stepRepresentation) / 3 : full.stepRepresentation,
    analytic: analyticError,
  });
  const absDiff = Math.abs(numeric - analytic);
  const step = { nominal: full.nominalStep, actual: full.actualStep };
  const share = absDiff === 0 ? 0 : absDiff / bound.total;
  const used = threshold.model === 'measured' && roundingFull < (2 * problem.lossError) / Math.abs(full.actualStep) ? { threshold } : {};
  if (!(absDiff <= bound.total)) return { tensor: name, index, analytic, numeric, absDiff, step, bound, share, verdict: 'fail', ...used };
  if (swamped(used.threshold, bound.rounding, analytic)) return { tensor: name, index, analytic, numeric, absDiff, step, bound, share, verdict: 'undecided', undecided: true, ...used };
  return { tensor: name, index, analytic, numeric, absDiff, step, bound, share, verdict: 'pass', ...used };
}

/**
 * The loss at x + jh/4, j = −4 … 4, for the element's noise (the central differences' four
 * points are reused), or null when a quarter step crossed a kink.
 */
function noiseTable(p: Perturber, base: Evaluation, name: string, i: number, h: number, full: Central, half: Central): number[] | null {
  const quarter = [-3, -1, 1, 3].map((j) => p.at(name, i, (j * h) / 4));
  if (quarter.some((e) => e.evaluation.branches !== base.branches)) return null;
  const f = (e: { evaluation: Evaluation }) => e.evaluation.value;
  return [f(full.minus), f(quarter[0]!), f(half.minus), f(quarter[1]!), base.value, f(quarter[2]!), f(half.plus), f(quarter[3]!), f(full.plus)];
}

/** Elements per tensor whose noise is pooled into the tensor's level. */
const POOLED_SAMPLE = 16;

/**
 * The noise level a measured threshold uses for an element: its own estimate, the pooled level of
 * its tensor, or the loss's own rounding, whichever is largest (one estimate from nine points
 * can come out low; the pooled one, from up to 16 elements, rarely does). Worst case when neither
 * the element nor its tensor shows a noise level.
 */
function measuredThreshold(p: Perturber, problem: FdProblem, base: Evaluation, name: string, own: number | null, options: FdOptions): Threshold {
  const pooled = pooledNoise(p, problem, base, name, options);
  if (own === null && pooled === null) return { model: 'worst-case' };
  const noise = Math.max(own ?? 0, pooled ?? 0, lossRounding(base.value, problem.dtype));
  const perCheck = options.falseAlarm / p.checks;
  return { model: 'measured', noise, z: normalQuantile(perCheck), perCheck, perRun: options.falseAlarm };
}

/** The root-mean-square noise of up to POOLED_SAMPLE evenly spread elements of a tensor, or null when none shows one. */
function pooledNoise(p: Perturber, problem: FdProblem, base: Evaluation, name: string, options: FdOptions): number | null {
  if (!p.pooledNoise.has(name)) {
    const before = p.count;
    const n = problem.point[name]!.data.length;
    const sample = Array.from(new Set(Array.from({ length: Math.min(n, POOLED_SAMPLE) }, (_, k) => Math.floor((k * n) / Math.min(n, POOLED_SAMPLE)))));
    const levels: number[] = [];
    for (const i of sample) {
      const x0 = p.value(name, i);
      const h = options.step === 'auto' ? autoStep(problem.dtype, x0) : options.step;
      const full = central(p, name, i, h, 'actual');
      const half = central(p, name, i, h / 2, 'actual');
      if ([full.plus, full.minus, half.plus, half.minus].some((e) => e.evaluation.branches !== base.branches) || full.actualStep === 0) continue;
      const table = noiseTable(p, base, name, i, h, full, half);
      const level = table === null ? null : differenceTableNoise(table);
      if (level !== null) levels.push(level);
    }
    p.pooledNoise.set(name, levels.length === 0 ? null : Math.sqrt(levels.reduce((s, v) => s + v * v, 0) / levels.length));
    p.pooledEvaluations.set(name, p.count - before);
  }
  return p.pooledNoise.get(name)!;
}

// Note [The second step only when needed]
// The second step (h/2) serves one purpose on a smooth element: estimating the truncation part
// of the bound. Every part is ≥ 0, so if |D(h) − g| is within the other parts alone, it is within
// the whole bound too, whatever the truncation estimate would have been: the verdict is pass
// either way, and the second step cannot change it. Only the elements this leaves in doubt take
// the second step and are judged exactly as with `truncation: 'always'`, so every verdict is the
// same, at about half the evaluations. (A second step that crossed a kink the first did not
// would have sent the element to a smaller step; a piece that narrow inside the first step, with
// the first step's two ends on the unperturbed piece, is not looked for.)

/** The pass that D(h) within rounding, step representation and the analytic error already proves, or null. */
function firstStepPass(problem: FdProblem, name: string, index: number[], full: Central, analytic: number, analyticError: number): FdElementCheck | null {
  const bound = boundOf({ rounding: (2 * problem.lossError) / Math.abs(full.actualStep), truncation: 0, stepRepresentation: full.stepRepresentation, analytic: analyticError });
  const absDiff = Math.abs(full.d - analytic);
  if (!(absDiff <= bound.total)) return null;
  const step = { nominal: full.nominalStep, actual: full.actualStep };
  return { tensor: name, index, analytic, numeric: full.d, absDiff, step, bound, share: absDiff === 0 ? 0 : absDiff / bound.total, verdict: 'pass', truncationEstimated: false };
}

/**
 * The step moved a branch: f is not differentiable within it. One-sided differences from the
 * unperturbed point bracket the subdifferential; the analytic value (PyTorch's choice, relu′(0) =
 * 0, is one of its ends) must lie between them, widened by the bound. One-sided differences have
 * an O(h) truncation error, estimated as 2|D±(h) − D±(h/2)|.
 */
function kinkCheck(
  problem: FdProblem, base: Evaluation, x0: number, name: string, index: number[], full: Central, half: Central,
  analytic: number, analyticError: number,
): FdElementCheck {
  const step = { nominal: full.nominalStep, actual: full.actualStep };
  const oneSided = (c: Central) => ({
    right: (c.plus.evaluation.value - base.value) / (c.plus.x - x0),
    left: (base.value - c.minus.evaluation.value) / (x0 - c.minus.x),
  });
  const [d, dHalf] = [oneSided(full), oneSided(half)];
  const eps = problem.lossError;
  const bound = boundOf({
    rounding: (2 * eps) / Math.min(Math.abs(full.plus.x - x0), Math.abs(x0 - full.minus.x)),
    truncation: 2 * Math.max(Math.abs(d.right - dHalf.right), Math.abs(d.left - dHalf.left)),
    stepRepresentation: 0,
    analytic: analyticError,
  });
  const narrowPiece = half.plus.evaluation.branches !== base.branches && half.minus.evaluation.branches !== base.branches;
  if (narrowPiece) return { tensor: name, index, analytic, step, bound, oneSided: d, numeric: analytic, absDiff: 0, share: 0, verdict: 'kink', undecided: true };
  return { tensor: name, index, analytic, step, bound, oneSided: d, ...bracket(analytic, d, bound) };
}

/**
 * Holds an analytic value to the interval of two one-sided differences, widened by the bound:
 * `numeric` is the nearest point of the interval, `absDiff` the distance outside it.
 */
function bracket(analytic: number, d: { left: number; right: number }, bound: FdBound) {
  const [lo, hi] = [Math.min(d.left, d.right), Math.max(d.left, d.right)];
  const absDiff = analytic < lo ? lo - analytic : analytic > hi ? analytic - hi : 0;
  const numeric = Math.min(hi, Math.max(lo, analytic));
  const verdict: FdVerdict = absDiff <= bound.total ? 'kink' : 'fail';
  return { numeric, absDiff, share: absDiff === 0 ? 0 : absDiff / bound.total, verdict };
}

/** Checks one element, e.g. to see what another step or precision does to it. */
export function checkOneElement(problem: FdProblem, name: string, i: number, options: Partial<FdOptions> = {}): FdElementCheck {
  const p = new Perturber(problem);
  return checkElement(p, problem, p.base(), name, i, { ...DEFAULT_FD_OPTIONS, ...options });
}

/** Which elements of a tensor full mode checks: all, or a seeded sample that keeps the largest |gradient|. */
function elementsToCheck(problem: FdProblem, name: string, options: FdOptions): number[] {
  const n = problem.point[name]!.data.length;
  const limit = options.maxElementsPerTensor;
  const all = Array.from({ length: n }, (_, i) => i);
  if (limit === undefined || n <= limit) return all;
  const g = problem.analytic[name]!.data;
  const largest = all.reduce((best, i) => (Math.abs(g[i]!) > Math.abs(g[best]!) ? i : best), 0);
  const random = seededRandom(options.seed ^ n);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return [largest, ...all.filter((i) => i !== largest).slice(0, limit - 1)].sort((a, b) => a - b);
}

/** One element of the point: a tensor's name and a flat index into it. */
export interface ElementRef {
  readonly name: string;
  readonly i: number;
}

/** The elements full mode checks, in report order. */
export function elementRefs(problem: FdProblem, options: Partial<FdOptions> = {}): ElementRef[] {
  const opts: FdOptions = { ...DEFAULT_FD_OPTIONS, ...options };
  return Object.keys(problem.point).flatMap((name) => elementsToCheck(problem, name, opts).map((i) => ({ name, i })));
}

/**
 * A checker of given elements, each checked as full mode checks it: what a thread runs on its
 * share (src/fd/parallel.ts). `evaluations` counts the perturbed evaluations it made.
 */
export function elementChecker(
  problem: FdProblem, options: Partial<FdOptions> = {}, checks = 1,
): (refs: readonly ElementRef[]) => { elements: FdElementCheck[]; evaluations: number; pooled: Map<string, number> } {
  const opts: FdOptions = { ...DEFAULT_FD_OPTIONS, ...options };
  const p = new Perturber(problem);
  p.checks = checks;
  const base = p.base();
  return (refs) => {
    const before = p.count - [...p.pooledEvaluations.values()].reduce((a, b) => a + b, 0);
    const elements = refs.map(({ name, i }) => checkElement(p, problem, base, name, i, opts));
    const after = p.count - [...p.pooledEvaluations.values()].reduce((a, b) => a + b, 0);
    // The pooled noise's evaluations apart: every thread that needs a tensor's takes the same ones.
    return { elements, evaluations: after - before, pooled: new Map(p.pooledEvaluations) };
  };
}

function fullCheck(p: Perturber, problem: FdProblem, base: Evaluation, options: FdOptions): FdElementCheck[] {
  const refs = elementRefs(problem, options);
  p.checks = refs.length;
  return refs.map(({ name, i }) => checkElement(p, problem, base, name, i, options));
}

/** A full-mode report from element checks made elsewhere (worker threads), in report order. */
export function fullReport(problem: FdProblem, options: Partial<FdOptions>, elements: readonly FdElementCheck[], evaluations: number): FdReport {
  const opts: FdOptions = { ...DEFAULT_FD_OPTIONS, ...options, mode: 'full' };
  const p = new Perturber(problem);
  const base = p.base();
  const verdict = elements.some((e) => e.verdict === 'fail') ? 'fail' : 'pass';
  return { dtype: problem.dtype, options: opts, loss: base.value, lossError: problem.lossError, elements, directions: [], fellBack: false, evaluations, verdict };
}

/**
 * The analytic gradient of one tensor, each element raised to `power` with its sign kept (1: g
 * itself; 2: g·|g|), as a unit direction (zero elsewhere); null where it is all zero.
 */
function gradientDirection(problem: DirectionSource, name: string, power: 1 | 2): NamedTensors | null {
  const g = problem.analytic[name]!.data;
  // Where every nonzero element has one magnitude, g·|g| is g's own direction again: no new check.
  if (power === 2 && new Set(Array.from(g, Math.abs).filter((m) => m !== 0)).size <= 1) return null;
  const w = Float64Array.from(g, (v) => (power === 1 ? v : v * Math.abs(v)));
  let norm2 = 0;
  for (let i = 0; i < w.length; i++) norm2 += w[i]! * w[i]!;
  if (!(norm2 > 0) || !Number.isFinite(norm2)) return null;
  const norm = Math.sqrt(norm2);
  return Object.fromEntries(Object.entries(problem.point).map(([n, t]) => [n, { shape: t.shape, data: n === name ? w.map((v) => v / norm) : new Float64Array(t.data.length) }]));
}

/**
 * A random unit direction over all elements (within one tensor, if given): random signs over
 * √P, reproducible from the seed (Note [A random direction meets the gradient's error at random]).
 */
function randomDirection(problem: DirectionSource, random: () => number, only?: string): NamedTensors {
  const reached = Object.entries(problem.point).filter(([name]) => only === undefined || name === only);
  const size = reached.reduce((n, [, t]) => n + t.data.length, 0);
  const direction: NamedTensors = {};
  for (const [name, t] of Object.entries(problem.point)) {
    const data = new Float64Array(t.data.length);
    if (only === undefined || name === only) randomSigns(random, data, 1 / Math.sqrt(size));
    direction[name] = { shape: t.shape, data };
  }
  return direction;
}

/** Two arrays of at least `length`, reused from call to call (directionProbe's displacements). */
let scratchPair: [Float64Array, Float64Array] = [new Float64Array(0), new Float64Array(0)];
function scratch(length: number): [Float64Array, Float64Array] {
  if (scratchPair[0].length < length) scratchPair = [new Float64Array(length), new Float64Array(length)];
  return scratchPair;
}

/** fl(x ± h·v) − x into `into`, where fl is float64: what along() stored in a float64 point. */
function displacementsFloat64(x: FloatArray, v: FloatArray, h: number, into: [Float64Array, Float64Array]): [Float64Array, Float64Array] {
  const [plus, minus] = into;
  for (let i = 0; i < x.length; i++) {
    const xi = x[i]!;
    plus[i] = xi + h * v[i]! - xi;
    minus[i] = xi + -h * v[i]! - xi;
  }
  return into;
}

/** The same where fl is float32. */
function displacementsFloat32(x: FloatArray, v: FloatArray, h: number, into: [Float64Array, Float64Array]): [Float64Array, Float64Array] {
  const [plus, minus] = into;
  for (let i = 0; i < x.length; i++) {
    const xi = x[i]!;
    plus[i] = Math.fround(xi + h * v[i]!) - xi;
    minus[i] = Math.fround(xi + -h * v[i]!) - xi;
  }
  return into;
}

/** f at x ± h·v and what the analytic gradient predicts for the displacements actually taken. */
function directionProbe(p: Perturber, problem: FdProblem, base: Evaluation, v: NamedTensors, h: number, strays = false) {
  const plus = p.along(v, h);
  const minus = p.along(v, -h);
  // ⟨g, δ±⟩ and Σ E_g·|δ|, over the displacements δ± = fl(x ± h·v) − x actually taken: fl is the
  // point's precision, as along() stored x ± h·v in the point's own array.
  let predictedPlus = 0;
  let predictedMinus = 0;
  let analyticErrorPlus = 0;
  let analyticErrorMinus = 0;
  // Σ E_i·|(δ⁺_i − δ⁻_i)/(2h) − v_i|: how far the steps taken stray from h·v, weighted by the gradient's error bound.
  let strayed = 0;
  for (const [name, g] of Object.entries(problem.analytic)) {
    const [x, err, vn, gd] = [p.values(name), problem.analyticError[name]!, v[name]!.data, g.data];
    // Two copies of one loop: a rounding chosen per element would cost more than all the rest of it.
    const float32 = x instanceof Float32Array;
    const moved = float32 ? displacementsFloat32 : displacementsFloat64;
    const [dps, dms] = moved(x, vn, h, scratch(x.length));
    for (let i = 0; i < gd.length; i++) {
      const [dp, dm] = [dps[i]!, dms[i]!];
      predictedPlus += gd[i]! * dp;
      predictedMinus += gd[i]! * dm;
      analyticErrorPlus += err[i]! * Math.abs(dp);
      analyticErrorMinus += err[i]! * Math.abs(dm);
    }
    if (strays) for (let i = 0; i < gd.length; i++) strayed += err[i]! * Math.abs((dps[i]! - dms[i]!) / (2 * h) - vn[i]!);
  }
  const fPlus = plus.value;
  const fMinus = minus.value;
  return {
    h,
    fPlus,
    fMinus,
    /** Central: (f⁺ − f⁻)/(2h) and ⟨g, δ⁺ − δ⁻⟩/(2h). */
    numeric: (fPlus - fMinus) / (2 * h),
    analytic: (predictedPlus - predictedMinus) / (2 * h),
    analyticError: (analyticErrorPlus + analyticErrorMinus) / (2 * h),
    /** With `strays`: the part of the analytic error that the rounding of the steps adds to ⟨e, v⟩ (Note [A random direction meets the gradient's error at random]). */
    strayed,
    /** One-sided residuals: (f(x + hv) − f(x) − ⟨g, δ⁺⟩)/h and (f(x) − f(x − hv) + ⟨g, δ⁻⟩)/h. */
    residualRight: (fPlus - base.value - predictedPlus) / h,
    residualLeft: (base.value - fMinus + predictedMinus) / h,
    oneSidedAnalyticError: Math.max(analyticErrorPlus, analyticErrorMinus) / h,
    crossed: plus.branches !== base.branches || minus.branches !== base.branches,
    /** Kinks on both sides within h: x is on a piece narrower than the step (see FdElementCheck.undecided). */
    crossedBothSides: plus.branches !== base.branches && minus.branches !== base.branches,
  };
}

/**
 * Directional derivative along a unit v: (f(x + hv) − f(x − hv))/(2h) against ⟨g, δ⟩/(2h), where
 * δ = fl(x + hv) − fl(x − hv) is the step actually taken, so step representation costs nothing.
 * Like elements, a step that crosses a ReLU kink is shrunk; if every step crosses, the analytic
 * ⟨g, v⟩ is held to the interval of the one-sided differences.
 */
function checkDirection(p: Perturber, problem: FdProblem, base: Evaluation, v: NamedTensors, k: number, h0: number, truncation: FdOptions['truncation']): FdDirectionCheck {
  const eps = problem.lossError;
  let last: [ReturnType<typeof directionProbe>, ReturnType<typeof directionProbe>] | undefined;
  for (let retry = 0, h = h0; retry <= KINK_RETRIES; retry++, h /= 8) {
    const full = directionProbe(p, problem, base, v, h);
    // As for elements (Note [The second step only when needed]): within the other parts alone, a pass either way.
    if (truncation === 'when-needed' && !full.crossed) {
      const bound = boundOf({ rounding: (2 * eps) / (2 * h), truncation: 0, stepRepresentation: 0, analytic: full.analyticError });
      const absDiff = Math.abs(full.numeric - full.analytic);
      if (absDiff <= bound.total) {
        return { direction: k, numeric: full.numeric, analytic: full.analytic, absDiff, bound, share: absDiff === 0 ? 0 : absDiff / bound.total, verdict: 'pass', truncationEstimated: false };
      }
    }
    const half = directionProbe(p, problem, base, v, h / 2);
    last = [full, half];
    if (full.crossed || half.crossed) continue;
    const bound = boundOf({
      rounding: (2 * eps) / (2 * h),
      truncation: (4 / 3) * Math.abs(full.numeric - full.analytic - (half.numeric - half.analytic)),
      stepRepresentation: 0,
      analytic: full.analyticError,
    });
    const absDiff = Math.abs(full.numeric - full.analytic);
    return { direction: k, numeric: full.numeric, analytic: full.analytic, absDiff, bound, share: absDiff === 0 ? 0 : absDiff / bound.total, verdict: absDiff <= bound.total ? 'pass' : 'fail' };
  }
  const [full, half] = last!;
  const analytic = full.analytic;
  const oneSided = { left: analytic + full.residualLeft, right: analytic + full.residualRight };
  const bound = boundOf({
    rounding: (2 * eps) / full.h,
    truncation: 2 * Math.max(Math.abs(full.residualRight - half.residualRight), Math.abs(full.residualLeft - half.residualLeft)),
    stepRepresentation: 0,
    analytic: full.oneSidedAnalyticError,
  });
  if (half.crossedBothSides) return { direction: k, analytic, bound, oneSided, numeric: analytic, absDiff: 0, share: 0, verdict: 'kink', undecided: true };
  return { direction: k, analytic, bound, oneSided, ...bracket(analytic, oneSided, bound) };
}

// Note [Directions within a tensor]
// A random unit direction over all P elements of the model meets an error in one element through
// that element's component, about 1/√P of it: on thousands of parameters a 10% error in one
// gradient element moves the directional derivative by less than its float32 noise. Within one
// tensor of P_t elements it meets it with 1/√P_t, and the loss's noise along it comes from that
// tensor's computations alone. So measured (float32) checks take their directions tensor by
// tensor: more directions, each far more sensitive. The first of each tensor's is the analytic
// gradient's own direction g/‖g‖: an error δ in element i moves ⟨g, v⟩ by δ·g_i/‖g‖, which is
// largest exactly for the largest elements. The second leans further that way, v ∝ g·|g|: a
// relative error ε in element i then moves it by ε·|g_i|³/‖g²‖, never less than the first's
// ε·g_i²/‖g‖ for the largest element (Σ g⁴ ≤ max g²·Σ g²), and close to checking that element
// alone when a few elements dominate the tensor. A relative error is what a wrong factor, a
// wrong scale or a dropped term makes, and the largest elements are where it stands furthest
// above the noise. The rest are random, for errors anywhere (scripts/fd-sensitivity.ts measures
// both: planted at the largest element and at a random one).

/**
 * Directional mode with measured thresholds (Note [Measured noise instead of its worst case]):
 * every direction's nine-point table first, then each judged by its own noise or the directions'
 * pooled noise, whichever is larger. A direction whose steps cross a kink goes the worst-case way.
 */
function measuredDirections(p: Perturber, problem: FdProblem, base: Evaluation, vs: readonly PlannedDirection[], h0: number, options: FdOptions): FdDirectionCheck[] {
  // Like elements, a direction whose steps cross a kink tries smaller steps before it gives up.
  const probeAt = (v: NamedTensors, h: number) => {
    const full = directionProbe(p, problem, base, v, h, true);
    const half = directionProbe(p, problem, base, v, h / 2);
    if (full.crossed || half.crossed) return null;
    const quarter = QUARTERS.map((j) => p.along(v, (j * h) / 4));
    if (quarter.some((e) => e.branches !== base.branches)) return null;
    const table = [full.fMinus, quarter[0]!.value, half.fMinus, quarter[1]!.value, base.value, quarter[2]!.value, half.fPlus, quarter[3]!.value, full.fPlus];
    return { h, full, half, noise: differenceTableNoise(table) };
  };
  const probes = vs.map(({ v }) => {
    for (let retry = 0, h = h0; retry <= KINK_RETRIES; retry++, h /= 8) {
      const probe = probeAt(v, h);
      if (probe !== null) return probe;
    }
    return null;
  });
  // The noise pooled over the directions of one group (the model, or one tensor).
  const pooledOf = new Map<string | undefined, number | null>();
  for (const { group } of vs) {
    if (pooledOf.has(group)) continue;
    const levels = probes.flatMap((q, k) => (q === null || q.noise === null || vs[k]!.group !== group ? [] : [q.noise]));
    pooledOf.set(group, levels.length === 0 ? null : Math.sqrt(levels.reduce((s, v) => s + v * v, 0) / levels.length));
  }
  // Each direction's false-alarm probability, half for the loss's noise, half for the gradient's error below.
  const perCheck = options.falseAlarm / vs.length;
  const z = normalQuantile(perCheck / 2);
  return vs.map(({ group, v, random }, k) => {
    const probe = probes[k];
    const pooled = pooledOf.get(group) ?? null;
    const named = group === undefined ? {} : { tensor: group };
    if (probe === null || probe === undefined || (probe.noise === null && pooled === null)) return { ...checkDirection(p, problem, base, v, k, h0, 'always'), ...named };
    const { full, half, h } = probe;
    const noise = Math.max(probe.noise ?? 0, pooled ?? 0, lossRounding(base.value, problem.dtype));
    const worstCase = (2 * problem.lossError) / (2 * h);
    const measured = (z * Math.SQRT2 * noise) / (2 * h);
    const bound = boundOf({
      rounding: Math.min(worstCase, measured),
      truncation: (4 / 3) * Math.abs(full.numeric - full.analytic - (half.numeric - half.analytic)),
      stepRepresentation: 0,
      // Only a random direction meets the gradient's error at random; the gradient's own direction takes the worst case.
      analytic: random ? Math.min(full.analyticError, gradientErrorReach(problem, perCheck / 2, group) + full.strayed) : full.analyticError,
    });
    const absDiff = Math.abs(full.numeric - full.analytic);
    const threshold: Threshold = measured < worstCase ? { model: 'measured', noise, z, perCheck, perRun: options.falseAlarm } : { model: 'worst-case' };
    const share = absDiff === 0 ? 0 : absDiff / bound.total;
    const decided = !(absDiff <= bound.total) ? { verdict: 'fail' as const } : swamped(threshold, bound.rounding, full.analytic) ? { verdict: 'undecided' as const, undecided: true as const } : { verdict: 'pass' as const };
    return { direction: k, numeric: full.numeric, analytic: full.analytic, absDiff, bound, share, ...decided, threshold, ...named };
  });
}

// Note [A random direction meets the gradient's error at random]
// The analytic gradient's error e is fixed (|e_i| ≤ E_i, its bound), but the direction v is ours:
// v_i = s_i/√P with independent random signs s_i, drawn independently of e. Then ⟨e, v⟩ is a
// sum of independent terms ±e_i/√P, and Hoeffding's inequality gives
// P(|⟨e, v⟩| ≥ t) ≤ 2·exp(−P·t²/(2‖e‖₂²)), the same tail as for v uniform on the unit sphere (two
// spherical caps). So with probability 1 − α, |⟨e, v⟩| ≤ ‖E‖₂·√(2·ln(2/α)/P), where the worst
// case Σ E_i·|v_i| = ‖E‖₁/√P: for bounds of similar size, √P/√(2 ln(2/α)) times smaller. The
// steps actually taken, δ± = fl(x ± h·v) − x, differ from ±h·v by the rounding of x ± h·v, up to
// half an ulp of x_i, which against h/√P is not small in float32 (about 1e-3 of it for P = 16k):
// the analytic side is ⟨g, δ⁺ − δ⁻⟩/(2h), so the error it carries is ⟨e, v⟩ + ⟨e, w⟩ with
// w = (δ⁺ − δ⁻)/(2h) − v known exactly, and |⟨e, w⟩| ≤ Σ E_i·|w_i| is added as computed.
// Signs rather than Gaussian coordinates: every element is reached by the same 1/√P (a Gaussian
// coordinate near 0 all but hides its element's error), and 32 of them come from one draw where
// a Gaussian pair costs a logarithm, a square root and two trigonometric functions.

/** The bound of ⟨e, v⟩ for the analytic gradient's error e along a random unit direction (within one tensor, if given), with probability 1 − alpha. */
function gradientErrorReach(problem: FdProblem, alpha: number, only?: string): number {
  let squares = 0;
  let count = 0;
  for (const [name, e] of Object.entries(problem.analyticError)) {
    if (only !== undefined && name !== only) continue;
    for (let i = 0; i < e.length; i++) squares += e[i]! * e[i]!;
    count += e.length;
  }
  return Math.sqrt(squares) * Math.sqrt((2 * Math.log(2 / alpha)) / count);
}

// Note [Directions on two threads]
// A directional check's cost is its evaluations: f at the point, then at x ± h·v along every
// direction (and, with measured thresholds, at ±h/2, ±h/4 and ±3h/4 too), before any of them is
// judged. Which directions and steps these are depends only on the point, the analytic gradient
// (the directions within a tensor start from it) and the options, never on the error bounds. So
// these first evaluations can be made ahead, in another thread, while this one computes the
// bounds (src/fd/parallel.ts), and handed to the check, which then takes each where it would
// have computed it. The same code evaluates the same objective at the same points, so every
// value is the one a single thread computes, bit for bit, and so is the report. Anything beyond
// the first steps (a second step where the first does not settle the verdict, a retry across a
// kink, the fall-back to every element) is computed by the check itself.

/** What the directions and the evaluations along them depend on. */
export type DirectionSource = Pick<FdProblem, 'dtype' | 'point' | 'analytic' | 'objective'>;

/** A direction of a directional check: the tensor it lies in (over the model: undefined), and whether it is random. */
interface PlannedDirection {
  readonly group: string | undefined;
  readonly v: NamedTensors;
  readonly random: boolean;
}

/** The quarter steps of a measured direction's nine-point table, in units of h/4. */
const QUARTERS = [-3, -1, 1, 3] as const;

/** The directions a directional check takes, its first step, and every step it takes along each before judging any (Note [Directions on two threads]). */
export interface DirectionPlan {
  readonly h0: number;
  readonly measured: boolean;
  readonly vs: readonly PlannedDirection[];
  readonly firstSteps: readonly number[];
}

/** A directional check's plan, for these options; the same for the same point, gradient and options, in any thread. */
export function planDirections(problem: DirectionSource, options: Partial<FdOptions> = {}): DirectionPlan {
  const opts: FdOptions = { ...DEFAULT_FD_OPTIONS, ...options };
  const random = seededRandom(opts.seed);
  // Along a direction the variable is t in f(θ + t·v), and t = 0: the auto step is ∛u unscaled.
  // (Rounding θ + t·v costs nothing: ⟨g, δ⟩ uses the displacement each element actually took.)
  const h0 = opts.step === 'auto' ? autoStep(problem.dtype, 0) : opts.step;
  const measured = thresholdModel(problem.dtype, opts) === 'measured';
  const perTensor = opts.directionsPer === 'tensor' || (opts.directionsPer === 'auto' && measured);
  const groups = perTensor ? Object.keys(problem.point) : [undefined];
  // Within a tensor, the first two directions are the analytic gradient's own, and g·|g| (Note [Directions within a tensor]).
  const vs = groups.flatMap((group) => {
    const along = group === undefined ? [] : [gradientDirection(problem, group, 1), gradientDirection(problem, group, 2)].filter((v) => v !== null).slice(0, opts.directions);
    const random_ = Array.from({ length: opts.directions - along.length }, () => ({ group, v: randomDirection(problem, random, group), random: true }));
    return [...along.map((v) => ({ group, v, random: false })), ...random_];
  });
  // The steps as directionProbe and measuredDirections compute them, so that each is the same number.
  const half = [h0 / 2, -(h0 / 2)];
  const firstSteps = measured ? [h0, -h0, ...half, ...QUARTERS.map((j) => (j * h0) / 4)] : opts.truncation === 'always' ? [h0, -h0, ...half] : [h0, -h0];
  return { h0, measured, vs, firstSteps };
}

/** How many evaluations a directional check makes before judging any: the point, and each first step along each direction. */
export function directionJobs({ vs, firstSteps }: DirectionPlan): number {
  return 1 + vs.length * firstSteps.length;
}

/**
 * Makes a directional check's first evaluations ahead (Note [Directions on two threads]), taking
 * jobs from a counter shared with other threads until none are left: job 0 is the point itself,
 * job 1 + k·S + s the s-th of the S first steps along direction k. Returns each job it made.
 */
export function evaluateAhead(problem: DirectionSource, plan: DirectionPlan, counter: Int32Array): [number, Evaluation][] {
  const { vs, firstSteps } = plan;
  const jobs = directionJobs(plan);
  const p = new Perturber(problem);
  const made: [number, Evaluation][] = [];
  try {
    for (let job = Atomics.add(counter, 0, 1); job < jobs; job = Atomics.add(counter, 0, 1)) {
      const k = Math.floor((job - 1) / firstSteps.length);
      made.push([job, job === 0 ? p.base() : p.along(vs[k]!.v, firstSteps[(job - 1) % firstSteps.length]!)]);
    }
  } catch (err) {
    // One thread's error ends the work: the others take no further job.
    Atomics.store(counter, 0, jobs);
    throw err;
  }
  return made;
}

/** Directional evaluations made ahead (Note [Directions on two threads]): the plan of this problem and options, and what evaluateAhead made of it, by job. */
export interface MadeAhead {
  readonly plan: DirectionPlan;
  readonly evaluations: ReadonlyMap<number, Evaluation>;
}

/** Checks an analytic gradient against finite differences of the objective. */
export function finiteDifferenceCheck(problem: FdProblem, options: Partial<FdOptions> = {}): FdReport {
  return checkWith(problem, options, undefined);
}

/** finiteDifferenceCheck in directional mode with the evaluations made ahead (Note [Directions on two threads]): the same report. */
export function directionalCheckWith(problem: FdProblem, options: Partial<FdOptions>, ahead: MadeAhead): FdReport {
  return checkWith(problem, { ...options, mode: 'directional' }, ahead);
}

function checkWith(problem: FdProblem, options: Partial<FdOptions>, ahead: MadeAhead | undefined): FdReport {
  const opts: FdOptions = { ...DEFAULT_FD_OPTIONS, ...options };
  // A check over no element proves nothing; it is bad input, not a pass.
  if (Object.values(problem.point).every((t) => t.data.length === 0)) throw new RangeError('the problem has no elements to perturb: nothing to check');
  const p = new Perturber(problem);
  const plan = opts.mode !== 'directional' ? null : ahead?.plan ?? planDirections(problem, opts);
  if (plan !== null && ahead !== undefined) p.rememberAhead(ahead);
  const base = p.base();
  let elements: FdElementCheck[] = [];
  let directions: FdDirectionCheck[] = [];
  let fellBack = false;
  if (plan === null) {
    elements = fullCheck(p, problem, base, opts);
  } else {
    const { h0, measured, vs } = plan;
    directions = (measured
      ? measuredDirections(p, problem, base, vs, h0, opts)
      : vs.map(({ group, v }, k) => ({ ...checkDirection(p, problem, base, v, k, h0, opts.truncation), ...(group === undefined ? {} : { tensor: group }) }))).map((d) => nonFiniteFails(d, base.value));
    // A failed direction does not say where: fall back to every element, none sampled away.
    if (opts.fallBack && directions.some((d) => d.verdict === 'fail')) {
      fellBack = true;
      const { maxElementsPerTensor: _sampled, ...everyElement } = opts;
      elements = fullCheck(p, problem, base, { ...everyElement, mode: 'full' });
    }
  }
  // A failed direction stays a failure even when no single element shows it.
  const failed = elements.some((e) => e.verdict === 'fail') || directions.some((d) => d.verdict === 'fail');
  return { dtype: problem.dtype, options: opts, loss: base.value, lossError: problem.lossError, elements, directions, fellBack, evaluations: p.count, verdict: failed ? 'fail' : 'pass' };
}

/** One point of the error-versus-step curve. */
export interface SweepPoint {
  readonly step: number;
  /** The step reached across a kink: this point measures a blend of slopes. */
  readonly crossedKink: boolean;
  readonly numeric: number;
  /** |D(h) − reference|. */
  readonly observed: number;
  /** Predicted: rounding 2ε_f/(x⁺ − x⁻) plus truncation |c₂|·h². */
  readonly predicted: number;
  readonly rounding: number;
  readonly truncation: number;
}

/**
 * D(h) for h from 1e-1 down to 1e-9 (`perDecade` points per decade) at one element, against a
 * reference derivative (e.g. the float64 analytic value). `c2` is the h² coefficient of the
 * truncation error, measured where truncation dominates (see estimateC2).
 */
export function stepSweep(
  problem: FdProblem, name: string, i: number, reference: number, c2: number,
  { from = 1e-1, to = 1e-9, perDecade = 4, divideBy = 'actual' as FdOptions['divideBy'] } = {},
): SweepPoint[] {
  const p = new Perturber(problem);
  const base = p.base();
  const decades = Math.log10(from / to);
  const points: SweepPoint[] = [];
  for (let k = 0; k <= Math.round(decades * perDecade); k++) {
    const h = from * 10 ** (-k / perDecade);
    const c = central(p, name, i, h, divideBy);
    // Below half the spacing of floats at x, x ± h rounds back to x: no step is taken at all.
    if (c.actualStep === 0) break;
    const crossedKink = c.plus.evaluation.branches !== base.branches || c.minus.evaluation.branches !== base.branches;
    const rounding = (2 * problem.lossError) / Math.abs(c.actualStep) + c.stepRepresentation;
    const truncation = Math.abs(c2) * h * h;
    points.push({ step: h, crossedKink, numeric: c.d, observed: Math.abs(c.d - reference), predicted: rounding + truncation, rounding, truncation });
  }
  return points;
}

/**
 * c₂ = f‴/6 from two steps where truncation dominates: D(h) − D(h/2) = ¾·c₂·h². Evaluate it in
 * float64 with h well above the float64 optimum so rounding is negligible.
 */
export function estimateC2(problem: FdProblem, name: string, i: number, h: number): number {
  const p = new Perturber(problem);
  const full = central(p, name, i, h, 'actual');
  const half = central(p, name, i, h / 2, 'actual');
  return ((full.d - half.d) * 4) / (3 * h * h);
}
