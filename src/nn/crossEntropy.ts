import { rounderFor, type DType } from '../tensor/dtype.ts';
import { tensor, type Tensor } from '../tensor/tensor.ts';
import type { LossSpec } from './spec.ts';

/** Class indices [B] (what cross_entropy takes as a LongTensor) or probability rows [B, C]. */
export type Target =
  | { readonly kind: 'class_indices'; readonly indices: Int32Array }
  | { readonly kind: 'probabilities'; readonly probs: Tensor };

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
export function crossEntropyForward(logits: Tensor, target: Target, loss: LossSpec, dtype: DType): CrossEntropyTrace {
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
export function crossEntropyBackward(trace: CrossEntropyTrace, target: Target, loss: LossSpec, dtype: DType): Tensor {
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
