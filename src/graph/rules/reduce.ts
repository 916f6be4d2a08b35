import { logSoftmaxBound, logSoftmaxRows } from '../../ops/logSoftmax.ts';
import { tensor } from '../../tensor/tensor.ts';
import { BOUND_PARTS, zeroBound, type ErrorBound } from '../../tolerance/errorBound.ts';
import { operand, productBound } from '../../tolerance/product.ts';
import { broadcastIndex, broadcastShapes, normalizeAxis, elementCount, stridesOf, graphValue, type GValue } from '../values.ts';
import { required, type GraphOpRule, type NodeContext } from './types.ts';

// Reductions, matrix products and log_softmax: the rules of docs/tolerance-policy.md §2.1
// (a length-n reduction in any order: γ_n on the magnitudes, the operands' errors propagated)
// and §2.2 (log_softmax over the last axis).

/** The groups of a reduction over `axes`: for each output element, the input elements it sums. */
function groups(shape: readonly number[], axes: readonly number[]): { out: number[]; members: number[][] } {
  const kept = shape.map((d, k) => (axes.includes(k) ? 1 : d));
  const members: number[][] = Array.from({ length: elementCount(kept) }, () => []);
  const keptStrides = stridesOf(kept);
  for (let i = 0; i < elementCount(shape); i++) {
    let rest = i;
    let at = 0;
    for (let k = shape.length - 1; k >= 0; k--) {
      const v = rest % shape[k]!;
      rest = Math.floor(rest / shape[k]!);
      if (!axes.includes(k)) at += v * keptStrides[k]!;
    }
    members[at]!.push(i);
  }
  return { out: kept, members };
}

function reduction(op: 'ReduceSum' | 'ReduceMean', axesFrom: 'input' | 'attribute'): GraphOpRule {
  return {
    op,
    policy: '§2.1',
    apply(inputs, ctx) {
      const x = required(inputs, 0, ctx);
      if (x.kind !== 'float') return ctx.fail('reduces non-float values, which has no rule');
      const given = axesFrom === 'input' ? (inputs[1] === undefined ? undefined : Array.from(inputs[1].data)) : (ctx.optionalAttr('axes') as readonly number[] | undefined);
      if (given === undefined && axesFrom === 'input' && ctx.attr<number>('noop_with_empty_axes', 0) === 1) return [x];
      const axes = (given ?? x.shape.map((_, k) => k)).map((a) => normalizeAxis(a, x.shape.length));
      const { out, members } = groups(x.shape, axes);
      const shape = ctx.attr<number>('keepdims', 1) === 1 ? out : out.filter((_, k) => !axes.includes(k));
      return [sumOverGroups(x, members, shape, op === 'ReduceMean', ctx)];
    },
  };
}

/**
 * The sum (or mean) of each group of x's elements, with its bound: the members' bounds summed,
 * γ_{n−1}·Σ|x| and n underflows for a sum of n terms in any order, and for a mean the division's
 * two roundings (a division, or a product by a rounded 1/n). ReduceSum, ReduceMean and
 * AveragePool (whose groups are its windows; a padded window divides by its full size) all reduce
 * this way.
 */
export function sumOverGroups(x: GValue, members: readonly (readonly number[])[], shape: readonly number[], mean: boolean, ctx: NodeContext, divisor?: number): GValue {
  const data = new Float64Array(members.length);
  const bound = zeroBound(shape, members.length);
  members.forEach((group, j) => {
    const n = group.length;
    // A mean divides by the group's size, or by `divisor` (a padded window's full size).
    const scale = mean ? 1 / (divisor ?? n) : 1;
    let sum = 0;
    let magnitude = 0;
    for (const i of group) {
      sum += x.data[i]!;
      magnitude += Math.abs(x.data[i]!);
      for (const p of BOUND_PARTS) bound.parts[p][j]! += scale * x.bound.parts[p][i]!;
    }
    data[j] = sum * scale;
    // Exact zeros on both sides (ReLU's closed outputs, say) sum and divide to exactly 0: no rounding, no underflow.
    if (magnitude === 0 && BOUND_PARTS.every((p) => bound.parts[p][j] === 0)) return;
    bound.parts.arithmetic[j]! += scale * (ctx.r.gamma(n - 1) * magnitude + ctx.r.underflow(n));
    if (mean) bound.parts.arithmetic[j]! += ctx.r.ulps(2) * Math.abs(data[j]!) + ctx.r.underflow(1);
  });
  return graphValue('float', shape, data, bound);
}

/**
 * The largest element of each group, with no rounding: |max_A − max_B| ≤ max_i |a_i − b_i|, so
 * each part takes its largest member's (an upper bound of the total). ReduceMax and MaxPool.
 */
export function maxOverGroups(x: GValue, members: readonly (readonly number[])[], shape: readonly number[]): GValue {
  const data = new Float64Array(members.length);
  const bound = zeroBound(shape, members.length);
  members.forEach((group, j) => {
    data[j] = Math.max(...group.map((i) => x.data[i]!));
    for (const part of BOUND_PARTS) bound.parts[part][j] = Math.max(...group.map((i) => x.bound.parts[part][i]!));
  });
  return graphValue('float', shape, data, bound);
}

/** A [rows, cols] float matrix view of a 1-D or 2-D value, transposed on request. */
function matrix(x: GValue, transposed: boolean, ctx: NodeContext) {
  if (x.kind !== 'float') return ctx.fail('multiplies non-float values, which has no rule');
  if (x.shape.length !== 2) return ctx.fail(`multiplies a tensor of rank ${x.shape.length}; the rule covers matrices`);
  const [r0, c0] = [x.shape[0]!, x.shape[1]!];
  return transposed ? { rows: c0, cols: r0, view: operand(x.data, x.bound, 1, c0) } : { rows: r0, cols: c0, view: operand(x.data, x.bound, c0, 1) };
}

function product(a: GValue, b: GValue, transA: boolean, transB: boolean, c: GValue | undefined, ctx: NodeContext): GValue {
  const [A, B] = [matrix(a, transA, ctx), matrix(b, transB, ctx)];
  if (A.cols !== B.rows) return ctx.fail(`multiplies [${A.rows}, ${A.cols}] by [${B.rows}, ${B.cols}]`);
  const [m, n, p] = [A.rows, A.cols, B.cols];
  const data = new Float64Array(m * p);
  for (let i = 0; i < m; i++) for (let j = 0; j < p; j++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += A.view.values[i * A.view.rowStride + k * A.view.colStride]! * B.view.values[k * B.view.rowStride + j * B.view.colStride]!;
    data[i * p + j] = s;
  }
  const bound: ErrorBound = productBound(A.view, B.view, m, n, p, n + (c === undefined ? 0 : 1), ctx.r);
  if (c !== undefined) {
    // C broadcast to [m, p]: its value adds, its error adds, and its magnitude joins the γ term.
    const index = broadcastIndex(c.shape, [m, p]);
    const g = ctx.r.gamma(n + 1);
    for (let i = 0; i < m * p; i++) {
      data[i]! += c.data[index[i]!]!;
      for (const part of BOUND_PARTS) bound.parts[part][i]! += c.bound.parts[part][index[i]!]!;
      bound.parts.arithmetic[i]! += g * Math.abs(c.data[index[i]!]!);
    }
  }
  return graphValue('float', [m, p], data, bound);
}

const gemm: GraphOpRule = {
  op: 'Gemm',
  policy: '§2.1',
  apply(inputs, ctx) {
    // torch exports mm as Gemm with beta = 0 and no C, addmm with alpha = beta = 1.
    const c = inputs[2];
    if (ctx.attr<number>('alpha', 1) !== 1 || (c !== undefined && ctx.attr<number>('beta', 1) !== 1)) return ctx.fail('scales by alpha or beta ≠ 1, which has no rule');
    return [product(required(inputs, 0, ctx), required(inputs, 1, ctx), ctx.attr<number>('transA', 0) === 1, ctx.attr<number>('transB', 0) === 1, c, ctx)];
  },
};

/** The [rows, cols] matrix at batch position `b` of a value of shape [...batch, rows, cols]. */
function slab(x: GValue, b: number): GValue {
  const [rows, cols] = x.shape.slice(-2) as [number, number];
  const size = rows * cols;
  const pick = (a: Float64Array) => a.slice(b * size, (b + 1) * size);
  const bound = zeroBound([rows, cols], size);
  for (const p of BOUND_PARTS) bound.parts[p].set(pick(x.bound.parts[p]));
  return graphValue('float', [rows, cols], pick(x.data), bound);
}

/** MatMul of matrices, or of stacks of them ([..., m, n]·[..., n, p], the batch dimensions broadcast): one product per matrix. */
const matMul: GraphOpRule = {
  op: 'MatMul',
  policy: '§2.1',
  apply(inputs, ctx) {
    const [a, b] = [required(inputs, 0, ctx), required(inputs, 1, ctx)];
    if (a.shape.length === 2 && b.shape.length === 2) return [product(a, b, false, false, undefined, ctx)];
    if (a.shape.length < 2 || b.shape.length < 2) return ctx.fail('multiplies a vector, which has no rule');
    const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
    if (batch === null) return ctx.fail(`batch dimensions [${a.shape.slice(0, -2).join(', ')}] and [${b.shape.slice(0, -2).join(', ')}] do not broadcast`);
    const [ia, ib] = [broadcastIndex(a.shape.slice(0, -2), batch), broadcastIndex(b.shape.slice(0, -2), batch)];
    const products = Array.from({ length: elementCount(batch) }, (_, k) => product(slab(a, ia[k]!), slab(b, ib[k]!), false, false, undefined, ctx));
    const [m, p] = products[0]!.shape as [number, number];
    const shape = [...batch, m, p];
    const n = elementCount(shape);
    const data = new Float64Array(n);
    const bound = zeroBound(shape, n);
    products.forEach((prod, k) => {
      data.set(prod.data, k * m * p);
      for (const part of BOUND_PARTS) bound.parts[part].set(prod.bound.parts[part], k * m * p);
    });
    return [graphValue('float', shape, data, bound)];
  },
};

const reduceMax: GraphOpRule = {
  op: 'ReduceMax',
  policy: '§2.1',
  apply(inputs, ctx) {
    const x = required(inputs, 0, ctx);
    const axes = ((ctx.optionalAttr('axes') as readonly number[] | undefined) ?? x.shape.map((_, k) => k)).map((a) => normalizeAxis(a, x.shape.length));
    const { out, members } = groups(x.shape, axes);
    return [maxOverGroups(x, members, ctx.attr<number>('keepdims', 1) === 1 ? out : out.filter((_, k) => !axes.includes(k)))];
  },
};

const logSoftmax: GraphOpRule = {
  op: 'LogSoftmax',
  policy: '§2.2',
  apply(inputs, ctx) {
    const x = required(inputs, 0, ctx);
    const axis = normalizeAxis(ctx.attr<number>('axis', -1), x.shape.length);
    if (axis !== x.shape.length - 1) return ctx.fail(`is over axis ${axis}; the rule covers the last axis`);
    const classes = x.shape.at(-1)!;
    const rows = x.data.length / classes;
    const logits = tensor('float64', [rows, classes], x.data);
    const traced = logSoftmaxRows(logits, 'float64');
    const bound = logSoftmaxBound(traced, logits, { ...x.bound, shape: [rows, classes] }, ctx.r);
    return [graphValue('float', x.shape, Float64Array.from(traced.logSoftmax.data), { ...bound, shape: [...x.shape] })];
  },
};

export const REDUCE_RULES: readonly GraphOpRule[] = [reduction('ReduceSum', 'input'), reduction('ReduceMean', 'attribute'), reduceMax, gemm, matMul, logSoftmax];
