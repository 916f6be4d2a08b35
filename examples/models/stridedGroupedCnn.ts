// examples/models/cases.py's StridedGroupedCnn by hand: Conv2d(2, 4, 3, stride 2, padding 1) →
// ReLU → Conv2d(4, 4, 3, padding 2, dilation 2, groups 2) → AvgPool2d(3, stride 2, padding 1)
// (the padding's zeros counted) → MaxPool2d(2, stride 1, padding 1) → Linear(64, 3) and
// cross-entropy (classifierHead.ts), and the backward pass through all of it.
import type { IndexTensor } from '../../src/golden/moduleGolden.ts';
import type { TensorsByKey } from '../../src/parity/moduleParity.ts';
import type { DType } from '../../src/tensor/dtype.ts';
import { classifierHead } from './classifierHead.ts';

type Named = Readonly<Record<string, { readonly shape: readonly number[]; readonly data: ArrayLike<number> }>>;
type Shape4 = [number, number, number, number];
type Round = (v: number) => number;

/** A 2-D convolution's geometry: which input element (or none, in the padding) tap (u, v) of output (i, j) reads. */
interface Conv {
  readonly stride: number;
  readonly padding: number;
  readonly dilation: number;
  readonly groups: number;
}

function outSize(size: number, k: number, { stride, padding, dilation }: Conv): number {
  return Math.floor((size + 2 * padding - dilation * (k - 1) - 1) / stride) + 1;
}

/** Every (output, input, weight) index triple of a convolution, in the order the sums take them. */
function* taps(xs: Shape4, ws: Shape4, conv: Conv): Generator<[number, number, number]> {
  const [n, c, h, w] = xs;
  const [m, cg, kh, kw] = ws;
  const [ho, wo] = [outSize(h, kh, conv), outSize(w, kw, conv)];
  const mg = m / conv.groups;
  for (let b = 0; b < n; b++) for (let o = 0; o < m; o++) for (let i = 0; i < ho; i++) for (let j = 0; j < wo; j++) {
    const out = ((b * m + o) * ho + i) * wo + j;
    const first = Math.floor(o / mg) * cg;
    for (let ch = 0; ch < cg; ch++) for (let u = 0; u < kh; u++) for (let v = 0; v < kw; v++) {
      const [row, col] = [i * conv.stride + u * conv.dilation - conv.padding, j * conv.stride + v * conv.dilation - conv.padding];
      if (row < 0 || row >= h || col < 0 || col >= w) continue;
      yield [out, ((b * c + first + ch) * h + row) * w + col, ((o * cg + ch) * kh + u) * kw + v];
    }
  }
}

function convForward(x: number[], xs: Shape4, weight: number[], ws: Shape4, bias: number[], conv: Conv, r: Round): { z: number[]; shape: Shape4 } {
  const shape: Shape4 = [xs[0], ws[0], outSize(xs[2], ws[2], conv), outSize(xs[3], ws[3], conv)];
  const z = new Array<number>(shape.reduce((a, b) => a * b, 1)).fill(0);
  const perMap = shape[2] * shape[3];
  for (let out = 0; out < z.length; out++) z[out] = bias[Math.floor(out / perMap) % shape[1]]!;
  for (const [out, xi, wi] of taps(xs, ws, conv)) z[out] = r(z[out]! + r(x[xi]! * weight[wi]!));
  return { z, shape };
}

function convBackward(dz: number[], zs: Shape4, x: number[], xs: Shape4, weight: number[], ws: Shape4, conv: Conv, r: Round) {
  const dx = new Array<number>(x.length).fill(0);
  const dw = new Array<number>(weight.length).fill(0);
  const db = new Array<number>(ws[0]).fill(0);
  const perMap = zs[2] * zs[3];
  dz.forEach((g, out) => (db[Math.floor(out / perMap) % zs[1]] = r(db[Math.floor(out / perMap) % zs[1]]! + g)));
  for (const [out, xi, wi] of taps(xs, ws, conv)) {
    dw[wi] = r(dw[wi]! + r(dz[out]! * x[xi]!));
    dx[xi] = r(dx[xi]! + r(dz[out]! * weight[wi]!));
  }
  return { dx, dw, db };
}

/** The input elements of each window of a padded 2-D pooling (padding holds none), row-major. */
function windows(xs: Shape4, k: number, stride: number, padding: number): { members: number[][]; shape: Shape4 } {
  const [n, c, h, w] = xs;
  const [ho, wo] = [Math.floor((h + 2 * padding - k) / stride) + 1, Math.floor((w + 2 * padding - k) / stride) + 1];
  const members: number[][] = [];
  for (let p = 0; p < n * c; p++) for (let i = 0; i < ho; i++) for (let j = 0; j < wo; j++) {
    const window: number[] = [];
    for (let u = 0; u < k; u++) for (let v = 0; v < k; v++) {
      const [row, col] = [i * stride + u - padding, j * stride + v - padding];
      if (row >= 0 && row < h && col >= 0 && col < w) window.push((p * h + row) * w + col);
    }
    members.push(window);
  }
  return { members, shape: [n, c, ho, wo] };
}

export function stridedGroupedCnn(inputs: Named, indexInputs: Readonly<Record<string, IndexTensor>>, params: Named, dtype: DType): TensorsByKey {
  const r: Round = dtype === 'float32' ? Math.fround : (v: number) => v;
  const get = (name: string) => Array.from(params[name]!.data, r);
  const shapeOf = (name: string) => params[name]!.shape as Shape4;
  const x = Array.from(inputs.images!.data, r);
  const xs = inputs.images!.shape as Shape4;
  const target = indexInputs.target!.data;
  const down: Conv = { stride: 2, padding: 1, dilation: 1, groups: 1 };
  const grouped: Conv = { stride: 1, padding: 2, dilation: 2, groups: 2 };
  const [dW, gW, fw, fb] = [get('down.weight'), get('grouped.weight'), get('fc.weight'), get('fc.bias')];

  const z1 = convForward(x, xs, dW, shapeOf('down.weight'), get('down.bias'), down, r);
  const a1 = z1.z.map((v) => (v <= 0 ? 0 : v));
  const z2 = convForward(a1, z1.shape, gW, shapeOf('grouped.weight'), get('grouped.bias'), grouped, r);
  // Average pooling over 3×3 windows, the padding's zeros counted: every window divides by 9.
  const avg = windows(z2.shape, 3, 2, 1);
  const pooled = avg.members.map((window) => r(window.reduce((s, i) => r(s + z2.z[i]!), 0) / 9));
  // Max pooling: the first largest element of each window (row-major, as torch picks it).
  const max = windows(avg.shape, 2, 1, 1);
  const picked = max.members.map((window) => window.reduce((best, i) => (pooled[i]! > pooled[best]! ? i : best), window[0]!));
  const features = picked.length / xs[0];
  const h = picked.map((i) => pooled[i]!);
  const head = classifierHead(h, xs[0], fw, fb, target, r);
  const [n, classes] = [xs[0], fb.length];
  const dh = head.dInput;
  // Max pooling's gradient to the picked element; average pooling's, a ninth to each element of each window.
  const dPooled = new Array<number>(pooled.length).fill(0);
  picked.forEach((i, o) => (dPooled[i] = r(dPooled[i]! + dh[o]!)));
  const dz2 = new Array<number>(z2.z.length).fill(0);
  avg.members.forEach((window, o) => window.forEach((i) => (dz2[i] = r(dz2[i]! + r(dPooled[o]! / 9)))));
  const g2 = convBackward(dz2, z2.shape, a1, z1.shape, gW, shapeOf('grouped.weight'), grouped, r);
  const dz1 = g2.dx.map((g, i) => (z1.z[i]! <= 0 ? 0 : g));
  const g1 = convBackward(dz1, z1.shape, x, xs, dW, shapeOf('down.weight'), down, r);
  return {
    loss: { shape: [], data: [head.loss] },
    output: { shape: [n, classes], data: head.logits },
    'out.down': { shape: z1.shape, data: z1.z },
    'out.grouped': { shape: z2.shape, data: z2.z },
    'grad.images': { shape: xs, data: g1.dx },
    'grad.down.weight': { shape: shapeOf('down.weight'), data: g1.dw },
    'grad.down.bias': { shape: [g1.db.length], data: g1.db },
    'grad.grouped.weight': { shape: shapeOf('grouped.weight'), data: g2.dw },
    'grad.grouped.bias': { shape: [g2.db.length], data: g2.db },
    'grad.fc.weight': { shape: [classes, features], data: head.dWeight },
    'grad.fc.bias': { shape: [classes], data: head.dBias },
  };
}
