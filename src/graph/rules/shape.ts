import { unitRoundoff } from '../../tensor/dtype.ts';
import { BOUND_PARTS, totalAt, zeroBound } from '../../tolerance/errorBound.ts';
import type { GraphTensor } from '../onnxFile.ts';
import { broadcastIndex, broadcastShapes, exactValue, normalizeAxis, elementCount, stridesOf, graphValue, type GValue } from '../values.ts';
import { required, type GraphOpRule, type NodeContext } from './types.ts';

// Ops that only move, select or create values. They do no arithmetic, so an element's bound
// travels with it (docs/tolerance-policy.md §2.6); constants are held alike on both sides of a
// same-precision comparison and a representation gap apart across precisions. Scatter with
// reduction `add` sums, and adds a rounding.

/** The output of shape `shape` whose element i is x's element src[i]. */
function moved(x: GValue, shape: readonly number[], src: ArrayLike<number>): GValue {
  const n = src.length;
  const bound = zeroBound(shape, n);
  const data = new Float64Array(n);
  const uncertain = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const at = src[i]!;
    data[i] = x.data[at]!;
    uncertain[i] = x.uncertain[at]!;
    for (const p of BOUND_PARTS) bound.parts[p][i] = x.bound.parts[p][at]!;
  }
  return graphValue(x.kind, shape, data, bound, uncertain);
}

const identityIndex = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
const ints = (t: GValue | undefined): number[] => (t === undefined ? [] : Array.from(t.data));

/** The multi-index of flat index i in a shape. */
function unravel(i: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let k = shape.length - 1; k >= 0; k--) {
    out[k] = i % shape[k]!;
    i = Math.floor(i / shape[k]!);
  }
  return out;
}

const ravel = (index: readonly number[], strides: readonly number[]) => index.reduce((s, v, k) => s + v * strides[k]!, 0);

/** Whether v is k·2^e with |k| < 2⁸: a short binary fraction (2, 0.5, 1/8), exact in every precision. */
function shortBinary(v: number): boolean {
  if (v === 0 || !Number.isFinite(v)) return v === 0;
  let k = Math.abs(v);
  while (!Number.isInteger(k)) k *= 2;
  while (k % 2 === 0) k /= 2;
  return k < 256;
}

/**
 * A constant: held alike by two sides in one precision. Across precisions a float64 graph knows
 * the exact gap |fl₃₂(c) − c|. A float32 graph holds only fl₃₂(c): a short binary fraction (an
 * exponent of 2, a half) is taken to be exact on both sides, any other c to be within
 * u₃₂·|fl₃₂(c)| of the float64 side's.
 */
function constantValue(t: GraphTensor, ctx: NodeContext): GValue {
  const out = exactValue(t.kind, t.shape, t.data.slice());
  const across = ctx.sides[0] !== ctx.sides[1];
  // ±∞ (a mask's fill value) is held alike in every precision.
  const gap = (v: number) => (!Number.isFinite(v) ? 0 : across && ctx.dtype === 'float32' ? (shortBinary(v) ? 0 : unitRoundoff('float32') * Math.abs(v)) : ctx.r.representationGap(v));
  if (t.kind === 'float') t.data.forEach((v, i) => (out.bound.parts.inputRounding[i] = gap(v)));
  return out;
}

function reshapeTarget(x: GValue, requested: readonly number[], ctx: NodeContext): number[] {
  const shape = requested.map((d, k) => (d === 0 ? (x.shape[k] ?? ctx.fail(`dimension ${k} copies a dimension the input does not have`)) : d));
  const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const inferred = shape.map((d) => (d === -1 ? x.data.length / known : d));
  if (elementCount(inferred) !== x.data.length || !inferred.every(Number.isInteger)) return ctx.fail(`cannot reshape [${x.shape.join(', ')}] to [${requested.join(', ')}]`);
  return inferred;
}

function gatherIndex(i: number, size: number, ctx: NodeContext): number {
  const at = i < 0 ? i + size : i;
  if (at < 0 || at >= size) return ctx.fail(`index ${i} is outside an axis of size ${size}`);
  return at;
}

/** Scatter: data with `updates` written (or added) at the flat positions `targets`. */
function scattered(data: GValue, updates: GValue, targets: readonly number[], reduction: string, ctx: NodeContext): GValue {
  const out = moved(data, data.shape, identityIndex(data.data.length));
  for (let j = 0; j < targets.length; j++) {
    const t = targets[j]!;
    if (reduction === 'none') {
      out.data[t] = updates.data[j]!;
      out.uncertain[t] = updates.uncertain[j]!;
      for (const p of BOUND_PARTS) out.bound.parts[p][t] = updates.bound.parts[p][j]!;
    } else if (reduction === 'add') {
      out.data[t]! += updates.data[j]!;
      for (const p of BOUND_PARTS) out.bound.parts[p][t]! += updates.bound.parts[p][j]!;
      out.bound.parts.arithmetic[t]! += ctx.r.ulps(1) * Math.abs(out.data[t]!) + ctx.r.underflow(1);
    } else ctx.fail(`has reduction ${reduction}, which has no rule (none and add have)`);
  }
  return out;
}

export const SHAPE_RULES: readonly GraphOpRule[] = [
  { op: 'Identity', policy: '§2.6', apply: (inputs, ctx) => [required(inputs, 0, ctx)] },
  {
    op: 'Constant',
    policy: '§2.6',
    apply(_inputs, ctx) {
      const t = ctx.node.attributes.get('value');
      if (t === undefined || typeof t !== 'object' || !('kind' in t)) return ctx.fail('has no tensor `value`; only tensor constants have a rule');
      return [constantValue(t, ctx)];
    },
  },
  {
    op: 'ConstantOfShape',
    policy: '§2.6',
    apply(inputs, ctx) {
      const shape = ints(required(inputs, 0, ctx));
      const fill = ctx.attr<GraphTensor>('value', { kind: 'float', type: 'float', shape: [1], data: new Float64Array(1) });
      return [constantValue({ ...fill, shape, data: new Float64Array(elementCount(shape)).fill(fill.data[0]!) }, ctx)];
    },
  },
  { op: 'Shape', policy: '§2.6', apply: (inputs, ctx) => [exactValue('int', [required(inputs, 0, ctx).shape.length], Float64Array.from(required(inputs, 0, ctx).shape))] },
  {
    op: 'Reshape',
    policy: '§2.6',
    apply(inputs, ctx) {
      const x = required(inputs, 0, ctx);
      return [moved(x, reshapeTarget(x, ints(required(inputs, 1, ctx)), ctx), identityIndex(x.data.length))];
    },
  },
  {
    op: 'Flatten',
    policy: '§2.6',
    apply(inputs, ctx) {
      const x = required(inputs, 0, ctx);
      const axis = normalizeAxis(ctx.attr<number>('axis', 1), x.shape.length);
      return [moved(x, [elementCount(x.shape.slice(0, axis)), elementCount(x.shape.slice(axis))], identityIndex(x.data.length))];
    },
  },
  {
    op: 'Squeeze',
    policy: '§2.6',
    apply(inputs, ctx) {
      const x = required(inputs, 0, ctx);
      const axes = inputs[1] === undefined ? x.shape.flatMap((d, k) => (d === 1 ? [k] : [])) : ints(inputs[1]).map((a) => normalizeAxis(a, x.shape.length));
      if (axes.some((a) => x.shape[a] !== 1)) return ctx.fail(`cannot squeeze axes [${axes.join(', ')}] of [${x.shape.join(', ')}]`);
      return [moved(x, x.shape.filter((_, k) => !axes.includes(k)), identityIndex(x.data.length))];
    },
  },
  {
    op: 'Unsqueeze',
    policy: '§2.6',
    apply(inputs, ctx) {
      const x = required(inputs, 0, ctx);
      const rank = x.shape.length + ints(inputs[1]).length;
      const axes = ints(required(inputs, 1, ctx)).map((a) => normalizeAxis(a, rank));
      const shape: number[] = [];
      let k = 0;
      for (let d = 0; d < rank; d++) shape.push(axes.includes(d) ? 1 : x.shape[k++]!);
      return [moved(x, shape, identityIndex(x.data.length))];
    },
  },
  {
    op: 'Expand',
    policy: '§2.6',
    apply(inputs, ctx) {
      const x = required(inputs, 0, ctx);
      const shape = broadcastShapes(x.shape, ints(required(inputs, 1, ctx)));
      if (shape === null) return ctx.fail(`cannot expand [${x.shape.join(', ')}] to [${ints(inputs[1]).join(', ')}]`);
      return [moved(x, shape, broadcastIndex(x.shape, shape))];
    },
  },
  {
    op: 'Transpose',
    policy: '§2.6',
    apply(inputs, ctx) {
      const x = required(inputs, 0, ctx);
      const perm = ctx.attr<readonly number[]>('perm', x.shape.map((_, k) => x.shape.length - 1 - k));
      const shape = perm.map((p) => x.shape[p]!);
      const strides = stridesOf(x.shape);
      return [moved(x, shape, Int32Array.from({ length: x.data.length }, (_, i) => unravel(i, shape).reduce((s, v, k) => s + v * strides[perm[k]!]!, 0)))];
    },
  },
  {
    op: 'Slice',
    policy: '§2.6',
    apply(inputs, ctx) {
      const x = required(inputs, 0, ctx);
      const [starts, ends] = [ints(required(inputs, 1, ctx)), ints(required(inputs, 2, ctx))];
      const axes = inputs[3] === undefined ? starts.map((_, k) => k) : ints(inputs[3]).map((a) => normalizeAxis(a, x.shape.length));
      const steps = inputs[4] === undefined ? starts.map(() => 1) : ints(inputs[4]);
      const begin = x.shape.map(() => 0);
      const step = x.shape.map(() => 1);
      const shape = [...x.shape];
      axes.forEach((axis, k) => {
        const size = x.shape[axis]!;
        const s = steps[k]!;
        if (s === 0) return ctx.fail('has a step of 0, which ONNX does not allow');
        // ONNX's clamping: start and end into [0, size] going forward; going backward (a
        // reversal), the start into [0, size − 1] and the end into [−1, size − 1].
        const clamp = (v: number, low: number, high: number) => Math.min(Math.max(v < 0 ? v + size : v, low), high);
        const [b, e] = s > 0 ? [clamp(starts[k]!, 0, size), clamp(ends[k]!, 0, size)] : [clamp(starts[k]!, 0, size - 1), clamp(ends[k]!, -1, size - 1)];
        begin[axis] = b;
        step[axis] = s;
        shape[axis] = Math.max(0, Math.ceil((e - b) / s));
      });
      const strides = stridesOf(x.shape);
      return [moved(x, shape, Int32Array.from({ length: elementCount(shape) }, (_, i) => unravel(i, shape).reduce((sum, v, k) => sum + (begin[k]! + v * step[k]!) * strides[k]!, 0)))];
    },
  },
  {
    op: 'Concat',
    policy: '§2.6',
    apply(inputs, ctx) {
      const parts = inputs.filter((v): v is GValue => v !== undefined);
      if (parts.length === 0) return ctx.fail('has no inputs');
      const first = parts[0]!;
      const axis = normalizeAxis(ctx.attr<number>('axis'), first.shape.length);
      if (parts.some((p) => p.shape.length !== first.shape.length || p.shape.some((d, k) => k !== axis && d !== first.shape[k]))) {
        return ctx.fail(`concatenates shapes ${parts.map((p) => `[${p.shape.join(', ')}]`).join(', ')} along axis ${axis}`);
      }
      const shape = first.shape.map((d, k) => (k === axis ? parts.reduce((s, p) => s + p.shape[axis]!, 0) : d));
      const outer = elementCount(first.shape.slice(0, axis));
      const inner = elementCount(first.shape.slice(axis + 1));
      // Concatenate the parts' values, bounds and flags as one tensor, then move: element i of
      // the output is element `src[i]` of that stacked list.
      const data: number[] = [];
      const uncertain: number[] = [];
      const bound = zeroBound([parts.reduce((n, p) => n + p.data.length, 0)], parts.reduce((n, p) => n + p.data.length, 0));
      let offset = 0;
      const offsets = parts.map((p) => {
        const start = offset;
        p.data.forEach((v, i) => {
          data.push(v);
          uncertain.push(p.uncertain[i]!);
          for (const part of BOUND_PARTS) bound.parts[part][start + i] = p.bound.parts[part][i]!;
        });
        offset += p.data.length;
        return start;
      });
      const all = graphValue(parts.some((p) => p.kind === 'float') ? 'float' : first.kind, [data.length], Float64Array.from(data), bound, Uint8Array.from(uncertain));
      const src: number[] = [];
      for (let o = 0; o < outer; o++) {
        parts.forEach((p, k) => {
          const block = p.shape[axis]! * inner;
          for (let j = 0; j < block; j++) src.push(offsets[k]! + o * block + j);
        });
      }
      return [moved(all, shape, src)];
    },
  },
  {
    op: 'Gather',
    policy: '§2.6',
    apply(inputs, ctx) {
      const [x, idx] = [required(inputs, 0, ctx), required(inputs, 1, ctx)];
      const axis = normalizeAxis(ctx.attr<number>('axis', 0), x.shape.length);
      const shape = [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)];
      const strides = stridesOf(x.shape);
      const src = Int32Array.from({ length: elementCount(shape) }, (_, i) => {
        const at = unravel(i, shape);
        const inner = at.slice(axis, axis + idx.shape.length);
        const picked = gatherIndex(idx.data[ravel(inner, stridesOf(idx.shape))]!, x.shape[axis]!, ctx);
        return ravel([...at.slice(0, axis), picked, ...at.slice(axis + idx.shape.length)], strides);
      });
      return [moved(x, shape, src)];
    },
  },
  {
    op: 'GatherElements',
    policy: '§2.6',
    apply(inputs, ctx) {
      const [x, idx] = [required(inputs, 0, ctx), required(inputs, 1, ctx)];
      const axis = normalizeAxis(ctx.attr<number>('axis', 0), x.shape.length);
      const strides = stridesOf(x.shape);
      return [moved(x, idx.shape, Int32Array.from(idx.data, (v, i) => {
        const at = unravel(i, idx.shape);
        at[axis] = gatherIndex(v, x.shape[axis]!, ctx);
        return ravel(at, strides);
      }))];
    },
  },
  {
    op: 'GatherND',
    policy: '§2.6',
    apply(inputs, ctx) {
      const [x, idx] = [required(inputs, 0, ctx), required(inputs, 1, ctx)];
      if (ctx.attr<number>('batch_dims', 0) !== 0) return ctx.fail('has batch_dims ≠ 0, which has no rule');
      const k = idx.shape.at(-1)!;
      const shape = [...idx.shape.slice(0, -1), ...x.shape.slice(k)];
      const inner = elementCount(x.shape.slice(k));
      const strides = stridesOf(x.shape);
      return [moved(x, shape, Int32Array.from({ length: elementCount(shape) }, (_, i) => {
        const row = Math.floor(i / inner);
        const lead = Array.from({ length: k }, (_, d) => gatherIndex(idx.data[row * k + d]!, x.shape[d]!, ctx));
        return ravel(lead, strides.slice(0, k)) + (i % inner);
      }))];
    },
  },
  {
    op: 'ScatterElements',
    policy: '§2.6',
    apply(inputs, ctx) {
      const [x, idx, updates] = [required(inputs, 0, ctx), required(inputs, 1, ctx), required(inputs, 2, ctx)];
      const axis = normalizeAxis(ctx.attr<number>('axis', 0), x.shape.length);
      const strides = stridesOf(x.shape);
      const targets = Array.from(idx.data, (v, j) => {
        const at = unravel(j, idx.shape);
        at[axis] = gatherIndex(v, x.shape[axis]!, ctx);
        return ravel(at, strides);
      });
      return [scattered(x, updates, targets, ctx.attr<string>('reduction', 'none'), ctx)];
    },
  },
  {
    op: 'ScatterND',
    policy: '§2.6',
    apply(inputs, ctx) {
      const [x, idx, updates] = [required(inputs, 0, ctx), required(inputs, 1, ctx), required(inputs, 2, ctx)];
      const k = idx.shape.at(-1)!;
      const inner = elementCount(x.shape.slice(k));
      const strides = stridesOf(x.shape);
      const rows = idx.data.length / k;
      const targets: number[] = [];
      for (let row = 0; row < rows; row++) {
        const base = ravel(Array.from({ length: k }, (_, d) => gatherIndex(idx.data[row * k + d]!, x.shape[d]!, ctx)), strides.slice(0, k));
        for (let j = 0; j < inner; j++) targets.push(base + j);
      }
      return [scattered(x, updates, targets, ctx.attr<string>('reduction', 'none'), ctx)];
    },
  },
  {
    op: 'NonZero',
    policy: '§2.6',
    apply(inputs, ctx) {
      const x = required(inputs, 0, ctx);
      if (x.data.some((_, i) => x.uncertain[i] || totalAt(x.bound, i) > 0)) return ctx.fail('reads values the sides may disagree on: the two sides could select different elements');
      const hits = Array.from(x.data.keys()).filter((i) => x.data[i] !== 0);
      const rank = x.shape.length;
      const data = new Float64Array(rank * hits.length);
      hits.forEach((flat, j) => unravel(flat, x.shape).forEach((v, d) => (data[d * hits.length + j] = v)));
      return [exactValue('int', [rank, hits.length], data)];
    },
  },
];
