// examples/models/cases.py's SmallCnn (and MaxPoolCnn) by hand: Conv2d(1, 2, 3) → ReLU →
// AvgPool2d(2) (or MaxPool2d(2)) → Linear(8, 3), cross-entropy averaged over the batch, and the
// backward pass through all of it.
import type { IndexTensor } from '../../src/golden/moduleGolden.ts';
import type { TensorsByKey } from '../../src/parity/moduleParity.ts';
import type { DType } from '../../src/tensor/dtype.ts';
import { classifierHead } from './classifierHead.ts';

type Named = Readonly<Record<string, { readonly shape: readonly number[]; readonly data: ArrayLike<number> }>>;

export function smallCnn(inputs: Named, indexInputs: Readonly<Record<string, IndexTensor>>, params: Named, dtype: DType, pool: 'average' | 'max' = 'average'): TensorsByKey {
  const r = dtype === 'float32' ? Math.fround : (v: number) => v;
  const x = Array.from(inputs.images!.data, r);
  const [n, c, h, w] = inputs.images!.shape as [number, number, number, number];
  const target = indexInputs.target!.data;
  const cw = Array.from(params['conv.weight']!.data, r);
  const cb = Array.from(params['conv.bias']!.data, r);
  const [m, , kh, kw] = params['conv.weight']!.shape as [number, number, number, number];
  const fw = Array.from(params['fc.weight']!.data, r);
  const fb = Array.from(params['fc.bias']!.data, r);
  const classes = fb.length;
  const [ho, wo] = [h - kh + 1, w - kw + 1];
  const [po, qo] = [ho / 2, wo / 2];
  const features = m * po * qo;
  const xi = (b: number, ch: number, i: number, j: number) => ((b * c + ch) * h + i) * w + j;
  const zi = (b: number, o: number, i: number, j: number) => ((b * m + o) * ho + i) * wo + j;

  // Convolution (valid, stride 1), ReLU, 2×2 average pooling.
  const z = new Array<number>(n * m * ho * wo);
  for (let b = 0; b < n; b++) for (let o = 0; o < m; o++) for (let i = 0; i < ho; i++) for (let j = 0; j < wo; j++) {
    let acc = cb[o]!;
    for (let ch = 0; ch < c; ch++) for (let u = 0; u < kh; u++) for (let v = 0; v < kw; v++) acc = r(acc + r(x[xi(b, ch, i + u, j + v)]! * cw[((o * c + ch) * kh + u) * kw + v]!));
    z[zi(b, o, i, j)] = acc;
  }
  const a = z.map((v) => (v <= 0 ? 0 : v));
  const pooled = new Array<number>(n * features);
  // Max pooling: the first largest element of each window (row-major, as torch picks it) carries the gradient.
  const picked = new Array<number>(n * features);
  for (let b = 0; b < n; b++) for (let o = 0; o < m; o++) for (let i = 0; i < po; i++) for (let j = 0; j < qo; j++) {
    const window = [0, 1, 2, 3].map((k) => zi(b, o, 2 * i + (k >> 1), 2 * j + (k & 1)));
    const at = b * features + (o * po + i) * qo + j;
    if (pool === 'max') {
      picked[at] = window.reduce((best, w) => (a[w]! > a[best]! ? w : best), window[0]!);
      pooled[at] = a[picked[at]!]!;
      continue;
    }
    let sum = 0;
    for (let u = 0; u < 2; u++) for (let v = 0; v < 2; v++) sum = r(sum + a[zi(b, o, 2 * i + u, 2 * j + v)]!);
    pooled[at] = r(sum / 4);
  }
  // Linear and cross-entropy (mean).
  const head = classifierHead(pooled, n, fw, fb, target, r);
  const dPooled = head.dInput;
  // Each pooled value's gradient, a quarter to each input of its window, through the ReLU.
  const dz = new Array<number>(z.length).fill(0);
  if (pool === 'max') {
    picked.forEach((w, at) => (dz[w] = z[w]! <= 0 ? 0 : dPooled[at]!));
  } else for (let b = 0; b < n; b++) for (let o = 0; o < m; o++) for (let i = 0; i < ho; i++) for (let j = 0; j < wo; j++) {
    const zAt = zi(b, o, i, j);
    dz[zAt] = z[zAt]! <= 0 ? 0 : r(dPooled[b * features + (o * po + (i >> 1)) * qo + (j >> 1)]! / 4);
  }
  const dCw = new Array<number>(cw.length).fill(0);
  const dCb = new Array<number>(m).fill(0);
  const dx = new Array<number>(x.length).fill(0);
  for (let b = 0; b < n; b++) for (let o = 0; o < m; o++) for (let i = 0; i < ho; i++) for (let j = 0; j < wo; j++) {
    const g = dz[zi(b, o, i, j)]!;
    dCb[o] = r(dCb[o]! + g);
    for (let ch = 0; ch < c; ch++) for (let u = 0; u < kh; u++) for (let v = 0; v < kw; v++) {
      const wAt = ((o * c + ch) * kh + u) * kw + v;
      dCw[wAt] = r(dCw[wAt]! + r(g * x[xi(b, ch, i + u, j + v)]!));
      dx[xi(b, ch, i + u, j + v)] = r(dx[xi(b, ch, i + u, j + v)]! + r(g * cw[wAt]!));
    }
  }
  return {
    loss: { shape: [], data: [head.loss] },
    output: { shape: [n, classes], data: head.logits },
    'out.conv': { shape: [n, m, ho, wo], data: z },
    'grad.images': { shape: [n, c, h, w], data: dx },
    'grad.conv.weight': { shape: [...params['conv.weight']!.shape], data: dCw },
    'grad.conv.bias': { shape: [m], data: dCb },
    'grad.fc.weight': { shape: [classes, features], data: head.dWeight },
    'grad.fc.bias': { shape: [classes], data: head.dBias },
  };
}
