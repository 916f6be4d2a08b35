// examples/models/cases.py's TanhRnn by hand: torch.nn.RNNCell(tanh) unrolled over the steps,
// h_t = tanh((x_t·W_ihᵀ + b_ih) + (h_{t−1}·W_hhᵀ + b_hh)) from h_0 = 0, loss Σ h_T², and its
// backward through time.
import type { TensorsByKey } from '../../src/parity/moduleParity.ts';
import type { DType } from '../../src/tensor/dtype.ts';

type Named = Readonly<Record<string, { readonly shape: readonly number[]; readonly data: ArrayLike<number> }>>;

export function tanhRnn(inputs: Named, params: Named, dtype: DType): TensorsByKey {
  const r = dtype === 'float32' ? Math.fround : (v: number) => v;
  const x = Array.from(inputs.x!.data, r);
  const [batch, steps, width] = inputs.x!.shape as [number, number, number];
  const [wih, whh] = [Array.from(params['cell.weight_ih']!.data, r), Array.from(params['cell.weight_hh']!.data, r)];
  const [bih, bhh] = [Array.from(params['cell.bias_ih']!.data, r), Array.from(params['cell.bias_hh']!.data, r)];
  const hidden = bih.length;
  const xAt = (b: number, t: number, k: number) => x[(b * steps + t) * width + k]!;

  // states[t] is h_t, t = 0 … steps (h_0 = 0).
  const states: number[][] = [new Array<number>(batch * hidden).fill(0)];
  for (let t = 0; t < steps; t++) {
    const prev = states[t]!;
    const next = new Array<number>(batch * hidden);
    for (let b = 0; b < batch; b++) {
      for (let j = 0; j < hidden; j++) {
        let input = bih[j]!;
        for (let k = 0; k < width; k++) input = r(input + r(xAt(b, t, k) * wih[j * width + k]!));
        let recurrent = bhh[j]!;
        for (let k = 0; k < hidden; k++) recurrent = r(recurrent + r(prev[b * hidden + k]! * whh[j * hidden + k]!));
        next[b * hidden + j] = r(Math.tanh(r(input + recurrent)));
      }
    }
    states.push(next);
  }
  const last = states[steps]!;
  const loss = last.reduce((acc, v) => r(acc + r(v * v)), 0);

  const dWih = new Array<number>(hidden * width).fill(0);
  const dWhh = new Array<number>(hidden * hidden).fill(0);
  const dBih = new Array<number>(hidden).fill(0);
  const dBhh = new Array<number>(hidden).fill(0);
  const dx = new Array<number>(x.length).fill(0);
  let dh = last.map((v) => r(2 * v));
  for (let t = steps - 1; t >= 0; t--) {
    const [h, prev] = [states[t + 1]!, states[t]!];
    // Through tanh: ∂/∂pre = ∂/∂h · (1 − h²).
    const dPre = dh.map((g, i) => r(g * r(1 - r(h[i]! * h[i]!))));
    const dPrev = new Array<number>(batch * hidden).fill(0);
    for (let b = 0; b < batch; b++) {
      for (let j = 0; j < hidden; j++) {
        const g = dPre[b * hidden + j]!;
        dBih[j] = r(dBih[j]! + g);
        dBhh[j] = r(dBhh[j]! + g);
        for (let k = 0; k < width; k++) {
          dWih[j * width + k] = r(dWih[j * width + k]! + r(g * xAt(b, t, k)));
          dx[(b * steps + t) * width + k] = r(dx[(b * steps + t) * width + k]! + r(g * wih[j * width + k]!));
        }
        for (let k = 0; k < hidden; k++) {
          dWhh[j * hidden + k] = r(dWhh[j * hidden + k]! + r(g * prev[b * hidden + k]!));
          dPrev[b * hidden + k] = r(dPrev[b * hidden + k]! + r(g * whh[j * hidden + k]!));
        }
      }
    }
    dh = dPrev;
  }
  return {
    loss: { shape: [], data: [loss] },
    output: { shape: [batch, hidden], data: last },
    'grad.x': { shape: [batch, steps, width], data: dx },
    'grad.cell.weight_ih': { shape: [hidden, width], data: dWih },
    'grad.cell.weight_hh': { shape: [hidden, hidden], data: dWhh },
    'grad.cell.bias_ih': { shape: [hidden], data: dBih },
    'grad.cell.bias_hh': { shape: [hidden], data: dBhh },
  };
}
