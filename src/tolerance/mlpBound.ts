import type { BackwardTrace, ForwardTrace, MlpInputs } from '../nn/mlp.ts';
import { layerNames } from '../nn/names.ts';
import { rounderFor, type DType } from '../tensor/dtype.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { BOUND_PARTS, boundFrom, partsAt, totals, zeroBound, type BoundPart, type ErrorBound } from './errorBound.ts';
import { Roundoffs } from './roundoff.ts';

// Note [Running error analysis of the MLP]
// The bound of every tensor is propagated through the same layers as the forward and backward
// passes, to first order in u (second-order terms are below u² relative and ignored):
//   dot products  C = A·B over n terms:  |ΔC| ≤ γ_n·|A||B| + |ΔA|·|B| + (|A| + |ΔA|)·|ΔB|
//   ReLU          |Δrelu(z)| ≤ |Δz|, and exactly 0 where z ≤ −|Δz| (both sides output 0)
//   log_softmax   Δ(θ_c − LSE θ) = Δθ_c − Σ_k s_k·Δθ_k, plus the roundings of the shift, exp, sum
//                 and log
// The magnitudes |A|, |B| come from the TypeScript run (side A's precision); the bound of a
// comparison is the sum of both sides' rounding budgets (see Roundoffs), so one propagation
// covers |side A − side B|. Every formula holds for any summation order and with or without FMA,
// which is what makes it valid for PyTorch's and onnxruntime's kernels as well as ours.

/** What a comparison between two computations of the same case looks like. */
export interface BoundRequest {
  /** The TypeScript run whose values stand in for the magnitudes. */
  readonly fwd: ForwardTrace;
  readonly bwd: BackwardTrace;
  /** The inputs as stored in the golden, before either side rounded them. */
  readonly stored: MlpInputs;
  /** The precision each side computed in ('exact' for a mathematically exact reference). */
  readonly sides: readonly [DType | 'exact', DType | 'exact'];
  /**
   * Each side's pre-activations per layer, when known. With both, a ReLU branch allowance is
   * granted exactly where the two sides' signs differ; otherwise wherever the pre-activation is
   * within its bound of 0.
   */
  readonly preActivations?: readonly [readonly Tensor[] | null, readonly Tensor[] | null];
}

export interface MlpBounds {
  readonly loss: ErrorBound;
  readonly logits: ErrorBound;
  readonly preActivations: readonly ErrorBound[];
  readonly grads: Readonly<Record<string, ErrorBound>>;
}

/** A matrix view into a flat array: element (i, k) at i·rowStride + k·colStride. */
interface Operand {
  readonly values: ArrayLike<number>;
  readonly bound: ErrorBound;
  readonly total: Float64Array;
  readonly rowStride: number;
  readonly colStride: number;
}

function operand(values: ArrayLike<number>, bound: ErrorBound, rowStride: number, colStride: number): Operand {
  return { values, bound, total: totals(bound), rowStride, colStride };
}

/**
 * Bound of C = A·B (+ bias) for A [m×n], B [n×p] views, where each output element is a
 * reduction of `terms` roundings (n products and sums, plus one for a bias).
 */
function productBound(
  a: Operand, b: Operand, m: number, n: number, p: number, terms: number, r: Roundoffs,
  bias: { values: ArrayLike<number>; bound: ErrorBound } | null = null,
): ErrorBound {
  const out = zeroBound([m, p], m * p);
  const g = r.gamma(terms);
  // n products and n sums at most, each possibly underflowing.
  const underflow = r.underflow(2 * terms);
  const arithmetic = out.parts.arithmetic;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < p; j++) {
      let magnitude = bias === null ? 0 : Math.abs(bias.values[j]!);
      for (let k = 0; k < n; k++) magnitude += Math.abs(a.values[i * a.rowStride + k * a.colStride]!) * Math.abs(b.values[k * b.rowStride + j * b.colStride]!);
      arithmetic[i * p + j] = g * magnitude + underflow;
    }
  }
  // Each part propagates on its own: |ΔA|·|B| + (|A| + |ΔA|)·|ΔB| per part. Parts that are zero
  // on both operands (most of them, most of the time) contribute nothing and are skipped.
  for (const part of BOUND_PARTS) {
    const [da, db] = [a.bound.parts[part], b.bound.parts[part]];
    const dBias = bias?.bound.parts[part];
    const [aZero, bZero] = [isZero(da), isZero(db)];
    if (aZero && bZero && (dBias === undefined || isZero(dBias))) continue;
    const into = out.parts[part];
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < p; j++) {
        let sum = dBias === undefined ? 0 : dBias[j]!;
        for (let k = 0; k < n; k++) {
          const ia = i * a.rowStride + k * a.colStride;
          const ib = k * b.rowStride + j * b.colStride;
          if (!aZero) sum += da[ia]! * Math.abs(b.values[ib]!);
          if (!bZero) sum += (Math.abs(a.values[ia]!) + a.total[ia]!) * db[ib]!;
        }
        into[i * p + j]! += sum;
      }
    }
  }
  return out;
}

function isZero(values: Float64Array): boolean {
  for (let i = 0; i < values.length; i++) if (values[i] !== 0) return false;
  return true;
}

/** |round_A(v) − round_B(v)|: how far apart the inputs the two sides computed with are. */
function inputDifference(t: Tensor, sides: BoundRequest['sides']): ErrorBound {
  const round = (d: DType | 'exact') => rounderFor(d === 'exact' ? 'float64' : d);
  const [ra, rb] = [round(sides[0]), round(sides[1])];
  return boundFrom(t.shape, 'inputRounding', Float64Array.from(t.data, (v) => Math.abs(ra(v) - rb(v))));
}

const ones = (n: number): Operand => operand(new Float64Array(n).fill(1), zeroBound([n], n), 1, 1);

export function mlpBounds(req: BoundRequest): MlpBounds {
  const { fwd, bwd, stored, sides } = req;
  const { spec } = fwd;
  const r = new Roundoffs(sides);
  const names = layerNames(spec);
  const [batch = 0] = fwd.inputs.x.shape;

  // Forward: z = a·Wᵀ + b, h = act(z).
  const inputBounds: ErrorBound[] = [];
  const preBounds: ErrorBound[] = [];
  let aBound = inputDifference(stored.x, sides);
  spec.layers.forEach((layer, i) => {
    const { input, pre } = fwd.layers[i]!;
    const { weight, bias } = names[i]!;
    const n = input.shape[1] ?? 0;
    const w = fwd.inputs.params[weight]!;
    const wOp = operand(w.data, inputDifference(stored.params[weight]!, sides), 1, n);
    const biasOp = bias === null ? null : { values: fwd.inputs.params[bias]!.data, bound: inputDifference(stored.params[bias]!, sides) };
    inputBounds.push(aBound);
    const zBound = productBound(operand(input.data, aBound, n, 1), wOp, batch, n, layer.out, n + (bias === null ? 0 : 1), r, biasOp);
    preBounds.push(zBound);
    aBound = layer.activation === 'relu' ? reluForwardBound(zBound, reluSides(req, i, pre, zBound)) : zBound;
  });
  const logitsBound = aBound;

  const ce = crossEntropyBounds(req, r, logitsBound);

  // Backward, layer by layer in reverse.
  const grads: Record<string, ErrorBound> = {};
  let dOutBound = ce.dLogits;
  for (let i = spec.layers.length - 1; i >= 0; i--) {
    const layer = spec.layers[i]!;
    const { input, pre } = fwd.layers[i]!;
    const { dOut, dPre } = bwd.layers[i]!;
    const { weight, bias } = names[i]!;
    const n = input.shape[1] ?? 0;
    const out = layer.out;
    const dPreBound = layer.activation === 'relu' ? reluBackwardBound(dOut, dOutBound, reluSides(req, i, pre, preBounds[i]!)) : dOutBound;
    const dzT = operand(dPre.data, dPreBound, 1, out); // dzᵀ [out × B]
    grads[weight] = productBound(dzT, operand(input.data, inputBounds[i]!, n, 1), out, batch, n, batch, r);
    if (bias !== null) grads[bias] = productBound(dzT, ones(batch), out, batch, 1, batch - 1, r);
    const w = fwd.inputs.params[weight]!;
    const wOp = operand(w.data, inputDifference(stored.params[weight]!, sides), n, 1);
    dOutBound = productBound(operand(dPre.data, dPreBound, out, 1), wOp, batch, out, n, out, r);
  }
  grads.x = dOutBound;
  // Shapes of 1-D results (biases) and the scalar loss follow the tensors they bound.
  for (const [name, g] of Object.entries(bwd.grads)) grads[name] = { ...grads[name]!, shape: g.shape };
  return { loss: ce.loss, logits: logitsBound, preActivations: preBounds, grads };
}

/**
 * Per element of layer i's pre-activation: whether each side's ReLU was open (z > 0). With both
 * sides' values known this is exact; otherwise it is inferred from the TS value and its bound:
 * certainly closed on both sides where z ≤ −|Δz|, possibly different where |z| ≤ |Δz|.
 */
interface ReluSides {
  /** Both sides output exactly 0 here (and pass exactly 0 back). */
  bothClosed(i: number): boolean;
  /** The two sides may have taken different branches here. */
  mayDiffer(i: number): boolean;
}

function reluSides(req: BoundRequest, layer: number, z: Tensor, zBound: ErrorBound): ReluSides {
  const [a, b] = req.preActivations ?? [null, null];
  const [za, zb] = [a?.[layer], b?.[layer]];
  if (za !== undefined && zb !== undefined) {
    return {
      bothClosed: (i) => za.data[i]! <= 0 && zb.data[i]! <= 0,
      mayDiffer: (i) => za.data[i]! > 0 !== zb.data[i]! > 0,
    };
  }
  const zTotal = totals(zBound);
  return {
    bothClosed: (i) => z.data[i]! <= -zTotal[i]!,
    mayDiffer: (i) => Math.abs(z.data[i]!) <= zTotal[i]!,
  };
}

function reluForwardBound(zBound: ErrorBound, sides: ReluSides): ErrorBound {
  const out = zeroBound(zBound.shape, zBound.parts.arithmetic.length);
  for (let i = 0; i < out.parts.arithmetic.length; i++) {
    if (sides.bothClosed(i)) continue; // both outputs are exactly 0
    for (const part of BOUND_PARTS) out.parts[part][i] = zBound.parts[part][i]!; // relu is 1-Lipschitz
  }
  return out;
}

function reluBackwardBound(dOut: Tensor, dOutBound: ErrorBound, sides: ReluSides): ErrorBound {
  const out = zeroBound(dOut.shape, dOut.data.length);
  for (let i = 0; i < dOut.data.length; i++) {
    const flipped = sides.mayDiffer(i);
    if (!flipped && sides.bothClosed(i)) continue; // both sides pass exactly 0
    for (const part of BOUND_PARTS) out.parts[part][i] = dOutBound.parts[part][i]!;
    // One side passes the whole ∂L/∂h, the other 0.
    if (flipped) out.parts.branch[i]! += Math.abs(dOut.data[i]!);
  }
  return out;
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
function crossEntropyBounds(req: BoundRequest, r: Roundoffs, logitsBound: ErrorBound): { loss: ErrorBound; dLogits: ErrorBound } {
  const { fwd, stored } = req;
  const { logits } = fwd;
  const { rowMax, logSumExp, logSoftmax, softmax, rowLoss } = fwd.crossEntropy;
  const target = fwd.inputs.target;
  const [batch = 0, classes = 0] = logits.shape;
  const mean = fwd.spec.loss.reduction === 'mean';
  const scale = mean ? 1 / batch : 1;
  const pBound = stored.target.kind === 'probabilities' ? inputDifference(stored.target.probs, req.sides) : null;
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
    // relative amount, exp adds 1 ulp, the sum of positive terms adds γ_{C−1}; weighted by s_k,
    // which sum to 1.
    let sumExpArith = r.gamma(classes - 1);
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
      lsErr.elementary += r.ulps(2) * (1 + Math.abs(lse));

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
      sErr.elementary += r.ulps(2);
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
  if (mean) loss.parts.arithmetic[0]! += r.ulps(2) * Math.abs(fwd.loss);
  return { loss, dLogits };
}
