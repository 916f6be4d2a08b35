import { BOUND_PARTS, totalAt, zeroBound } from '../../tolerance/errorBound.ts';
import { broadcastIndex, broadcastShapes, elementCount, graphValue, type GValue } from '../values.ts';
import { required, type GraphOpRule, type NodeContext } from './types.ts';

// Comparisons, boolean logic, Where and Cast: the branch rule of docs/tolerance-policy.md §2.3.
// A comparison of float values decides alike on both sides unless the operands are within their
// bounds of each other; there it is marked uncertain, and a Where on an uncertain condition
// allows the larger error of its branches plus the gap between them. Integer and boolean
// operands are exact.

function broadcast2(ctx: NodeContext, ...xs: GValue[]) {
  const shape = broadcastShapes(...xs.map((x) => x.shape));
  if (shape === null) return ctx.fail(`inputs of shapes ${xs.map((x) => `[${x.shape.join(', ')}]`).join(', ')} do not broadcast`);
  return { shape, n: elementCount(shape), index: xs.map((x) => broadcastIndex(x.shape, shape)) };
}

/** A rule for a binary op with a boolean result: `decide` gives each element's value and whether the sides may disagree on it. */
function booleanBinary(op: string, decide: (x: GValue, y: GValue, ia: number, ib: number) => readonly [value: boolean, uncertain: boolean]): GraphOpRule {
  return {
    op,
    policy: '§2.3',
    apply(inputs, ctx) {
      const [x, y] = [required(inputs, 0, ctx), required(inputs, 1, ctx)];
      const { shape, n, index } = broadcast2(ctx, x, y);
      const data = new Float64Array(n);
      const uncertain = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const [value, unsure] = decide(x, y, index[0]![i]!, index[1]![i]!);
        data[i] = value ? 1 : 0;
        uncertain[i] = unsure ? 1 : 0;
      }
      return [graphValue('bool', shape, data, undefined, uncertain)];
    },
  };
}

/** A comparison: uncertain where float operands are within their bounds of each other (booleans: where either is). */
const comparison = (op: string, holds: (a: number, b: number) => boolean) =>
  booleanBinary(op, (x, y, ia, ib) => {
    const [a, b] = [x.data[ia]!, y.data[ib]!];
    if (x.kind === 'bool' || y.kind === 'bool') return [holds(a, b), (x.uncertain[ia]! | y.uncertain[ib]!) === 1];
    const margin = totalAt(x.bound, ia) + totalAt(y.bound, ib);
    return [holds(a, b), margin > 0 && Math.abs(a - b) <= margin];
  });

/** And, Or: uncertain unless flipping the uncertain operands cannot change the result. */
const logical = (op: string, f: (a: boolean, b: boolean) => boolean) =>
  booleanBinary(op, (x, y, ia, ib) => {
    const [a, b] = [x.data[ia]! !== 0, y.data[ib]! !== 0];
    const outcomes = new Set<boolean>();
    for (const fa of x.uncertain[ia] ? [a, !a] : [a]) for (const fb of y.uncertain[ib] ? [b, !b] : [b]) outcomes.add(f(fa, fb));
    return [f(a, b), outcomes.size > 1];
  });

const where: GraphOpRule = {
  op: 'Where',
  policy: '§2.3',
  apply(inputs, ctx) {
    const [c, x, y] = [required(inputs, 0, ctx), required(inputs, 1, ctx), required(inputs, 2, ctx)];
    const { shape, n, index } = broadcast2(ctx, c, x, y);
    const kind = x.kind === 'float' || y.kind === 'float' ? 'float' : x.kind;
    const data = new Float64Array(n);
    const bound = zeroBound(shape, n);
    const uncertain = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const [ic, ix, iy] = [index[0]![i]!, index[1]![i]!, index[2]![i]!];
      const taken = c.data[ic]! !== 0;
      data[i] = taken ? x.data[ix]! : y.data[iy]!;
      if (!c.uncertain[ic]) {
        const [from, at] = taken ? [x, ix] : [y, iy];
        for (const p of BOUND_PARTS) bound.parts[p][i] = from.bound.parts[p][at]!;
        uncertain[i] = from.uncertain[at]!;
        continue;
      }
      if (kind !== 'float') return ctx.fail(`selects ${kind} values on a condition the sides may decide differently`);
      for (const p of BOUND_PARTS) bound.parts[p][i] = Math.max(x.bound.parts[p][ix]!, y.bound.parts[p][iy]!);
      bound.parts.branch[i]! += Math.abs(x.data[ix]! - y.data[iy]!);
    }
    return [graphValue(kind, shape, data, bound, uncertain)];
  },
};

const not: GraphOpRule = {
  op: 'Not',
  policy: '§2.3',
  apply(inputs, ctx) {
    const x = required(inputs, 0, ctx);
    return [graphValue('bool', x.shape, x.data.map((v) => (v === 0 ? 1 : 0)), undefined, x.uncertain.slice())];
  },
};

// onnx.TensorProto.DataType of a Cast's `to`.
const CAST_TARGETS: Readonly<Record<number, 'float32' | 'float64' | 'int' | 'bool'>> = { 1: 'float32', 11: 'float64', 6: 'int', 7: 'int', 9: 'bool' };

const cast: GraphOpRule = {
  op: 'Cast',
  policy: '§2.3',
  apply(inputs, ctx) {
    const x = required(inputs, 0, ctx);
    const to = CAST_TARGETS[ctx.attr<number>('to')];
    if (to === undefined) return ctx.fail(`casts to element type ${ctx.attr<number>('to')}, which has no rule`);
    if (to === 'bool') {
      // x ≠ 0: uncertain where a float is within its bound of 0.
      const uncertain = Uint8Array.from(x.data, (v, i) => (x.kind === 'bool' ? x.uncertain[i]! : x.kind === 'float' && totalAt(x.bound, i) > 0 && Math.abs(v) <= totalAt(x.bound, i) ? 1 : 0));
      return [graphValue('bool', x.shape, x.data.map((v) => (v !== 0 ? 1 : 0)), undefined, uncertain)];
    }
    if (to === 'int') {
      if (x.kind === 'float' && x.bound.parts.arithmetic.some((_, i) => totalAt(x.bound, i) > 0)) return ctx.fail('truncates floats that differ between the sides to integers');
      return [graphValue('int', x.shape, x.data.map(Math.trunc))];
    }
    if (to !== ctx.dtype) return ctx.fail(`casts to ${to} inside a ${ctx.dtype} graph, which has no rule`);
    // To the graph's own precision: exact for floats already in it; a boolean becomes 0 or 1, and
    // where the sides may disagree on it, their values are 1 apart.
    const bound = x.kind === 'float' ? x.bound : zeroBound(x.shape, x.data.length);
    if (x.kind === 'bool') x.uncertain.forEach((u, i) => (bound.parts.branch[i] = u));
    return [graphValue('float', x.shape, x.data.slice(), bound)];
  },
};

export const LOGIC_RULES: readonly GraphOpRule[] = [
  comparison('Equal', (a, b) => a === b),
  comparison('Greater', (a, b) => a > b),
  comparison('GreaterOrEqual', (a, b) => a >= b),
  comparison('Less', (a, b) => a < b),
  comparison('LessOrEqual', (a, b) => a <= b),
  logical('Or', (a, b) => a || b),
  logical('And', (a, b) => a && b),
  not,
  where,
  cast,
];
