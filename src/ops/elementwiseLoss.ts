import type { z } from 'zod';
import { dtypeOf } from '../tensor/dtype.ts';
import { tensor, type Tensor } from '../tensor/tensor.ts';
import { BOUND_PARTS, partsAt, zeroBound, zeroParts } from '../tolerance/errorBound.ts';
import { reduce, reducedLossBound, reducedShape, type Reduction } from './reduction.ts';
import { boundArith, valueArith, type Arith, type Tracked } from './scalar.ts';
import { floatTarget, type LossOp, type Target, type TorchIdentity } from './types.ts';

/**
 * A loss that is a formula of one logit and its target, element by element (MSELoss, L1Loss,
 * BCEWithLogitsLoss), then reduced over all B·C elements. Like the elementwise modules (Note
 * [Elementwise ops as formulas]), its forward and backward are written once, as PyTorch's CPU
 * kernels compute them, and run both as values and as bounds (docs/tolerance-policy.md §2.5).
 */
export interface ElementwiseLossDefinition<S extends { readonly op: string; readonly reduction: Reduction }> {
  readonly name: S['op'];
  readonly schema: z.ZodType<S>;
  readonly torch: TorchIdentity;
  describe(spec: S): string;
  /** The target's kind: probabilities (BCE) or values (MSE, L1), always [B, C]. */
  readonly targetKind: 'probabilities' | 'values';
  /** ℓ = f(x, y) for logit x of class `c` and its target y. */
  forward<T>(a: Arith<T>, x: T, y: T, spec: S, c: number): T;
  /**
   * ∂(objective)/∂x for one element, in the order torch computes it: g is the upstream gradient
   * (exactly 1 for a reduced loss) and `mean` the element count N to divide by for `mean`, else null.
   */
  backward<T>(a: Arith<T>, x: T, y: T, g: T, mean: number | null, spec: S, c: number): T;
  /** Values of x − y where f is not differentiable (L1 at 0): finite differences treat a step across one as a kink. */
  readonly kinks?: readonly number[];
  /** A problem with a field that only the model shows (pos_weight of the wrong length), or null. */
  checkSpec?(spec: S, classes: number): { readonly field: string; readonly message: string } | null;
}

const exact = (v: number): Tracked => ({ v, e: zeroParts() });
/** A value both sides read from their inputs, apart by at most `gap` (their roundings of it). */
const input = (v: number, gap: number): Tracked => ({ v, e: { ...zeroParts(), inputRounding: gap } });

/** A loss record from an elementwise definition: values, bounds and kinks all come from its formulas. */
export function elementwiseLoss<S extends { readonly op: string; readonly reduction: Reduction }>(def: ElementwiseLossDefinition<S>): LossOp<S, null> {
  const targetOf = (target: Target): Tensor => floatTarget(target)!;
  return {
    name: def.name,
    schema: def.schema,
    torch: def.torch,
    describe: (spec) => def.describe(spec),
    formula: { forward: def.forward, backward: def.backward },
    targetLayout: (_spec, batch, classes) => ({ kind: def.targetKind, dtype: 'float', shape: [batch, classes] }),
    lossShape: (spec, batch, classes) => reducedShape(spec.reduction, [batch, classes]),
    ...(def.checkSpec === undefined ? {} : { checkSpec: (spec: S, classes: number) => def.checkSpec!(spec, classes) }),
    forward(spec, logits, target, dtype) {
      const a = valueArith(dtype);
      const y = targetOf(target);
      const classes = logits.shape[1] ?? 1;
      const values = tensor(dtype, logits.shape, Array.from(logits.data, (x, i) => def.forward(a, x, y.data[i]!, spec, i % classes)));
      return { loss: reduce(values, spec.reduction, values.data.length, dtype), saved: null };
    },
    backward(spec, logits, target, _saved, lossGrad, dtype) {
      const a = valueArith(dtype);
      const y = targetOf(target);
      const classes = logits.shape[1] ?? 1;
      const mean = spec.reduction === 'mean' ? logits.data.length : null;
      return tensor(dtype, logits.shape, Array.from(logits.data, (x, i) => def.backward(a, x, y.data[i]!, lossGrad?.data[i] ?? 1, mean, spec, i % classes)));
    },
    bound(ctx) {
      const { logits, logitsBound, spec, r } = ctx;
      const a = boundArith(r, dtypeOf(logits.data));
      const y = targetOf(ctx.target);
      const n = logits.data.length;
      const classes = logits.shape[1] ?? 1;
      const mean = spec.reduction === 'mean' ? n : null;
      const xAt = (i: number): Tracked => ({ v: logits.data[i]!, e: partsAt(logitsBound, i) });
      const yAt = (i: number): Tracked => input(y.data[i]!, ctx.targetBound?.parts.inputRounding[i] ?? 0);
      // The upstream gradient: exactly 1 for a reduced loss, else lossGrad, which the sides may hold differently.
      const gAt = (i: number): Tracked => (ctx.lossGrad === null ? exact(1) : input(ctx.lossGrad.data[i]!, ctx.lossGradBound?.parts.inputRounding[i] ?? 0));

      const elements = zeroBound(logits.shape, n);
      const dLogits = zeroBound(logits.shape, n);
      let magnitude = 0;
      for (let i = 0; i < n; i++) {
        const l = def.forward(a, xAt(i), yAt(i), spec, i % classes);
        const d = def.backward(a, xAt(i), yAt(i), gAt(i), mean, spec, i % classes);
        magnitude += Math.abs(l.v);
        for (const p of BOUND_PARTS) {
          elements.parts[p][i] = l.e[p];
          dLogits.parts[p][i] = d.e[p];
        }
      }
      if (spec.reduction === 'none') return { loss: elements, dLogits };
      // Σ over all N elements, then ÷N for `mean`.
      return { loss: reducedLossBound(elements, { terms: n, magnitude, value: ctx.value.data[0]!, divisor: mean }, r), dLogits };
    },
    ...(def.kinks === undefined
      ? {}
      : {
          // Which interval between the kinks each x − y is in, one character per element.
          branches: (_spec: S, logits: Tensor, target: Target) => {
            const y = targetOf(target);
            return Buffer.from(Array.from(logits.data, (x, i) => def.kinks!.filter((k) => x - y.data[i]! > k).length)).toString('latin1');
          },
        }),
  };
}
