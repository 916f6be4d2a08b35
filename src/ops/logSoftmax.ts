import { z } from 'zod';
import { dtypeOf, rounderFor, type DType } from '../tensor/dtype.ts';
import { tensor, type Tensor } from '../tensor/tensor.ts';
import { addScaled, BOUND_PARTS, partsAt, zeroBound, zeroParts, type ErrorBound } from '../tolerance/errorBound.ts';
import type { Roundoffs } from '../tolerance/roundoff.ts';
import type { ModuleOp } from './types.ts';

// log_softmax over the classes of each row, shared by CrossEntropyLoss (which applies it to the
// logits itself) and the LogSoftmax module (which NLLLoss follows). The values, the saved
// softmax and the bound of log_softmax are written once, here.

/** Everything a row-wise log_softmax computes, kept for backward passes and bounds. */
export interface LogSoftmaxRows {
  /** Row maxima m [B]: the shift that keeps exp from overflowing. */
  readonly rowMax: Tensor;
  /** log Σ_c exp(θ_c − m) [B]. */
  readonly logSumExp: Tensor;
  /** log_softmax(θ) [B, C]. */
  readonly logSoftmax: Tensor;
  /** softmax(θ) [B, C]. */
  readonly softmax: Tensor;
}

/**
 * log_softmax(θ)_c = (θ_c − m) − log Σ_k exp(θ_k − m) for the row maximum m (stable for any
 * logits: the largest exponent is exactly 0), and softmax = exp(θ − m)/Σ, every operation
 * rounded to `dtype`. NaN anywhere in a row makes the row NaN, as in PyTorch.
 */
export function logSoftmaxRows(logits: Tensor, dtype: DType): LogSoftmaxRows {
  const round = rounderFor(dtype);
  const [batch = 0, classes = 0] = logits.shape;
  const rowMax = tensor(dtype, [batch]);
  const logSumExp = tensor(dtype, [batch]);
  const logSoftmax = tensor(dtype, [batch, classes]);
  const softmax = tensor(dtype, [batch, classes]);
  const shiftedExp = new Float64Array(classes);
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
    for (let c = 0; c < classes; c++) {
      const i = b * classes + c;
      logSoftmax.data[i] = round(round(row[c]! - m) - lse);
      softmax.data[i] = round(shiftedExp[c]! / s);
    }
    rowMax.data[b] = m;
    logSumExp.data[b] = lse;
  }
  return { rowMax, logSumExp, logSoftmax, softmax };
}

/**
 * The bound of log_softmax, element by element (docs/tolerance-policy.md §2.2). Both orders
 * libraries use are covered, (θ − m) − L and θ − (m + L) with L = log Σ exp(θ − m): hence single
 * roundings on |θ − m|, |m|, |L| and |log_softmax|. The logits' own errors enter to first order
 * as Δθ_c − Σ_k s_k·Δθ_k.
 */
export function logSoftmaxBound(rows: LogSoftmaxRows, logits: Tensor, logitsBound: ErrorBound, r: Roundoffs): ErrorBound {
  const { rowMax, logSumExp, logSoftmax, softmax } = rows;
  const [batch = 0, classes = 0] = logits.shape;
  const out = zeroBound([batch, classes], batch * classes);
  for (let b = 0; b < batch; b++) {
    const row = b * classes;
    const m = rowMax.data[b]!;
    const lse = logSumExp.data[b]!;
    // Relative error of Σ exp(θ − m): the shift's rounding u·|θ_k − m| moves exp(θ_k − m) by that
    // relative amount (weighted by s_k, which sum to 1), the sum of positive terms adds γ_{C−1},
    // and exp its own accuracy (the `elementary` part, below).
    let sumExpArith = r.gamma(classes - 1);
    // exp's own accuracy on each side (its arithmetic model's, at each argument θ_k − m), relative,
    // weighted by s_k; and log's at Σ exp = e^L, absolute on L.
    let sumExpElementary = 0;
    const mixed = zeroParts();
    for (let i = row; i < row + classes; i++) {
      sumExpElementary += softmax.data[i]! * r.elementary('exp', logits.data[i]! - m, 1);
      sumExpArith += softmax.data[i]! * r.ulps(1) * Math.abs(logits.data[i]! - m);
      addScaled(mixed, partsAt(logitsBound, i), softmax.data[i]!);
    }
    for (let i = row; i < row + classes; i++) {
      const lsErr = partsAt(logitsBound, i);
      addScaled(lsErr, mixed, 1);
      lsErr.arithmetic += sumExpArith + r.ulps(1) * (Math.abs(logits.data[i]! - m) + Math.abs(m) + Math.abs(lse) + Math.abs(logSoftmax.data[i]!));
      lsErr.elementary += sumExpElementary + r.elementary('log', Math.exp(lse), lse);
      for (const part of BOUND_PARTS) out.parts[part][i] = lsErr[part];
    }
  }
  return out;
}

export const LogSoftmaxSpec = z.strictObject({ op: z.literal('log_softmax') });
export type LogSoftmaxSpec = z.infer<typeof LogSoftmaxSpec>;

/**
 * torch.nn.LogSoftmax(dim=1), the module NLLLoss expects before it. Backward as torch's
 * _log_softmax_backward_data: ∂L/∂θ_c = g_c − exp(y_c)·Σ_k g_k, from the output y.
 */
export const logSoftmax: ModuleOp<LogSoftmaxSpec> = {
  name: 'log_softmax',
  schema: LogSoftmaxSpec,
  torch: { module: 'torch.nn.LogSoftmax', functional: 'torch.nn.functional.log_softmax' },
  describe: () => 'LogSoftmax(dim=1)',
  outFeatures: (_spec, inFeatures) => inFeatures,
  parameters: () => [],
  forward: (_spec, input, _params, dtype) => logSoftmaxRows(input, dtype).logSoftmax,
  backward(_spec, dOut, _input, out, _params, dtype) {
    const round = rounderFor(dtype);
    const [batch = 0, classes = 0] = out.shape;
    const dInput = tensor(dtype, [batch, classes]);
    for (let b = 0; b < batch; b++) {
      let sum = 0;
      for (let c = 0; c < classes; c++) sum = round(sum + dOut.data[b * classes + c]!);
      for (let c = 0; c < classes; c++) {
        const i = b * classes + c;
        dInput.data[i] = round(dOut.data[i]! - round(round(Math.exp(out.data[i]!)) * sum));
      }
    }
    return { dInput, dParams: {} };
  },
  forwardBound: (ctx) => logSoftmaxBound(logSoftmaxRows(ctx.input, dtypeOf(ctx.input.data)), ctx.input, ctx.inputBound, ctx.r),
  // ∂θ_c = g_c − s_c·Σg, s_c = exp(y_c): g's errors pass through (E_g_c + s_c·ΣE_g), s_c carries
  // y's error plus exp's own (relative), Σg adds γ_C on Σ|g|, the product and the difference one
  // rounding each, and exp may underflow.
  backwardBound(ctx) {
    const { dOut, dOutBound, out, r } = ctx;
    const [batch = 0, classes = 0] = out.shape;
    const yBound = logSoftmax.forwardBound(ctx);
    const dInput = zeroBound([batch, classes], batch * classes);
    for (let b = 0; b < batch; b++) {
      const row = b * classes;
      let sum = 0;
      let sumAbs = 0;
      const sumErr = zeroParts();
      for (let i = row; i < row + classes; i++) {
        sum += dOut.data[i]!;
        sumAbs += Math.abs(dOut.data[i]!);
        addScaled(sumErr, partsAt(dOutBound, i), 1);
      }
      for (let i = row; i < row + classes; i++) {
        const s = Math.exp(out.data[i]!);
        const e = partsAt(dOutBound, i);
        addScaled(e, sumErr, s);
        addScaled(e, partsAt(yBound, i), s * Math.abs(sum));
        e.elementary += r.elementary('exp', out.data[i]!, s) * Math.abs(sum);
        // exp(y_c) may underflow: its absolute error η is multiplied by Σg; the product and the
        // difference may underflow too.
        e.arithmetic += s * r.gamma(classes - 1) * sumAbs + r.ulps(1) * (Math.abs(s * sum) + Math.abs(dOut.data[i]! - s * sum)) + r.underflow(1) * (2 + Math.abs(sum));
        for (const part of BOUND_PARTS) dInput.parts[part][i] = e[part];
      }
    }
    return { dInput, dParams: {} };
  },
};
