// examples/models/cases.py's plain function of tensors by hand: out_b = Σ_j tanh((x·W)_bj)·y_bj,
// loss mean(out²). No parameters: x, W and y are all inputs, and all get gradients.
import type { TensorsByKey } from '../../src/parity/moduleParity.ts';
import type { DType } from '../../src/tensor/dtype.ts';

type Named = Readonly<Record<string, { readonly shape: readonly number[]; readonly data: ArrayLike<number> }>>;

export function functionTanhBilinear(inputs: Named, dtype: DType): TensorsByKey {
  const r = dtype === 'float32' ? Math.fround : (v: number) => v;
  const [x, w, y] = ['x', 'w', 'y'].map((k) => Array.from(inputs[k]!.data, r)) as [number[], number[], number[]];
  const [batch, width] = inputs.x!.shape as [number, number];
  const outs = inputs.w!.shape[1]!;
  const t = new Array<number>(batch * outs);
  const out = new Array<number>(batch).fill(0);
  for (let b = 0; b < batch; b++) {
    for (let j = 0; j < outs; j++) {
      let z = 0;
      for (let k = 0; k < width; k++) z = r(z + r(x[b * width + k]! * w[k * outs + j]!));
      t[b * outs + j] = r(Math.tanh(z));
      out[b] = r(out[b]! + r(t[b * outs + j]! * y[b * outs + j]!));
    }
  }
  const loss = r(out.reduce((acc, o) => r(acc + r(o * o)), 0) / batch);
  const dOut = out.map((o) => r(r(2 * o) / batch));
  const dy = t.map((v, i) => r(dOut[Math.floor(i / outs)]! * v));
  const dz = t.map((v, i) => r(r(dOut[Math.floor(i / outs)]! * y[i]!) * r(1 - r(v * v))));
  const dx = new Array<number>(batch * width).fill(0);
  const dw = new Array<number>(width * outs).fill(0);
  for (let b = 0; b < batch; b++) {
    for (let k = 0; k < width; k++) {
      for (let j = 0; j < outs; j++) {
        dx[b * width + k] = r(dx[b * width + k]! + r(dz[b * outs + j]! * w[k * outs + j]!));
        dw[k * outs + j] = r(dw[k * outs + j]! + r(x[b * width + k]! * dz[b * outs + j]!));
      }
    }
  }
  return {
    loss: { shape: [], data: [loss] },
    output: { shape: [batch], data: out },
    'grad.x': { shape: [batch, width], data: dx },
    'grad.w': { shape: [width, outs], data: dw },
    'grad.y': { shape: [batch, outs], data: dy },
  };
}
