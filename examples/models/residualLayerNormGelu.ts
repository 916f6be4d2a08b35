// A hand-written forward and backward pass of examples/models/cases.py's ResidualLayerNormGelu,
// out = x + GELU(Linear(LayerNorm(x))) with loss mean(out²), in float32 or float64: the kind of
// code gradparity exists to check. Every operation is rounded to the precision it runs in.
import { erf } from '../../src/ops/erf.ts';
import type { TensorsByKey } from '../../src/parity/moduleParity.ts';
import type { DType } from '../../src/tensor/dtype.ts';

type Named = Readonly<Record<string, { readonly shape: readonly number[]; readonly data: ArrayLike<number> }>>;

const EPS = 1e-5; // torch.nn.LayerNorm's default

export function residualLayerNormGelu(inputs: Named, params: Named, dtype: DType): TensorsByKey {
  const r = dtype === 'float32' ? Math.fround : (v: number) => v;
  const x = Array.from(inputs.x!.data, r);
  const [batch, width] = inputs.x!.shape as [number, number];
  const [gamma, beta] = [Array.from(params['norm.weight']!.data, r), Array.from(params['norm.bias']!.data, r)];
  const [w, b] = [Array.from(params['fc.weight']!.data, r), Array.from(params['fc.bias']!.data, r)];
  const n = batch * width;
  const at = (row: number, k: number) => row * width + k;

  // Forward: LayerNorm (biased variance), Linear, GELU (erf form), residual.
  const xhat = new Array<number>(n);
  const rstd = new Array<number>(batch);
  const y = new Array<number>(n);
  for (let row = 0; row < batch; row++) {
    let sum = 0;
    for (let k = 0; k < width; k++) sum = r(sum + x[at(row, k)]!);
    const mean = r(sum / width);
    let sq = 0;
    for (let k = 0; k < width; k++) {
      const d = r(x[at(row, k)]! - mean);
      sq = r(sq + r(d * d));
    }
    rstd[row] = r(1 / r(Math.sqrt(r(r(sq / width) + EPS))));
    for (let k = 0; k < width; k++) {
      xhat[at(row, k)] = r(r(x[at(row, k)]! - mean) * rstd[row]!);
      y[at(row, k)] = r(r(xhat[at(row, k)]! * gamma[k]!) + beta[k]!);
    }
  }
  const z = new Array<number>(n);
  for (let row = 0; row < batch; row++) {
    for (let j = 0; j < width; j++) {
      let acc = b[j]!;
      for (let k = 0; k < width; k++) acc = r(acc + r(y[at(row, k)]! * w[j * width + k]!));
      z[at(row, j)] = acc;
    }
  }
  const cdf = z.map((v) => r(r(0.5 * r(1 + r(erf(r(v * Math.SQRT1_2)))))));
  const out = z.map((v, i) => r(x[i]! + r(v * cdf[i]!)));
  let loss = 0;
  for (const v of out) loss = r(loss + r(v * v));
  loss = r(loss / n);

  // Backward.
  const dOut = out.map((v) => r(r(2 * v) / n));
  const dz = z.map((v, i) => {
    const pdf = r(r(Math.exp(r(r(-0.5 * v) * v))) * 0.3989422804014327); // φ(z) = exp(−z²/2)/√(2π)
    return r(dOut[i]! * r(cdf[i]! + r(v * pdf)));
  });
  const dW = new Array<number>(width * width).fill(0);
  const dBias = new Array<number>(width).fill(0);
  const dy = new Array<number>(n).fill(0);
  for (let j = 0; j < width; j++) {
    for (let row = 0; row < batch; row++) dBias[j] = r(dBias[j]! + dz[at(row, j)]!);
    for (let k = 0; k < width; k++) {
      let acc = 0;
      for (let row = 0; row < batch; row++) acc = r(acc + r(dz[at(row, j)]! * y[at(row, k)]!));
      dW[j * width + k] = acc;
    }
  }
  for (let row = 0; row < batch; row++) {
    for (let k = 0; k < width; k++) {
      let acc = 0;
      for (let j = 0; j < width; j++) acc = r(acc + r(dz[at(row, j)]! * w[j * width + k]!));
      dy[at(row, k)] = acc;
    }
  }
  const dGamma = new Array<number>(width).fill(0);
  const dBeta = new Array<number>(width).fill(0);
  for (let k = 0; k < width; k++) {
    for (let row = 0; row < batch; row++) {
      dGamma[k] = r(dGamma[k]! + r(dy[at(row, k)]! * xhat[at(row, k)]!));
      dBeta[k] = r(dBeta[k]! + dy[at(row, k)]!);
    }
  }
  // LayerNorm's input gradient: rstd·(g − mean(g) − x̂·mean(g·x̂)) with g = ∂L/∂x̂ = dy·γ.
  const dx = new Array<number>(n);
  for (let row = 0; row < batch; row++) {
    let sumG = 0;
    let sumGX = 0;
    for (let k = 0; k < width; k++) {
      const g = r(dy[at(row, k)]! * gamma[k]!);
      sumG = r(sumG + g);
      sumGX = r(sumGX + r(g * xhat[at(row, k)]!));
    }
    const [meanG, meanGX] = [r(sumG / width), r(sumGX / width)];
    for (let k = 0; k < width; k++) {
      const g = r(dy[at(row, k)]! * gamma[k]!);
      const inner = r(r(g - meanG) - r(xhat[at(row, k)]! * meanGX));
      dx[at(row, k)] = r(dOut[at(row, k)]! + r(rstd[row]! * inner));
    }
  }
  const shaped = (shape: number[], data: number[]) => ({ shape, data });
  return {
    loss: shaped([], [loss]),
    output: shaped([batch, width], out),
    'out.norm': shaped([batch, width], y),
    'out.fc': shaped([batch, width], z),
    'grad.x': shaped([batch, width], dx),
    'grad.norm.weight': shaped([width], dGamma),
    'grad.norm.bias': shaped([width], dBeta),
    'grad.fc.weight': shaped([width, width], dW),
    'grad.fc.bias': shaped([width], dBias),
  };
}
