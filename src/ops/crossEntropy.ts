import { z } from 'zod';
import { dtypeOf, rounderFor, type DType } from '../tensor/dtype.ts';
import { tensor, type Tensor } from '../tensor/tensor.ts';
import { addScaled, BOUND_PARTS, partsAt, zeroBound, zeroParts, type ErrorBound } from '../tolerance/errorBound.ts';
import { logSoftmaxBound, logSoftmaxRows, type LogSoftmaxRows } from './logSoftmax.ts';
import { reduce, reducedLossBound, reducedShape, Reduction } from './reduction.ts';
import type { LossBoundContext, LossOp, Target } from './types.ts';

/**
 * torch.nn.CrossEntropyLoss on the logits, with every option it has. `class_indices` targets are
 * integers of shape [B]; `probabilities` targets are [B, C] rows (one-hot or soft).
 */
export const CrossEntropySpec = z
  .strictObject({
    op: z.literal('cross_entropy'),
    target: z.enum(['class_indices', 'probabilities']),
    reduction: Reduction,
    /** Per-class weights (`weight`), one non-negative number per class. */
    weight: z.array(z.number().nonnegative()).min(1).optional(),
    /** Class-index targets only: rows whose target is this value are left out (`ignore_index`). */
    ignoreIndex: z.number().int().optional(),
    /** `label_smoothing` ε: the target becomes (1 − ε)·target + ε/C. */
    labelSmoothing: z.number().min(0).max(1).optional(),
  })
  .refine((spec) => spec.ignoreIndex === undefined || spec.target === 'class_indices', {
    message: 'applies to class-index targets only (PyTorch has no ignore_index for probabilities)',
    path: ['ignoreIndex'],
  });
export type CrossEntropySpec = z.infer<typeof CrossEntropySpec>;

// Note [Cross-entropy as effective target weights]
// Every variant is −Σ_c q_bc·log_softmax(θ)_bc per row, for effective weights q:
// - class index y, kept: q_c = (1 − ε)·w_y·[c = y] + (ε/C)·w_c; ignored: q = 0;
// - probabilities p: q_c = ((1 − ε)·p_c + ε/C)·w_c;
// with w ≡ 1 without `weight`. The reduction divides the sum by D = Σ_b w_{y_b} over the kept
// rows for class indices (PyTorch's total weight; B without weights or ignored rows), by B for
// probabilities. So ∂L/∂θ_bc = scale_b·(softmax_bc·Σ_k q_bk − q_bc), scale_b = 1/D (mean), 1
// (sum), or the upstream gradient g_b (none). The forward follows PyTorch's own order (the NLL
// part and the smoothing part reduced apart, then combined); the backward and the bound use q.

/** What the forward keeps for the backward pass and the bound. */
export interface CrossEntropyTrace extends LogSoftmaxRows {
  /** Each row's loss before the reduction [B]. */
  readonly rowLoss: Tensor;
  /** The divisor of `mean`: the total weight of the kept rows (class indices) or B. */
  readonly divisor: number;
}

/** The spec's constants as the kernel holds them in `dtype`. */
function constants(spec: CrossEntropySpec, classes: number, dtype: DType) {
  const round = rounderFor(dtype);
  const eps = spec.labelSmoothing ?? 0;
  return {
    smoothing: eps > 0,
    keep: round(1 - eps),
    spread: round(eps / classes),
    weight: (c: number) => (spec.weight === undefined ? 1 : round(spec.weight[c]!)),
  };
}

/** Effective weights q_b· of row b (see the note), in `dtype`. */
function rowWeights(spec: CrossEntropySpec, target: Target, b: number, classes: number, dtype: DType): Float64Array {
  const round = rounderFor(dtype);
  const { smoothing, keep, spread, weight } = constants(spec, classes, dtype);
  const q = new Float64Array(classes);
  if (target.kind === 'class_indices') {
    const y = target.indices[b]!;
    if (y === spec.ignoreIndex) return q;
    for (let c = 0; c < classes; c++) {
      const own = c === y ? round(keep * weight(y)) : 0;
      q[c] = smoothing ? round(own + round(spread * weight(c))) : own;
    }
  } else if (target.kind === 'probabilities') {
    for (let c = 0; c < classes; c++) {
      const p = target.probs.data[b * classes + c]!;
      const smoothed = smoothing ? round(round(p * keep) + spread) : p;
      q[c] = spec.weight === undefined ? smoothed : round(smoothed * weight(c));
    }
  }
  return q;
}

/** cross_entropy(θ, target), in PyTorch's order of operations, every one rounded to `dtype`. */
export function crossEntropyForward(logits: Tensor, target: Target, spec: CrossEntropySpec, dtype: DType): CrossEntropyTrace & { loss: Tensor } {
  const round = rounderFor(dtype);
  const [batch = 0, classes = 0] = logits.shape;
  const rows = logSoftmaxRows(logits, dtype);
  const ls = rows.logSoftmax.data;
  const { smoothing, keep, spread, weight } = constants(spec, classes, dtype);
  const weighted = spec.weight !== undefined;
  const nll = tensor(dtype, [batch]);
  const smooth = tensor(dtype, [batch]);
  let divisor = 0;
  for (let b = 0; b < batch; b++) {
    const row = b * classes;
    if (target.kind === 'class_indices') {
      // NLL reads one entry; the smoothing term reads every class, so a NaN anywhere reaches it.
      const y = target.indices[b]!;
      if (y === spec.ignoreIndex) continue;
      nll.data[b] = -(weighted ? round(weight(y) * ls[row + y]!) : ls[row + y]!);
      divisor = round(divisor + weight(y));
      if (smoothing) {
        let sum = 0;
        for (let c = 0; c < classes; c++) sum = round(sum + (weighted ? round(ls[row + c]! * weight(c)) : ls[row + c]!));
        smooth.data[b] = -sum;
      }
    } else if (target.kind === 'probabilities') {
      // Probabilities weigh every class, zeros included, so a NaN anywhere reaches the loss.
      const q = rowWeights(spec, target, b, classes, dtype);
      let sum = 0;
      for (let c = 0; c < classes; c++) sum = round(sum + round(ls[row + c]! * q[c]!));
      nll.data[b] = -sum;
    }
  }
  if (target.kind !== 'class_indices') divisor = batch;
  const reduced = (t: Tensor) => reduce(t, spec.reduction, divisor, dtype);
  // (1 − ε)·nll + (ε/C)·smooth, each part reduced first, as torch combines them.
  const combine = (a: Tensor, s: Tensor) => tensor(dtype, a.shape, Array.from(a.data, (v, i) => round(round(keep * v) + round(s.data[i]! * spread))));
  const smoothed = smoothing && target.kind === 'class_indices';
  const rowLoss = smoothed ? combine(nll, smooth) : nll;
  const loss = smoothed ? combine(reduced(nll), reduced(smooth)) : reduced(nll);
  return { ...rows, rowLoss, divisor, loss };
}

/** ∂L/∂θ_bc = scale_b·(softmax_bc·Σ_k q_bk − q_bc) (see the note). */
export function crossEntropyBackward(trace: CrossEntropyTrace, target: Target, spec: CrossEntropySpec, lossGrad: Tensor | null, dtype: DType): Tensor {
  const round = rounderFor(dtype);
  const [batch = 0, classes = 0] = trace.softmax.shape;
  const dLogits = tensor(dtype, [batch, classes]);
  for (let b = 0; b < batch; b++) {
    const q = rowWeights(spec, target, b, classes, dtype);
    let mass = 0;
    for (const v of q) mass = round(mass + v);
    for (let c = 0; c < classes; c++) {
      const i = b * classes + c;
      const g = round(round(trace.softmax.data[i]! * mass) - q[c]!);
      if (spec.reduction === 'mean') dLogits.data[i] = round(g / trace.divisor);
      else if (spec.reduction === 'none') dLogits.data[i] = round(g * lossGrad!.data[b]!);
      else dLogits.data[i] = g;
    }
  }
  return dLogits;
}

/**
 * Bounds of the loss and of ∂L/∂θ (docs/tolerance-policy.md §2.2), from the effective weights q.
 * log_softmax's bound is logSoftmaxBound's; softmax is covered both as exp(θ − m)/Σ and as
 * exp(log_softmax): one more exp or division on top of log_softmax's error.
 */
function crossEntropyBound(ctx: LossBoundContext<CrossEntropySpec, CrossEntropyTrace>): { loss: ErrorBound; dLogits: ErrorBound } {
  const { logits, logitsBound, target, r, spec, saved } = ctx;
  const { softmax, logSoftmax, rowLoss, divisor } = saved;
  const [batch = 0, classes = 0] = logits.shape;
  const dtype = dtypeOf(logits.data);
  const { smoothing, keep, spread } = constants(spec, classes, dtype);
  const reduction = spec.reduction;
  const weighted = spec.weight !== undefined;
  const lsBound = logSoftmaxBound(saved, logits, logitsBound, r);
  // Roundings in forming each q_bc·ls_bc beyond the product itself: the weight, and with label
  // smoothing (1 − ε)·, ε/C· and the sum of the two parts. All terms share a sign (ls ≤ 0, q ≥ 0),
  // so each adds u relative to the row's magnitude Σ|q·ls|.
  const qRoundings = (weighted ? 1 : 0) + (smoothing ? 3 : 0);
  // The constants held in two precisions differ by their representation gaps.
  const weightGap = weighted ? Math.max(...spec.weight!.map((w) => r.relativeGap(w))) : 0;
  const qGap = weightGap + (smoothing ? Math.max(r.relativeGap(keep), r.relativeGap(spread)) : 0);
  // mean's divisor: Σ of the kept rows' weights (γ_{B−1} relative), exact for counts.
  const divisorRelative = weighted && target.kind === 'class_indices' ? r.gamma(batch - 1) : 0;
  // Across precisions that sum moves by at most the weights' largest relative gap.
  const divisorGap = weighted && target.kind === 'class_indices' && reduction === 'mean' ? weightGap : 0;
  const pErrAt = (i: number): number => ctx.targetBound?.parts.inputRounding[i] ?? 0;
  const dense = target.kind === 'probabilities' || smoothing;

  const rowBounds = zeroBound([batch], batch);
  const dLogits = zeroBound([batch, classes], batch * classes);
  for (let b = 0; b < batch; b++) {
    const row = b * classes;
    const q = rowWeights(spec, target, b, classes, dtype);
    const scale = reduction === 'mean' ? 1 / divisor : reduction === 'none' ? Math.abs(ctx.lossGrad!.data[b]!) : 1;
    // How far apart the sides' q are: the target's own difference, and the constants' gaps.
    const qErr = (c: number): number => pErrAt(row + c) * keep * (weighted ? spec.weight![c]! : 1) + Math.abs(q[c]!) * qGap;
    let mass = 0;
    let massAbs = 0;
    let massErr = 0;
    let magnitude = 0;
    for (let c = 0; c < classes; c++) {
      mass += q[c]!;
      massAbs += Math.abs(q[c]!);
      massErr += qErr(c);
      magnitude += Math.abs(q[c]! * logSoftmax.data[row + c]!);
    }
    const rowParts = zeroParts();
    for (let c = 0; c < classes; c++) {
      const i = row + c;
      const s = softmax.data[i]!;
      const lsErr = partsAt(lsBound, i);
      if (q[c] !== 0) addScaled(rowParts, lsErr, Math.abs(q[c]!));
      rowParts.inputRounding += Math.abs(logSoftmax.data[i]!) * qErr(c);

      // ∂L/∂θ_c: s_c carries ls's error plus one exp or division, Σq its γ_{C−1} (exact where q
      // has one nonzero entry), and the product and difference one rounding each; q's own
      // roundings add u per rounding.
      const sErr = { ...lsErr };
      sErr.arithmetic += (dense ? r.gamma(classes - 1) : 0) + r.ulps(3);
      // s_c = exp(θ_c − m)/Σ: exp's accuracy at its argument, and what the division loses beyond a rounding.
      sErr.elementary += r.elementary('exp', logits.data[i]! - saved.rowMax.data[Math.floor(i / classes)]!, 1) + r.divisionExtra(1);
      const v = s * mass - q[c]!;
      for (const part of BOUND_PARTS) dLogits.parts[part][i] = scale * s * Math.abs(mass) * sErr[part];
      dLogits.parts.arithmetic[i]! +=
        scale * (Math.abs(q[c]!) * r.ulps(1) + r.ulps(qRoundings) * (s * massAbs + Math.abs(q[c]!))) +
        (reduction === 'mean' ? (r.ulps(2) + divisorRelative) * scale * Math.abs(v) : 0) +
        (reduction === 'none' ? r.ulps(1) * scale * Math.abs(v) : 0) +
        // exp(θ_c − m) may underflow to a subnormal or 0, and so may the operations after it;
        // an underflow in s_c is then multiplied by Σq and by the scale.
        r.underflow(5) * Math.max(1, scale) * Math.max(1, Math.abs(mass));
      dLogits.parts.inputRounding[i]! += scale * (s * massErr + qErr(c) + divisorGap * Math.abs(v));
      if (reduction === 'none') dLogits.parts.inputRounding[i]! += Math.abs(v) * (ctx.lossGradBound?.parts.inputRounding[b] ?? 0);
    }
    // The row's sum over classes is a dot product of C terms where more than one is read.
    if (dense) rowParts.arithmetic += r.gamma(classes) * magnitude;
    rowParts.arithmetic += r.ulps(qRoundings) * magnitude;
    for (const part of BOUND_PARTS) rowBounds.parts[part][b] = rowParts[part];
  }
  if (reduction === 'none') return { loss: rowBounds, dLogits };

  let lossMagnitude = 0;
  for (const v of rowLoss.data) lossMagnitude += Math.abs(v);
  const mean = reduction === 'mean' ? divisor : null;
  const loss = reducedLossBound(rowBounds, { terms: batch, magnitude: lossMagnitude, value: ctx.value.data[0]!, divisor: mean, divisorRelative, divisorGap }, r);
  // PyTorch sums a probability target's B·C products in one reduction, in any order: γ_{BC−1}
  // rather than γ_C per row and γ_{B−1} over the rows (every term has the same sign).
  if (target.kind === 'probabilities') {
    loss.parts.arithmetic[0]! += Math.max(0, r.gamma(batch * classes - 1) - r.gamma(classes) - r.gamma(batch - 1)) * lossMagnitude / (mean ?? 1);
  }
  return { loss, dLogits };
}

function describe(spec: CrossEntropySpec): string {
  const options = [
    spec.target,
    `reduction=${spec.reduction}`,
    ...(spec.weight === undefined ? [] : [`weight=[${spec.weight.join(', ')}]`]),
    ...(spec.ignoreIndex === undefined ? [] : [`ignore_index=${spec.ignoreIndex}`]),
    ...(spec.labelSmoothing === undefined ? [] : [`label_smoothing=${spec.labelSmoothing}`]),
  ];
  return `cross_entropy(${options.join(', ')})`;
}

/** torch.nn.CrossEntropyLoss: log_softmax and the negative log-likelihood in one, with its target kinds. */
export const crossEntropy: LossOp<CrossEntropySpec, CrossEntropyTrace> = {
  name: 'cross_entropy',
  schema: CrossEntropySpec,
  torch: { module: 'torch.nn.CrossEntropyLoss', functional: 'torch.nn.functional.cross_entropy' },
  describe,
  targetLayout: (spec, batch, classes) =>
    spec.target === 'class_indices'
      ? { kind: 'class_indices', dtype: 'int64', shape: [batch], ...(spec.ignoreIndex === undefined ? {} : { ignoreIndex: spec.ignoreIndex }) }
      : { kind: 'probabilities', dtype: 'float', shape: [batch, classes] },
  lossShape: (spec, batch) => reducedShape(spec.reduction, [batch]),
  checkSpec: (spec, classes) =>
    spec.weight !== undefined && spec.weight.length !== classes ? { field: 'weight', message: `has ${spec.weight.length} entries, the model has ${classes} classes` } : null,
  forward(spec, logits, target, dtype) {
    const { loss, ...saved } = crossEntropyForward(logits, target, spec, dtype);
    return { loss, saved };
  },
  backward: (spec, _logits, target, saved, lossGrad, dtype) => crossEntropyBackward(saved, target, spec, lossGrad, dtype),
  bound: crossEntropyBound,
};
