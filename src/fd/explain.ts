import type { GoldenCase } from '../golden/load.ts';
import type { DType } from '../tensor/dtype.ts';
import { ulpOf } from '../tensor/ulp.ts';
import { checkOneElement, estimateC2, FD_BOUND_PARTS, finiteDifferenceCheck, stepSweep, type FdElementCheck, type FdOptions, type FdProblem, type FdReport, type SweepPoint } from './engine.ts';
import { ravelIndex } from '../tensor/tensor.ts';
import { modelProblem } from './modelProblem.ts';

/** A finite-difference problem in a given precision: the same loss and analytic gradient, evaluated in `dtype`. */
export type ProblemFor = (dtype: DType) => FdProblem;

/** The element checked again under a change that removes noise (another step, float64 evaluation). */
export interface Remedy {
  readonly label: string;
  readonly check: FdElementCheck;
}

/**
 * What the evidence says: `noise` when the drift is inside its bound and every remedy agrees;
 * `bug` when the element fails, or when a remedy does not make the discrepancy vanish (it stays
 * outside that run's own, tighter bound); `kink` when the step crossed a kink and nothing failed.
 */
export type DriftConclusion = 'noise' | 'bug' | 'kink';

/** Why a finite difference drifted from the analytic value, and what removes the drift. */
export interface DriftExplanation {
  readonly element: FdElementCheck;
  /** The bound part that is largest: what the drift is made of. */
  readonly dominant: 'rounding' | 'truncation' | 'stepRepresentation' | 'analytic';
  /** The observed drift as a share of the rounding part alone. */
  readonly shareOfRounding: number;
  /**
   * f̂ moves in steps of at least one ulp near the loss, so the difference quotient can only take
   * multiples of ulp(L)/step: its resolution.
   */
  readonly resolution: number;
  /** The same element with the auto step, and in float64, each with its own verdict. */
  readonly remedies: readonly Remedy[];
  readonly conclusion: DriftConclusion;
  readonly lossError: number;
  readonly dtype: DType;
}

/** The passing element of `elements` furthest from its analytic value, relatively. */
export function largestDrift(elements: readonly FdElementCheck[]): FdElementCheck | undefined {
  const relative = (e: FdElementCheck) => e.absDiff / Math.abs(e.analytic);
  return elements
    .filter((e) => e.verdict === 'pass' && e.absDiff > 0 && e.analytic !== 0)
    .reduce<FdElementCheck | undefined>((w, e) => (w === undefined || relative(e) > relative(w) ? e : w), undefined);
}

/** The part of an element's bound that is largest: what its allowed drift is mostly made of. */
export function dominantPart(element: FdElementCheck): DriftExplanation['dominant'] {
  return FD_BOUND_PARTS.reduce((a, b) => (element.bound[b] > element.bound[a] ? b : a));
}

/**
 * Everything `gradparity gradcheck` concludes from a check: the check itself, for a float32 check
 * the same check redone in float64, the explanation of one element, and the verdict they support.
 */
export interface GradcheckOutcome {
  readonly report: FdReport;
  /**
   * A float32 check redone in float64 with the same options. Float32 bounds are wide enough to let
   * most bugs through (docs/tolerance-policy.md §6), so a float32 pass means nothing until float64,
   * whose bounds are not, agrees.
   */
  readonly recheck: FdReport | undefined;
  readonly explanation: DriftExplanation | undefined;
  readonly verdict: 'pass' | 'fail';
}

const worstFailing = (r: FdReport | undefined) =>
  r?.elements.filter((e) => e.verdict === 'fail').reduce<FdElementCheck | undefined>((w, e) => (w === undefined || e.share > w.share ? e : w), undefined);

/**
 * Concludes a check: re-checks a float32 run in float64, and explains `chosen` or, by default,
 * the element the float64 re-check found worst, or else the largest relative drift. It passes
 * only if the check, the re-check and the explanation's own re-checks all pass.
 */
export function concludeGradcheck(problemFor: ProblemFor, report: FdReport, chosen?: { tensor: string; index: readonly number[] }): GradcheckOutcome {
  const recheck = report.dtype === 'float32' ? finiteDifferenceCheck(problemFor('float64'), report.options) : undefined;
  const suspect = worstFailing(recheck);
  const target = chosen ?? (suspect && report.elements.some((e) => e.tensor === suspect.tensor && e.index.join() === suspect.index.join()) ? suspect : undefined);
  const explanation = explainDrift(problemFor, report, target);
  const failed = report.verdict === 'fail' || recheck?.verdict === 'fail' || explanation?.conclusion === 'bug';
  return { report, recheck, explanation, verdict: failed ? 'fail' : 'pass' };
}

function conclude(element: FdElementCheck, remedies: readonly Remedy[]): DriftConclusion {
  if (element.verdict === 'fail' || remedies.some((r) => r.check.verdict === 'fail')) return 'bug';
  return element.verdict === 'kink' ? 'kink' : 'noise';
}

/**
 * Explains one element's drift in numbers (by default the passing element that drifted most,
 * relative to its analytic value); undefined when nothing drifted. The element is checked again
 * with the auto step (when another step was used) and in float64 (when it ran in float32): the
 * conclusion rests on those checks, so a drift that float64 does not remove is called a bug even
 * where the float32 bound was too wide to see it.
 */
export function explainDrift(problemFor: ProblemFor, report: FdReport, chosen?: { tensor: string; index: readonly number[] }): DriftExplanation | undefined {
  const found = chosen
    ? report.elements.find((e) => e.tensor === chosen.tensor && e.index.join() === chosen.index.join())
    : largestDrift(report.elements);
  if (found === undefined || found.absDiff === 0) return undefined;
  // An explanation shows every part of the bound (the truncation part too, estimated), and
  // explains by the worst case, the last resort: what float32 rounding could do at most.
  const options: Partial<FdOptions> = { divideBy: report.options.divideBy, richardson: report.options.richardson, truncation: 'always', threshold: 'worst-case' };
  const recheck = (dtype: DType, step: FdOptions['step']) => {
    const problem = problemFor(dtype);
    return checkOneElement(problem, found.tensor, ravelIndex(found.index, problem.point[found.tensor]!.shape), { ...options, step });
  };
  const element = found.truncationEstimated === false || found.threshold?.model === 'measured' ? recheck(report.dtype, report.options.step) : found;
  const { bound } = element;
  const resolution = ulpOf(report.loss, report.dtype) / Math.abs(element.step.actual);
  const remedies: Remedy[] = [];
  if (report.options.step !== 'auto') remedies.push({ label: '--step auto', check: recheck(report.dtype, 'auto') });
  if (report.dtype === 'float32') {
    remedies.push({ label: `--dtype float64 (${report.options.step === 'auto' ? 'auto step' : 'same step'})`, check: recheck('float64', report.options.step) });
  }
  return {
    element,
    dominant: dominantPart(element),
    lossError: report.lossError,
    dtype: report.dtype,
    shareOfRounding: bound.rounding === 0 ? Infinity : element.absDiff / bound.rounding,
    resolution,
    remedies,
    conclusion: conclude(element, remedies),
  };
}

/**
 * The V-shaped error-versus-step curve of one element in `dtype`: observed |D(h) − g|, with g the
 * float64 analytic gradient, against the prediction 2ε_f/step + |c₂|h², c₂ measured in float64.
 */
export function sweepElement(golden: GoldenCase, dtype: DType, tensor: string, index: readonly number[], divideBy: FdOptions['divideBy'] = 'actual'): { reference: number; c2: number; points: SweepPoint[] } {
  const f64 = modelProblem(golden, 'float64');
  const shape = f64.point[tensor]?.shape;
  if (shape === undefined) throw new RangeError(`no tensor ${tensor}; the case has ${Object.keys(f64.point).join(', ')}`);
  if (index.length !== shape.length || index.some((i, axis) => !(i >= 0 && i < shape[axis]!))) {
    throw new RangeError(`${tensor}[${index.join(',')}] is outside its shape [${shape.join(', ')}]`);
  }
  const flat = ravelIndex(index, shape);
  const reference = f64.analytic[tensor]!.data[flat]!;
  // Truncation dominates at h = 1e-3 in float64 (rounding there is ~1e-12), so c₂ is measured cleanly.
  const c2 = estimateC2(f64, tensor, flat, 1e-3 * Math.max(1, Math.abs(f64.point[tensor]!.data[flat]!)));
  return { reference, c2, points: stepSweep(modelProblem(golden, dtype), tensor, flat, reference, c2, { divideBy }) };
}
