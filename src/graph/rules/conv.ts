import { BOUND_PARTS, totals, zeroBound } from '../../tolerance/errorBound.ts';
import { elementCount, graphValue } from '../values.ts';
import { required, type GraphOpRule, type NodeContext } from './types.ts';

// 2-D convolution, average pooling and constant padding. A convolution's output element is a
// dot product of K = C·kh·kw input and weight pairs (and a bias): the matrix product's rule of
// docs/tolerance-policy.md §2.1 with that K. Average pooling is a mean over its window (§2.1), and
// padding only moves values (§2.6).

function ints(ctx: NodeContext, name: string, fallback: readonly number[]): number[] {
  return [...(ctx.optionalAttr(name) as readonly number[] | undefined ?? fallback)];
}

const conv: GraphOpRule = {
  op: 'Conv',
  policy: '§2.1',
  apply(inputs, ctx) {
    const [x, w, b] = [required(inputs, 0, ctx), required(inputs, 1, ctx), inputs[2]];
    if (x.shape.length !== 4 || w.shape.length !== 4) return ctx.fail('is not 2-D; the rule covers [N, C, H, W] inputs');
    if (ctx.attr<number>('group', 1) !== 1 || ints(ctx, 'dilations', [1, 1]).some((d) => d !== 1)) return ctx.fail('has groups or dilations, which have no rule');
    const [n, c, h, wd] = x.shape as [number, number, number, number];
    const [m, cw, kh, kw] = w.shape as [number, number, number, number];
    if (cw !== c) return ctx.fail(`convolves ${c} channels with a kernel for ${cw}`);
    const [pt, pl, pb, pr] = ints(ctx, 'pads', [0, 0, 0, 0]) as [number, number, number, number];
    const [sh, sw] = ints(ctx, 'strides', [1, 1]) as [number, number];
    const ho = Math.floor((h + pt + pb - kh) / sh) + 1;
    const wo = Math.floor((wd + pl + pr - kw) / sw) + 1;
    const shape = [n, m, ho, wo];
    const count = elementCount(shape);
    const data = new Float64Array(count);
    const bound = zeroBound(shape, count);
    const xTotal = totals(x.bound);
    const g = ctx.r.gamma(c * kh * kw + (b === undefined ? 0 : 1));
    for (let o = 0; o < count; o++) {
      const [bn, bm, i, j] = [Math.floor(o / (m * ho * wo)), Math.floor(o / (ho * wo)) % m, Math.floor(o / wo) % ho, o % wo];
      let value = b === undefined ? 0 : b.data[bm]!;
      let magnitude = b === undefined ? 0 : Math.abs(b.data[bm]!);
      if (b !== undefined) for (const p of BOUND_PARTS) bound.parts[p][o]! += b.bound.parts[p][bm]!;
      for (let ci = 0; ci < c; ci++) {
        for (let u = 0; u < kh; u++) {
          const row = i * sh + u - pt;
          if (row < 0 || row >= h) continue;
          for (let v = 0; v < kw; v++) {
            const col = j * sw + v - pl;
            if (col < 0 || col >= wd) continue;
            const ix = ((bn * c + ci) * h + row) * wd + col;
            const iw = ((bm * c + ci) * kh + u) * kw + v;
            const [xv, wv] = [x.data[ix]!, w.data[iw]!];
            value += xv * wv;
            magnitude += Math.abs(xv * wv);
            // |Δx|·|w| + (|x| + |Δx|)·|Δw|, part by part.
            for (const p of BOUND_PARTS) bound.parts[p][o]! += x.bound.parts[p][ix]! * Math.abs(wv) + (Math.abs(xv) + xTotal[ix]!) * w.bound.parts[p][iw]!;
          }
        }
      }
      data[o] = value;
      bound.parts.arithmetic[o]! += g * magnitude + ctx.r.underflow(2 * c * kh * kw);
    }
    return [graphValue('float', shape, data, bound)];
  },
};

const averagePool: GraphOpRule = {
  op: 'AveragePool',
  policy: '§2.1',
  apply(inputs, ctx) {
    const x = required(inputs, 0, ctx);
    if (x.shape.length !== 4) return ctx.fail('is not 2-D; the rule covers [N, C, H, W] inputs');
    if (ints(ctx, 'pads', [0, 0, 0, 0]).some((p) => p !== 0) || ctx.attr<number>('ceil_mode', 0) !== 0) return ctx.fail('pads or rounds up, which has no rule');
    const [kh, kw] = ints(ctx, 'kernel_shape', []) as [number, number];
    const [sh, sw] = ints(ctx, 'strides', [1, 1]) as [number, number];
    const [n, c, h, wd] = x.shape as [number, number, number, number];
    const [ho, wo] = [Math.floor((h - kh) / sh) + 1, Math.floor((wd - kw) / sw) + 1];
    const shape = [n, c, ho, wo];
    const count = elementCount(shape);
    const data = new Float64Array(count);
    const bound = zeroBound(shape, count);
    const k = kh * kw;
    for (let o = 0; o < count; o++) {
      const [plane, i, j] = [Math.floor(o / (ho * wo)), Math.floor(o / wo) % ho, o % wo];
      let sum = 0;
      let magnitude = 0;
      for (let u = 0; u < kh; u++) {
        for (let v = 0; v < kw; v++) {
          const ix = (plane * h + i * sh + u) * wd + j * sw + v;
          sum += x.data[ix]!;
          magnitude += Math.abs(x.data[ix]!);
          for (const p of BOUND_PARTS) bound.parts[p][o]! += x.bound.parts[p][ix]! / k;
        }
      }
      data[o] = sum / k;
      // The window's sum (γ_{k−1}), then the division by k (or a product by a rounded 1/k).
      bound.parts.arithmetic[o]! += (ctx.r.gamma(k - 1) * magnitude) / k + ctx.r.ulps(2) * Math.abs(data[o]!) + ctx.r.underflow(k + 1);
    }
    return [graphValue('float', shape, data, bound)];
  },
};

/**
 * MaxPool (no pads, no dilation), with its optional Indices output (flat over the whole input, as
 * ONNX defines them). The maximum rounds nothing and |max_A − max_B| ≤ max_i |a_i − b_i| (§2.1,
 * as ReduceMax). The index is exact, unless another element of the window is within the bounds of
 * the maximum: then the two sides may pick different elements, route the gradient to different
 * places, and no rule here describes that, so it is an error naming the window.
 */
const maxPool: GraphOpRule = {
  op: 'MaxPool',
  policy: '§2.1',
  apply(inputs, ctx) {
    const x = required(inputs, 0, ctx);
    if (x.shape.length !== 4) return ctx.fail('is not 2-D; the rule covers [N, C, H, W] inputs');
    if (ints(ctx, 'pads', [0, 0, 0, 0]).some((p) => p !== 0) || ctx.attr<number>('ceil_mode', 0) !== 0 || ints(ctx, 'dilations', [1, 1]).some((d) => d !== 1) || ctx.attr<number>('storage_order', 0) !== 0) {
      return ctx.fail('pads, dilates, rounds up or stores column-major, which has no rule');
    }
    const [kh, kw] = ints(ctx, 'kernel_shape', []) as [number, number];
    const [sh, sw] = ints(ctx, 'strides', [1, 1]) as [number, number];
    const [n, c, h, wd] = x.shape as [number, number, number, number];
    const [ho, wo] = [Math.floor((h - kh) / sh) + 1, Math.floor((wd - kw) / sw) + 1];
    const shape = [n, c, ho, wo];
    const count = elementCount(shape);
    const data = new Float64Array(count);
    const where = new Float64Array(count);
    const bound = zeroBound(shape, count);
    const xTotal = totals(x.bound);
    for (let o = 0; o < count; o++) {
      const [plane, i, j] = [Math.floor(o / (ho * wo)), Math.floor(o / wo) % ho, o % wo];
      const window: number[] = [];
      for (let u = 0; u < kh; u++) for (let v = 0; v < kw; v++) window.push((plane * h + i * sh + u) * wd + j * sw + v);
      const best = window.reduce((b, ix) => (x.data[ix]! > x.data[b]! ? ix : b), window[0]!);
      const rival = window.find((ix) => ix !== best && xTotal[ix]! + xTotal[best]! > 0 && x.data[best]! - x.data[ix]! <= xTotal[ix]! + xTotal[best]!);
      if (rival !== undefined) return ctx.fail(`window ${o} has elements ${best} and ${rival} within their bounds of each other: the sides may pick different maxima`);
      data[o] = x.data[best]!;
      where[o] = best;
      for (const p of BOUND_PARTS) bound.parts[p][o] = Math.max(...window.map((ix) => x.bound.parts[p][ix]!));
    }
    return [graphValue('float', shape, data, bound), graphValue('int', shape, where)];
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
