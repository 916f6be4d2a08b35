import { BOUND_PARTS, totals, zeroBound } from '../../tolerance/errorBound.ts';
import { elementCount, graphValue, type GValue } from '../values.ts';
import { maxOverGroups, sumOverGroups } from './reduce.ts';
import { required, type GraphOpRule, type NodeContext } from './types.ts';

// 2-D convolution, pooling and constant padding. A convolution's output element is a dot product
// of K = (C/groups)·kh·kw input and weight pairs (and a bias), whatever its stride, padding and
// dilation (they only choose which pairs): the matrix product's rule of
// docs/tolerance-policy.md §2.1 with that K. Pooling reduces each window as ReduceMean or
// ReduceMax reduce their groups (§2.1), and padding only moves values (§2.6).

function ints(ctx: NodeContext, name: string, fallback: readonly number[]): number[] {
  return [...(ctx.optionalAttr(name) as readonly number[] | undefined ?? fallback)];
}

const conv: GraphOpRule = {
  op: 'Conv',
  policy: '§2.1',
  apply(inputs, ctx) {
    const [x, w, b] = [required(inputs, 0, ctx), required(inputs, 1, ctx), inputs[2]];
    if (x.shape.length !== 4 || w.shape.length !== 4) return ctx.fail('is not 2-D; the rule covers [N, C, H, W] inputs');
    const groups = ctx.attr<number>('group', 1);
    const [n, c, h, wd] = x.shape as [number, number, number, number];
    const [m, cw, kh, kw] = w.shape as [number, number, number, number];
    if (cw * groups !== c || m % groups !== 0) return ctx.fail(`convolves ${c} channels in ${groups} group(s) with a kernel [${w.shape.join(', ')}]`);
    const [pt, pl, pb, pr] = ints(ctx, 'pads', [0, 0, 0, 0]) as [number, number, number, number];
    const [sh, sw] = ints(ctx, 'strides', [1, 1]) as [number, number];
    const [dh, dw] = ints(ctx, 'dilations', [1, 1]) as [number, number];
    const ho = Math.floor((h + pt + pb - dh * (kh - 1) - 1) / sh) + 1;
    const wo = Math.floor((wd + pl + pr - dw * (kw - 1) - 1) / sw) + 1;
    const shape = [n, m, ho, wo];
    const count = elementCount(shape);
    const data = new Float64Array(count);
    const bound = zeroBound(shape, count);
    const xTotal = totals(x.bound);
    const g = ctx.r.gamma(cw * kh * kw + (b === undefined ? 0 : 1));
    for (let o = 0; o < count; o++) {
      const [bn, bm, i, j] = [Math.floor(o / (m * ho * wo)), Math.floor(o / (ho * wo)) % m, Math.floor(o / wo) % ho, o % wo];
      let value = b === undefined ? 0 : b.data[bm]!;
      let magnitude = b === undefined ? 0 : Math.abs(b.data[bm]!);
      if (b !== undefined) for (const p of BOUND_PARTS) bound.parts[p][o]! += b.bound.parts[p][bm]!;
      // Output channel bm reads the input channels of its group.
      const first = Math.floor(bm / (m / groups)) * cw;
      for (let ci = 0; ci < cw; ci++) {
        for (let u = 0; u < kh; u++) {
          const row = i * sh + u * dh - pt;
          if (row < 0 || row >= h) continue;
          for (let v = 0; v < kw; v++) {
            const col = j * sw + v * dw - pl;
            if (col < 0 || col >= wd) continue;
            const ix = ((bn * c + first + ci) * h + row) * wd + col;
            const iw = ((bm * cw + ci) * kh + u) * kw + v;
            const [xv, wv] = [x.data[ix]!, w.data[iw]!];
            value += xv * wv;
            magnitude += Math.abs(xv * wv);
            // |Δx|·|w| + (|x| + |Δx|)·|Δw|, part by part.
            for (const p of BOUND_PARTS) bound.parts[p][o]! += x.bound.parts[p][ix]! * Math.abs(wv) + (Math.abs(xv) + xTotal[ix]!) * w.bound.parts[p][iw]!;
          }
        }
      }
      data[o] = value;
      bound.parts.arithmetic[o]! += g * magnitude + ctx.r.underflow(2 * cw * kh * kw);
    }
    return [graphValue('float', shape, data, bound)];
  },
};

/**
 * The windows of a 2-D pooling: the output shape, and for each output element the input elements
 * of its window that lie inside the input (padding holds no element: −∞ for the maximum, 0 for a
 * sum), row-major (the order in which a first maximum is picked), and the window's full size.
 */
function poolWindows(x: GValue, ctx: NodeContext): { shape: number[]; windows: number[][]; size: number } {
  if (x.shape.length !== 4) return ctx.fail('is not 2-D; the rule covers [N, C, H, W] inputs');
  if (ctx.attr<number>('ceil_mode', 0) !== 0 || ints(ctx, 'dilations', [1, 1]).some((d) => d !== 1) || ctx.attr<number>('storage_order', 0) !== 0) {
    return ctx.fail('dilates, rounds up or stores column-major, which has no rule');
  }
  const [kh, kw] = ints(ctx, 'kernel_shape', []) as [number, number];
  const [sh, sw] = ints(ctx, 'strides', [1, 1]) as [number, number];
  const [pt, pl, pb, pr] = ints(ctx, 'pads', [0, 0, 0, 0]) as [number, number, number, number];
  const [n, c, h, wd] = x.shape as [number, number, number, number];
  const [ho, wo] = [Math.floor((h + pt + pb - kh) / sh) + 1, Math.floor((wd + pl + pr - kw) / sw) + 1];
  const shape = [n, c, ho, wo];
  const windows = Array.from({ length: elementCount(shape) }, (_, o) => {
    const [plane, i, j] = [Math.floor(o / (ho * wo)), Math.floor(o / wo) % ho, o % wo];
    const window: number[] = [];
    for (let u = 0; u < kh; u++) {
      const row = i * sh + u - pt;
      if (row < 0 || row >= h) continue;
      for (let v = 0; v < kw; v++) {
        const col = j * sw + v - pl;
        if (col >= 0 && col < wd) window.push((plane * h + row) * wd + col);
      }
    }
    return window;
  });
  return { shape, windows, size: kh * kw };
}

/**
 * AveragePool: a mean over each window, ReduceMean's rule (§2.1); with count_include_pad the
 * padding's zeros count in the divisor (the sum is the same), without it only the elements inside.
 */
const averagePool: GraphOpRule = {
  op: 'AveragePool',
  policy: '§2.1',
  apply(inputs, ctx) {
    const x = required(inputs, 0, ctx);
    const { shape, windows, size } = poolWindows(x, ctx);
    const divisor = ctx.attr<number>('count_include_pad', 0) === 1 ? size : undefined;
    return [sumOverGroups(x, windows, shape, true, ctx, divisor)];
  },
};

/**
 * MaxPool, with its optional Indices output (flat over the whole input, as ONNX defines them):
 * ReduceMax's rule over each window (§2.1). The index is exact, unless another element of the
 * window is within the bounds of the maximum: then the two sides may pick different elements and
 * route the gradient to different places, which no rule here describes, so it is an error naming
 * the window.
 */
const maxPool: GraphOpRule = {
  op: 'MaxPool',
  policy: '§2.1',
  apply(inputs, ctx) {
    const x = required(inputs, 0, ctx);
    const { shape, windows } = poolWindows(x, ctx);
    const xTotal = totals(x.bound);
    const where = new Float64Array(windows.length);
    for (const [o, window] of windows.entries()) {
      const best = window.reduce((b, ix) => (x.data[ix]! > x.data[b]! ? ix : b), window[0]!);
      const rival = window.find((ix) => ix !== best && xTotal[ix]! + xTotal[best]! > 0 && x.data[best]! - x.data[ix]! <= xTotal[ix]! + xTotal[best]!);
      if (rival !== undefined) return ctx.fail(`window ${o} has elements ${best} and ${rival} within their bounds of each other: the sides may pick different maxima`);
      where[o] = best;
    }
    return [maxOverGroups(x, windows, shape), graphValue('int', shape, where)];
  },
};

const pad: GraphOpRule = {
  op: 'Pad',
  policy: '§2.6',
  apply(inputs, ctx) {
    const x = required(inputs, 0, ctx);
    if (ctx.attr<string>('mode', 'constant') !== 'constant') return ctx.fail(`pads in mode ${ctx.attr<string>('mode')}, which has no rule`);
    const pads = Array.from(required(inputs, 1, ctx).data);
    const fill = inputs[2]?.data[0] ?? 0;
    const rank = x.shape.length;
    if (pads.some((p) => p < 0)) return ctx.fail('crops (negative pads), which has no rule');
    const shape = x.shape.map((d, k) => d + pads[k]! + pads[k + rank]!);
    const count = elementCount(shape);
    const data = new Float64Array(count).fill(fill);
    const bound = zeroBound(shape, count);
    const uncertain = new Uint8Array(count);
    for (let i = 0; i < x.data.length; i++) {
      // x's multi-index, shifted by the leading pads, in the padded shape.
      let rest = i;
      let at = 0;
      let stride = 1;
      for (let k = rank - 1; k >= 0; k--) {
        at += ((rest % x.shape[k]!) + pads[k]!) * stride;
        rest = Math.floor(rest / x.shape[k]!);
        stride *= shape[k]!;
      }
      data[at] = x.data[i]!;
      uncertain[at] = x.uncertain[i]!;
      for (const p of BOUND_PARTS) bound.parts[p][at] = x.bound.parts[p][i]!;
    }
    return [graphValue(x.kind, shape, data, bound, uncertain)];
  },
};

export const CONV_RULES: readonly GraphOpRule[] = [conv, averagePool, maxPool, pad];
