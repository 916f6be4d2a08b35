import { boundArith, type Arith, type Tracked } from '../../ops/scalar.ts';
import { addScaled, BOUND_PARTS, partsAt, zeroBound, zeroParts } from '../../tolerance/errorBound.ts';
import { broadcastIndex, broadcastShapes, elementCount, graphValue, type GValue } from '../values.ts';
import { required, type GraphOpRule, type NodeContext } from './types.ts';

// Elementwise ops run as formulas over the bound arithmetic the op records use (Note [Elementwise
// ops as formulas]): each operation adds its rounding on both sides, an elementary function its
// accuracy, incoming errors propagate through the partial derivatives at the float64 values, and
// a branch on a value within its bound of the threshold allows the gap between the branches
// (docs/tolerance-policy.md §2.4). Integer-only inputs (shape arithmetic) are computed exactly.

type Formula = (a: Arith<Tracked>, xs: readonly Tracked[], ctx: NodeContext) => Tracked;

/** An elementwise rule from a formula; `exactInts` computes an all-integer node exactly. */
function elementwise(op: string, arity: [min: number, max: number], formula: Formula, exactInts?: (xs: readonly number[]) => number): GraphOpRule {
  return {
    op,
    policy: '§2.4',
    apply(inputs, ctx) {
      const xs = inputs.slice(0, arity[1]).filter((v): v is GValue => v !== undefined);
      if (xs.length < arity[0]) return ctx.fail(`needs at least ${arity[0]} inputs, has ${xs.length}`);
      const shape = broadcastShapes(...xs.map((x) => x.shape));
      if (shape === null) return ctx.fail(`inputs of shapes ${xs.map((x) => `[${x.shape.join(', ')}]`).join(', ')} do not broadcast`);
      const n = elementCount(shape);
      const index = xs.map((x) => broadcastIndex(x.shape, shape));
      if (xs.every((x) => x.kind === 'int')) {
        if (exactInts === undefined) return ctx.fail('has integer inputs only, which this op does not take');
        return [graphValue('int', shape, Float64Array.from({ length: n }, (_, i) => exactInts(xs.map((x, k) => x.data[index[k]![i]!]!))))];
      }
      if (xs.some((x) => x.kind === 'bool')) return ctx.fail('takes no boolean inputs');
      const a = boundArith(ctx.r, 'float64');
      const data = new Float64Array(n);
      const bound = zeroBound(shape, n);
      for (let i = 0; i < n; i++) {
        const tracked = xs.map((x, k) => ({ v: x.data[index[k]![i]!]!, e: partsAt(x.bound, index[k]![i]!) }));
        const t = formula(a, tracked, ctx);
        data[i] = t.v;
        for (const p of BOUND_PARTS) bound.parts[p][i] = t.e[p];
      }
      return [graphValue('float', shape, data, bound)];
    },
  };
}

const unary = (op: string, f: (a: Arith<Tracked>, x: Tracked, ctx: NodeContext) => Tracked, exactInts?: (x: number) => number) =>
  elementwise(op, [1, 1], (a, [x], ctx) => f(a, x!, ctx), exactInts && (([x]) => exactInts(x!)));
const binary = (op: string, f: (a: Arith<Tracked>, x: Tracked, y: Tracked) => Tracked, exactInts?: (x: number, y: number) => number) =>
  elementwise(op, [2, 2], (a, [x, y]) => f(a, x!, y!), exactInts && (([x, y]) => exactInts(x!, y!)));

/** Pow with a constant exponent the rule can write as products; any other is an error naming it. */
function power(a: Arith<Tracked>, x: Tracked, p: Tracked, ctx: NodeContext): Tracked {
  if (Object.values(p.e).some((e) => e !== 0)) return ctx.fail('has an exponent that differs between the sides; only constant exponents have a rule');
  if (p.v === 1) return x;
  if (p.v === 2) return a.mul(x, x);
  if (p.v === 3) return a.mul(a.mul(x, x), x);
  return ctx.fail(`has exponent ${p.v}; the rule covers the exponents 1, 2 and 3 (add one to src/graph/rules/elementwise.ts)`);
}

/** √x: correctly rounded (IEEE 754), so one rounding on each side, and slope 1/(2√x). */
function sqrt(x: Tracked, ctx: NodeContext): Tracked {
  const v = Math.sqrt(x.v);
  const e = zeroParts();
  addScaled(e, x.e, 1 / (2 * v));
  e.arithmetic += ctx.r.ulps(1) * v + ctx.r.underflow(1);
  return { v, e };
}

export const ELEMENTWISE_RULES: readonly GraphOpRule[] = [
  binary('Add', (a, x, y) => a.add(x, y), (x, y) => x + y),
  binary('Sub', (a, x, y) => a.sub(x, y), (x, y) => x - y),
  binary('Mul', (a, x, y) => a.mul(x, y), (x, y) => x * y),
  binary('Div', (a, x, y) => a.div(x, y), (x, y) => Math.trunc(x / y)),
  unary('Neg', (a, x) => a.neg(x), (x) => -x),
  unary('Exp', (a, x) => a.fn('exp', x)),
  unary('Log', (a, x) => a.fn('log', x)),
  unary('Tanh', (a, x) => a.fn('tanh', x)),
  unary('Erf', (a, x) => a.fn('erf', x)),
  // ONNX Sigmoid, as 1/(1 + exp(−x)); the generator writes torch's sigmoid as this very formula.
  unary('Sigmoid', (a, x) => a.div(a.c(1), a.add(a.c(1), a.fn('exp', a.neg(x))))),
  // ONNX Softplus is log(exp(x) + 1), evaluated as log1p(exp(x)).
  unary('Softplus', (a, x) => a.fn('log1p', a.fn('exp', x))),
  unary('Reciprocal', (a, x) => a.div(a.c(1), x)),
  unary('Sqrt', (_a, x, ctx) => sqrt(x, ctx)),
  // |x| is exact and 1-Lipschitz: the sides' values are at most their inputs' distance apart.
  unary('Abs', (_a, x) => ({ v: Math.abs(x.v), e: x.e }), Math.abs),
  unary('Relu', (a, x) => a.select(x, 0, () => x, () => a.c(0))),
  unary('Sign', (a, x) => a.select(x, 0, () => a.c(1), () => a.select(a.neg(x), 0, () => a.c(-1), () => a.c(0))), Math.sign),
  elementwise('Pow', [2, 2], (a, [x, p], ctx) => power(a, x!, p!, ctx)),
  // Clip(x, min, max), min and max optional: the clamp as Hardtanh's, a branch at each end.
  {
    op: 'Clip',
    policy: '§2.4',
    apply(inputs, ctx) {
      const x = required(inputs, 0, ctx);
      const [lo, hi] = [inputs[1], inputs[2]].map((t) => (t === undefined ? undefined : t.data.length === 1 ? t.data[0]! : ctx.fail('min and max must be scalars')));
      const clamp = elementwise('Clip', [1, 1], (a, [v]) => {
        const upper = hi === undefined ? v! : a.select(v!, hi, () => a.c(hi), () => v!);
        return lo === undefined ? upper : a.select(a.neg(upper), -lo, () => a.c(lo), () => upper);
      });
      return clamp.apply([x], ctx);
    },
  },
];
