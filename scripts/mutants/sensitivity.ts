import { checkOneElement } from '../../src/fd/engine.ts';
import { modelProblem } from '../../src/fd/modelProblem.ts';
import type { GoldenCase } from '../../src/golden/load.ts';
import { OnnxKernelMissing, onnxOracleFor } from '../../src/onnx/oracle.ts';
import type { ModelRun } from '../../src/model/sequential.ts';
import { comparePair, pairBounds, referenceRuns, type ReferenceRuns } from '../../src/parity/compare.ts';
import type { Pair } from '../../src/parity/pairs.ts';
import { gradKey, type Results } from '../../src/results/keys.ts';
import { DTYPES, type DType } from '../../src/tensor/dtype.ts';
import { unravelIndex, type NamedTensors } from '../../src/tensor/tensor.ts';
import { totals } from '../../src/tolerance/errorBound.ts';

// Note [Detection thresholds]
// Multiply one gradient element g by (1 + ε). An oracle holds g to an interval [lo, hi]: torch's
// (or onnxruntime's) value ± the derived bound, or the finite difference ± its bound (for a
// kink, the one-sided interval ± the bound). The smallest ε that leaves the interval is the
// oracle's detection threshold for that element; it is then confirmed end to end: 1.1·ε must
// turn the real check red, 0.9·ε must not (closer than 10% the perturbed float64 value can be
// only a few ulps from the edge, and rounding decides).

export type SensitivityOracle = 'torch' | 'onnx' | 'fd';

export interface Threshold {
  readonly case: string;
  readonly oracle: SensitivityOracle;
  readonly dtype: DType;
  readonly tensor: string;
  readonly index: readonly number[];
  readonly threshold: number;
  /** Whether 1.01·threshold failed the real check and 0.99·threshold passed it. */
  readonly confirmed: boolean;
}

/** The smallest ε ≥ 0 for which g·(1 + ε) leaves [lo, hi]. */
export function relativeThreshold(g: number, lo: number, hi: number): number {
  if (g > 0) return Math.max(0, (hi - g) / g);
  if (g < 0) return Math.max(0, (g - lo) / -g);
  return Infinity;
}

function perturbed(grads: NamedTensors, tensor: string, i: number, eps: number): NamedTensors {
  const data = grads[tensor]!.data.slice();
  data[i] = data[i]! * (1 + eps);
  return { ...grads, [tensor]: { shape: grads[tensor]!.shape, data } };
}

/** A run whose results carry `grads` instead of its own gradients (traces untouched). */
function withGrads(run: ModelRun, grads: NamedTensors): ModelRun {
  const results = new Map(run.results);
  for (const [name, t] of Object.entries(grads)) results.set(gradKey(name), t);
  return { ...run, results };
}

/**
 * The element the thresholds are measured on: the largest |∂L/∂W| of the first layer, the
 * deepest, or of the first parameter after it whose gradient is not all zeros (an all-zero last
 * layer zeroes every gradient before it, and no relative error of 0 can be seen).
 */
export function probeElement(golden: GoldenCase): { tensor: string; i: number } {
  for (const tensor of Object.keys(golden.inputs.params)) {
    const data = golden.expected.float64.results.get(gradKey(tensor))!.data;
    let i = 0;
    data.forEach((v, k) => (Math.abs(v) > Math.abs(data[i]!) ? (i = k) : 0));
    if (data[i] !== 0) return { tensor, i };
  }
  throw new RangeError(`${golden.name}: every parameter gradient is 0; no element to measure a threshold on`);
}

async function pairThreshold(golden: GoldenCase, ts: ReferenceRuns, pair: Pair, expected: Results, oracle: SensitivityOracle): Promise<Threshold> {
  const dtype = pair.actual.dtype as DType;
  const { tensor, i } = probeElement(golden);
  const key = gradKey(tensor);
  const actual = ts[dtype].results;
  const bound = totals(pairBounds(golden, ts, pair, actual, expected).get(key)!)[i]!;
  const e = expected.get(key)!.data[i]!;
  const threshold = relativeThreshold(actual.get(key)!.data[i]!, e - bound, e + bound);
  const fails = (eps: number) => {
    const run = withGrads(ts[dtype], perturbed(ts[dtype].bwd.grads, tensor, i, eps));
    return comparePair(golden, { ...ts, [dtype]: run }, pair, run.results, expected).some((r) => r.tensor === key && r.verdict === 'fail');
  };
  const shape = actual.get(key)!.shape;
  return { case: golden.name, oracle, dtype, tensor, index: unravelIndex(i, shape), threshold, confirmed: fails(threshold * 1.1) && !fails(threshold * 0.9) };
}

/**
 * Finite differences probe the largest first-layer element whose step stays on one linear piece:
 * at a ReLU kink the check can only bracket the analytic value between two one-sided slopes,
 * which the torch and onnxruntime oracles, not finite differences, have to pin down.
 */
function fdThreshold(golden: GoldenCase, dtype: DType): Threshold {
  const { tensor } = probeElement(golden);
  const problem = modelProblem(golden, dtype);
  const g = problem.analytic[tensor]!.data;
  const order = Array.from(g.keys()).sort((a, b) => Math.abs(g[b]!) - Math.abs(g[a]!));
  // The largest smooth element, or (every element a kink, as in relu-kink) the largest.
  let [i, check] = [order[0]!, checkOneElement(problem, tensor, order[0]!)];
  for (const candidate of order.slice(1)) {
    if (check.verdict !== 'kink') break;
    const c = checkOneElement(problem, tensor, candidate);
    if (c.verdict !== 'kink') [i, check] = [candidate, c];
  }
  // On a piece narrower than the step (near-kink-subnormal) finite differences decide nothing:
  // no error in the element can turn them red.
  if (check.undecided) return { case: golden.name, oracle: 'fd', dtype, tensor, index: check.index, threshold: Infinity, confirmed: true };
  const [lo, hi] = check.oneSided
    ? [Math.min(check.oneSided.left, check.oneSided.right) - check.bound.total, Math.max(check.oneSided.left, check.oneSided.right) + check.bound.total]
    : [check.numeric - check.bound.total, check.numeric + check.bound.total];
  const threshold = relativeThreshold(check.analytic, lo, hi);
  const grads = referenceRuns(golden)[dtype].bwd.grads;
  const fails = (eps: number) => checkOneElement(modelProblem(golden, dtype, perturbed(grads, tensor, i, eps)), tensor, i).verdict === 'fail';
  return { case: golden.name, oracle: 'fd', dtype, tensor, index: check.index, threshold, confirmed: fails(threshold * 1.1) && !fails(threshold * 0.9) };
}

/** Detection thresholds of every oracle, in every precision it runs in, for one golden. */
export async function thresholds(golden: GoldenCase): Promise<Threshold[]> {
  const ts = referenceRuns(golden);
  const out: Threshold[] = [];
  for (const d of DTYPES) {
    out.push(await pairThreshold(golden, ts, { actual: { source: 'ts', dtype: d }, expected: { source: 'torch', dtype: d } }, golden.expected[d].results, 'torch'));
    out.push(fdThreshold(golden, d));
  }
  let onnx;
  try {
    onnx = await (await onnxOracleFor(golden)).run();
  } catch (err) {
    if (err instanceof OnnxKernelMissing) return out; // onnxruntime cannot run this graph: no threshold to measure
    throw err;
  }
  const g = golden.onnx.dtype;
  out.push(await pairThreshold(golden, ts, { actual: { source: 'ts', dtype: g }, expected: { source: 'onnx', dtype: g } }, onnx, 'onnx'));
  return out;
}
