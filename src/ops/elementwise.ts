import type { z } from 'zod';
import { dtypeOf } from '../tensor/dtype.ts';
import { tensor, type Tensor } from '../tensor/tensor.ts';
import { BOUND_PARTS, partsAt, zeroBound, type ErrorBound } from '../tolerance/errorBound.ts';
import { boundArith, valueArith, type Arith, type Tracked } from './scalar.ts';
import type { ModuleBoundContext, ModuleOp, TorchIdentity } from './types.ts';

/** An elementwise activation, as the formulas PyTorch's CPU kernels compute (see Note [Elementwise ops as formulas]). */
export interface ElementwiseDefinition<S extends { readonly op: string }> {
  readonly name: S['op'];
  readonly schema: z.ZodType<S>;
  readonly torch: TorchIdentity;
  describe(spec: S): string;
  /** y = f(x). */
  forward<T>(a: Arith<T>, x: T, spec: S): T;
  /** ∂L/∂x from x, y = f(x) and g = ∂L/∂y. */
  backward<T>(a: Arith<T>, x: T, y: T, g: T, spec: S): T;
  /** Where f is not differentiable (or its branches meet): finite differences treat a step across one as a kink. */
  kinks?(spec: S): readonly number[];
}

function map(t: Tensor, f: (v: number, i: number) => number): Tensor {
  const out = tensor(dtypeOf(t.data), t.shape);
  for (let i = 0; i < t.data.length; i++) out.data[i] = f(t.data[i]!, i);
  return out;
}

/** Runs `formula` on tracked elements and gathers the results' bounds into one ErrorBound. */
function boundOf(shape: readonly number[], n: number, formula: (i: number) => Tracked): ErrorBound {
  const out = zeroBound(shape, n);
  for (let i = 0; i < n; i++) {
    const t = formula(i);
    for (const p of BOUND_PARTS) out.parts[p][i] = t.e[p];
  }
  return out;
}

/** Element i of a module's input, with its bound and, when known, each side's own value. */
function trackedInput(ctx: ModuleBoundContext<unknown>, i: number): Tracked {
  const [a, b] = ctx.inputOnSides;
  return { v: ctx.input.data[i]!, e: partsAt(ctx.inputBound, i), ...(a && b ? { sides: [a.data[i]!, b.data[i]!] as const } : {}) };
}

/** A module op from an elementwise definition: values, bounds and kinks all come from its formulas. */
export function elementwise<S extends { readonly op: string }>(def: ElementwiseDefinition<S>): ModuleOp<S> {
  return {
    name: def.name,
    schema: def.schema,
    torch: def.torch,
    describe: (spec) => def.describe(spec),
    outFeatures: (_spec, inFeatures) => inFeatures,
    parameters: () => [],
    formula: { forward: def.forward, backward: def.backward },
    elementwise: true,
    forward(spec, input, _params, dtype) {
      const a = valueArith(dtype);
      return map(input, (x) => def.forward(a, x, spec));
    },
    backward(spec, dOut, input, out, _params, dtype) {
      const a = valueArith(dtype);
      return { dInput: map(dOut, (g, i) => def.backward(a, input.data[i]!, out.data[i]!, g, spec)), dParams: {} };
    },
    forwardBound(ctx) {
      const a = boundArith(ctx.r, dtypeOf(ctx.input.data));
      return boundOf(ctx.out.shape, ctx.out.data.length, (i) => def.forward(a, trackedInput(ctx, i), ctx.spec));
    },
    backwardBound(ctx) {
      const a = boundArith(ctx.r, dtypeOf(ctx.input.data));
      const dInput = boundOf(ctx.dOut.shape, ctx.dOut.data.length, (i) => {
        const x = trackedInput(ctx, i);
        // y carries its own forward bound, recomputed here from the same formula.
        const y = def.forward(a, x, ctx.spec);
        const g: Tracked = { v: ctx.dOut.data[i]!, e: partsAt(ctx.dOutBound, i) };
        return def.backward(a, x, { ...y, v: ctx.out.data[i]! }, g, ctx.spec);
      });
      return { dInput, dParams: {} };
    },
    ...(def.kinks === undefined
      ? {}
      : {
          // Which interval between the kinks x is in: how many kinks lie below it.
          piece: (spec: S, x: number) => {
            let below = 0;
            for (const k of def.kinks!(spec)) if (x > k) below++;
            return below;
          },
        }),
  };
}
