// examples/models/cases.py's CausalSelfAttention by hand: one head, q, k, v and the output
// projection as Linears, scores q·kᵀ/√d with the future masked out, softmax, and its backward.
import type { TensorsByKey } from '../../src/parity/moduleParity.ts';
import type { DType } from '../../src/tensor/dtype.ts';

type Named = Readonly<Record<string, { readonly shape: readonly number[]; readonly data: ArrayLike<number> }>>;

export function causalSelfAttention(inputs: Named, params: Named, dtype: DType): TensorsByKey {
  const r = dtype === 'float32' ? Math.fround : (v: number) => v;
  const [batch, steps, width] = inputs.x!.shape as [number, number, number];
  const x = Array.from(inputs.x!.data, r);
  const p = (name: string) => Array.from(params[name]!.data, r);
  const [wq, bq, wk, bk, wv, bv, wp, bp] = ['query', 'key', 'value', 'proj'].flatMap((m) => [p(`${m}.weight`), p(`${m}.bias`)]) as number[][];
  const scale = r(Math.sqrt(width));
  const rows = batch * steps;
  // [rows, width] · Wᵀ + b, every product and sum rounded.
  const linear = (a: number[], w: number[], b: number[]) => Array.from({ length: rows * width }, (_, i) => {
    const [row, j] = [Math.floor(i / width), i % width];
    let acc = b[j]!;
    for (let k = 0; k < width; k++) acc = r(acc + r(a[row * width + k]! * w[j * width + k]!));
    return acc;
  });
  const [q, k, v] = [linear(x, wq!, bq!), linear(x, wk!, bk!), linear(x, wv!, bv!)];
  const at = (b: number, t: number, d: number) => (b * steps + t) * width + d;
  // Attention weights a[b][i][j], j ≤ i (the future is masked: weight exactly 0).
  const weights = new Array<number>(batch * steps * steps).fill(0);
  const h = new Array<number>(rows * width).fill(0);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < steps; i++) {
      const scores = Array.from({ length: i + 1 }, (_, j) => {
        let dot = 0;
        for (let d = 0; d < width; d++) dot = r(dot + r(q[at(b, i, d)]! * k[at(b, j, d)]!));
        return r(dot / scale);
      });
      const m = Math.max(...scores);
      const e = scores.map((s) => r(Math.exp(r(s - m))));
      const total = e.reduce((acc, v) => r(acc + v), 0);
      e.forEach((v, j) => (weights[(b * steps + i) * steps + j] = r(v / total)));
      for (let d = 0; d < width; d++) {
        let acc = 0;
        for (let j = 0; j <= i; j++) acc = r(acc + r(weights[(b * steps + i) * steps + j]! * v[at(b, j, d)]!));
        h[at(b, i, d)] = acc;
      }
    }
  }
  const out = linear(h, wp!, bp!);
  const n = out.length;
  const loss = r(out.reduce((acc, o) => r(acc + r(o * o)), 0) / n);

  // Backward.
  const dOut = out.map((o) => r(r(2 * o) / n));
  /** ∂ through a Linear: the weight's and bias's gradients, and the input's. */
  const linearBack = (dy: number[], a: number[], w: number[]) => {
    const dW = Array.from({ length: width * width }, (_, i) => {
      const [j, kk] = [Math.floor(i / width), i % width];
      let acc = 0;
      for (let row = 0; row < rows; row++) acc = r(acc + r(dy[row * width + j]! * a[row * width + kk]!));
      return acc;
    });
    const dB = Array.from({ length: width }, (_, j) => {
      let acc = 0;
      for (let row = 0; row < rows; row++) acc = r(acc + dy[row * width + j]!);
      return acc;
    });
    const dA = Array.from({ length: rows * width }, (_, i) => {
      const [row, kk] = [Math.floor(i / width), i % width];
      let acc = 0;
      for (let j = 0; j < width; j++) acc = r(acc + r(dy[row * width + j]! * w[j * width + kk]!));
      return acc;
    });
    return { dW, dB, dA };
  };
  const proj = linearBack(dOut, h, wp!);
  const dh = proj.dA;
  const [dq, dk, dv] = [new Array<number>(rows * width).fill(0), new Array<number>(rows * width).fill(0), new Array<number>(rows * width).fill(0)];
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < steps; i++) {
      const a = (j: number) => weights[(b * steps + i) * steps + j]!;
      // ∂/∂a[i][j] = dh_i · v_j, and v_j collects a[i][j]·dh_i.
      const da = Array.from({ length: i + 1 }, (_, j) => {
        let dot = 0;
        for (let d = 0; d < width; d++) dot = r(dot + r(dh[at(b, i, d)]! * v[at(b, j, d)]!));
        return dot;
      });
      for (let j = 0; j <= i; j++) for (let d = 0; d < width; d++) dv[at(b, j, d)] = r(dv[at(b, j, d)]! + r(a(j) * dh[at(b, i, d)]!));
      // Softmax backward: ds = a·(da − Σ a·da), then through the 1/√d scaling to q and k.
      const inner = da.reduce((acc, g, j) => r(acc + r(a(j) * g)), 0);
      for (let j = 0; j <= i; j++) {
        const ds = r(r(a(j) * r(da[j]! - inner)) / scale);
        for (let d = 0; d < width; d++) {
          dq[at(b, i, d)] = r(dq[at(b, i, d)]! + r(ds * k[at(b, j, d)]!));
          dk[at(b, j, d)] = r(dk[at(b, j, d)]! + r(ds * q[at(b, i, d)]!));
        }
      }
    }
  }
  const [query, key, value] = [linearBack(dq, x, wq!), linearBack(dk, x, wk!), linearBack(dv, x, wv!)];
  const dx = query.dA.map((g, i) => r(r(g + key.dA[i]!) + value.dA[i]!));
  const shaped = (shape: number[], data: number[]) => ({ shape, data });
  return {
    loss: shaped([], [loss]),
    output: shaped([batch, steps, width], out),
    'grad.x': shaped([batch, steps, width], dx),
    'grad.query.weight': shaped([width, width], query.dW),
    'grad.query.bias': shaped([width], query.dB),
    'grad.key.weight': shaped([width, width], key.dW),
    'grad.key.bias': shaped([width], key.dB),
    'grad.value.weight': shaped([width, width], value.dW),
    'grad.value.bias': shaped([width], value.dB),
    'grad.proj.weight': shaped([width, width], proj.dW),
    'grad.proj.bias': shaped([width], proj.dB),
  };
}
