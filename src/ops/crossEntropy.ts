import { z } from 'zod';
import { rounderFor, type DType } from '../tensor/dtype.ts';
import { tensor, type Tensor } from '../tensor/tensor.ts';
import { BOUND_PARTS, partsAt, zeroBound, type BoundPart, type ErrorBound } from '../tolerance/errorBound.ts';
import { ELEMENTARY_ACCURACY } from './scalar.ts';
import type { LossBoundContext, LossOp, Target } from './types.ts';

/**
 * torch.nn.functional.cross_entropy on the logits. `class_indices` targets are integers of shape
 * [B]; `probabilities` targets are [B, C] rows (one-hot or soft). `mean` divides by B for both
 * kinds, as PyTorch does when there are no class weights.
 */
export const CrossEntropySpec = z.strictObject({
  op: z.literal('cross_entropy'),
  target: z.enum(['class_indices', 'probabilities']),
  reduction: z.enum(['mean', 'sum']),
});
export type CrossEntropySpec = z.infer<typeof CrossEntropySpec>;

/** Everything the forward computes per row, kept for the backward pass and the error bound. */
export interface CrossEntropyTrace {
  /** Row maxima m [B]: the shift that keeps exp from overflowing. */
  readonly rowMax: Tensor;
  /** log Σ_c exp(θ_c − m) [B]. */
  readonly logSumExp: Tensor;
  /** log_softmax(θ) [B, C]. */
  readonly logSoftmax: Tensor;
  /** softmax(θ) [B, C]. */
  readonly softmax: Tensor;
  /** Each row's loss before the reduction [B]. */
  readonly rowLoss: Tensor;
  /** The reduced loss, a scalar. */
  readonly loss: Tensor;
}

/** Weight of target class c in row b: 1 for the index target, p_bc for probabilities. */
function targetWeight(target: Target, b: number, c: number, classes: number): number {
  if (target.kind === 'class_indices') return target.indices[b] === c ? 1 : 0;
  return target.probs.data[b * classes + c]!;
}

/**
 * cross_entropy(θ, target) = reduce_b(−Σ_c p_bc · log_softmax(θ)_bc), with
 * log_softmax(θ)_c = (θ_c − m) − log Σ_k exp(θ_k − m) for the row maximum m (stable for any
 * logits: the largest exponent is exactly 0). `mean` divides by B for both target kinds, as
 * PyTorch does when there are no class weights.
 */
export function crossEntropyForward(logits: Tensor, target: Target, loss: CrossEntropySpec, dtype: DType): CrossEntropyTrace {
  const round = rounderFor(dtype);
  const [batch = 0, classes = 0] = logits.shape;
  const rowMax = tensor(dtype, [batch]);
  const logSumExp = tensor(dtype, [batch]);
  const logSoftmax = tensor(dtype, [batch, classes]);
  const softmax = tensor(dtype, [batch, classes]);
  const rowLoss = tensor(dtype, [batch]);
  const shiftedExp = new Float64Array(classes);
  let total = 0;
  for (let b = 0; b < batch; b++) {
    const row = logits.data.subarray(b * classes, (b + 1) * classes);
    let m = -Infinity;
    for (const v of row) if (v > m || Number.isNaN(v)) m = v;
    let s = 0;
    for (let c = 0; c < classes; c++) {
      shiftedExp[c] = round(Math.exp(round(row[c]! - m)));
      s = round(s + shiftedExp[c]!);
    }
    const lse = round(Math.log(s));
    let weighted = 0;
    for (let c = 0; c < classes; c++) {
      const i = b * classes + c;
      logSoftmax.data[i] = round(round(row[c]! - m) - lse);
      softmax.data[i] = round(shiftedExp[c]! / s);
      // An index target reads one entry; probabilities weigh every class, zeros included, so
      // that a NaN anywhere in the row reaches the loss as it does in PyTorch.
      if (target.kind === 'probabilities') weighted = round(weighted + round(target.probs.data[i]! * logSoftmax.data[i]!));
    }
    if (target.kind === 'class_indices') weighted = logSoftmax.data[b * classes + target.indices[b]!]!;
    rowMax.data[b] = m;
    logSumExp.data[b] = lse;
    rowLoss.data[b] = -weighted;
    total = round(total + rowLoss.data[b]!);
  }
  const value = loss.reduction === 'mean' ? round(total / batch) : total;
  return { rowMax, logSumExp, logSoftmax, softmax, rowLoss, loss: tensor(dtype, [], [value]) };
}

/**
 * ∂L/∂θ_bc = scale · (softmax_bc · Σ_k p_bk − p_bc), scale = 1/B for `mean`, 1 for `sum`.
 * The Σ_k p_bk factor is 1 for index and one-hot targets; keeping it makes soft targets that do
 * not sum to 1 match PyTorch too.
 */
export function crossEntropyBackward(trace: CrossEntropyTrace, target: Target, loss: CrossEntropySpec, dtype: DType): Tensor {
  const round = rounderFor(dtype);
  const [batch = 0, classes = 0] = trace.softmax.shape;
  const dLogits = tensor(dtype, [batch, classes]);
  for (let b = 0; b < batch; b++) {
    let targetMass = 0;
    for (let c = 0; c < classes; c++) targetMass = round(targetMass + targetWeight(target, b, c, classes));
    for (let c = 0; c < classes; c++) {
      const i = b * classes + c;
      const g = round(round(trace.softmax.data[i]! * targetMass) - targetWeight(target, b, c, classes));
      dLogits.data[i] = loss.reduction === 'mean' ? round(g / batch) : g;
    }
  }
  return dLogits;
}

type Parts = Record<BoundPart, number>;
const noParts = (): Parts => ({ arithmetic: 0, elementary: 0, inputRounding: 0, branch: 0 });
function addScaled(into: Parts, from: Parts, factor: number): void {
  for (const part of BOUND_PARTS) into[part] += factor * from[part];
}

/**
 * Bounds of the loss and of ∂L/∂θ. log_softmax is covered in both orders libraries use,
 * (θ − m) − L and θ − (m + L), with L = log Σ exp(θ − m): hence single roundings on
 * |θ − m|, |m|, |L| and |log_softmax|. softmax is covered both as exp(θ − m)/Σ and as
 * exp(log_softmax): one more exp or division on top of log_softmax's error.
 */
function crossEntropyBound(ctx: LossBoundContext<CrossEntropySpec, CrossEntropyTrace>): { loss: ErrorBound; dLogits: ErrorBound } {
  const { logits, logitsBound, target, r, spec } = ctx;
  const { rowMax, logSumExp, logSoftmax, softmax, rowLoss } = ctx.saved;
  const [batch = 0, classes = 0] = logits.shape;
  const mean = spec.reduction === 'mean';
  const scale = mean ? 1 / batch : 1;
  const pBound = ctx.targetBound;
  const targetAt = (i: number): number =>
    target.kind === 'probabilities' ? target.probs.data[i]! : target.indices[Math.floor(i / classes)] === i % classes ? 1 : 0;
  const targetErrAt = (i: number): number => pBound?.parts.inputRounding[i] ?? 0;

  const lossParts = noParts();
  const dLogits = zeroBound([batch, classes], batch * classes);
  let lossMagnitude = 0;
  for (let b = 0; b < batch; b++) {
    const row = b * classes;
    const m = rowMax.data[b]!;
    const lse = logSumExp.data[b]!;
    // Relative error of Σ exp(θ − m): the shift's rounding u·|θ_k − m| moves exp(θ_k − m) by that
    // relative amount (weighted by s_k, which sum to 1), the sum of positive terms adds γ_{C−1},
    // and exp its own accuracy (the `elementary` part, below).
    let sumExpArith = r.gamma(classes - 1);
    // exp's and log's own accuracy (ELEMENTARY_ACCURACY), relative, on both sides: an ulp is 2u.
    const [expRelative, logRelative] = [r.ulps(2 * ELEMENTARY_ACCURACY.exp.ulps), r.ulps(2 * ELEMENTARY_ACCURACY.log.ulps)];
    // First-order effect of the logits' errors on log_softmax_c: Δθ_c − Σ_k s_k·Δθ_k.
    const mixed = noParts();
    let targetMass = 0;
    let targetMassErr = 0;
    for (let i = row; i < row + classes; i++) {
      sumExpArith += softmax.data[i]! * r.ulps(1) * Math.abs(logits.data[i]! - m);
      addScaled(mixed, partsAt(logitsBound, i), softmax.data[i]!);
      targetMass += targetAt(i);
      targetMassErr += targetErrAt(i);
    }
    const rowParts = noParts();
    let rowMagnitude = 0;
    for (let i = row; i < row + classes; i++) {
      const ls = logSoftmax.data[i]!;
      const s = softmax.data[i]!;
      const p = targetAt(i);
      const lsErr = partsAt(logitsBound, i);
      addScaled(lsErr, mixed, 1);
      lsErr.arithmetic += sumExpArith + r.ulps(1) * (Math.abs(logits.data[i]! - m) + Math.abs(m) + Math.abs(lse) + Math.abs(ls));
      lsErr.elementary += expRelative + logRelative * Math.abs(lse);

      // Row loss −Σ_c p_c·ls_c; an index target reads only its class.
      if (target.kind === 'probabilities' || p !== 0) {
        addScaled(rowParts, lsErr, Math.abs(p));
        rowParts.inputRounding += Math.abs(ls) * targetErrAt(i);
        rowMagnitude += Math.abs(p * ls);
      }

      // ∂L/∂θ_c = scale·(s_c·Σp − p_c), with s_c = softmax_c carrying ls's error plus one exp or
      // division, Σp its γ_{C−1}, and the product and difference one rounding each.
      const sErr = { ...lsErr };
      sErr.arithmetic += r.gamma(classes - 1) + r.ulps(3);
      sErr.elementary += expRelative;
      const sMass = scale * s * Math.abs(targetMass);
      for (const part of BOUND_PARTS) dLogits.parts[part][i] = sMass * sErr[part];
      // p_c is rounded once where torch forms −p/B, and `mean` rounds the result (1/B and ×).
      const dTheta = scale * Math.abs(s * targetMass - p);
      // exp(θ_c − m) may underflow to a subnormal or 0, and so may the four operations after it.
      dLogits.parts.arithmetic[i]! += scale * Math.abs(p) * r.ulps(1) + (mean ? r.ulps(2) * dTheta : 0) + r.underflow(5);
      dLogits.parts.inputRounding[i]! += scale * (s * targetMassErr + targetErrAt(i));
    }
    // The probability-weighted sum over classes is a dot product of C terms.
    if (target.kind === 'probabilities') rowParts.arithmetic += r.gamma(classes) * rowMagnitude;
    addScaled(lossParts, rowParts, 1);
    lossMagnitude += Math.abs(rowLoss.data[b]!);
  }
  // Σ over the batch, then ÷B for `mean` (a division, or a rounded 1/B and a product).
  lossParts.arithmetic += r.gamma(batch - 1) * lossMagnitude;
  const loss = zeroBound([], 1);
  for (const part of BOUND_PARTS) loss.parts[part][0] = scale * lossParts[part];
  if (mean) loss.parts.arithmetic[0]! += r.ulps(2) * Math.abs(ctx.value);
  return { loss, dLogits };
}

/** torch.nn.CrossEntropyLoss: log_softmax and the negative log-likelihood in one, with its target kinds. */
export const crossEntropy: LossOp<CrossEntropySpec, CrossEntropyTrace> = {
  name: 'cross_entropy',
  schema: CrossEntropySpec,
  torch: { module: 'torch.nn.CrossEntropyLoss', functional: 'torch.nn.functional.cross_entropy' },
  describe: (spec) => `cross_entropy(${spec.target}, reduction=${spec.reduction})`,
  targetLayout: (spec, batch, classes) =>
    spec.target === 'class_indices' ? { kind: 'class_indices', dtype: 'int64', shape: [batch] } : { kind: 'probabilities', dtype: 'float', shape: [batch, classes] },
  forward(spec, logits, target, dtype) {
    const trace = crossEntropyForward(logits, target, spec, dtype);
    return { value: trace.loss.data[0]!, saved: trace };
  },
  backward: (spec, _logits, target, saved, dtype) => crossEntropyBackward(saved, target, spec, dtype),
  bound: crossEntropyBound,
};
