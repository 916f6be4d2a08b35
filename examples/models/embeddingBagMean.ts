// examples/models/cases.py's BagOfEmbeddings by hand: logits = Linear(mean over the tokens of
// Embedding(tokens)), loss cross_entropy(logits, target) averaged over the batch. The embedding's
// gradient is a scatter-add: a token that occurs k times collects k contributions.
import type { IndexTensor } from '../../src/golden/moduleGolden.ts';
import type { TensorsByKey } from '../../src/parity/moduleParity.ts';
import type { DType } from '../../src/tensor/dtype.ts';

type Named = Readonly<Record<string, { readonly shape: readonly number[]; readonly data: ArrayLike<number> }>>;

export function embeddingBagMean(indexInputs: Readonly<Record<string, IndexTensor>>, params: Named, dtype: DType): TensorsByKey {
  const r = dtype === 'float32' ? Math.fround : (v: number) => v;
  const tokens = indexInputs.tokens!;
  const target = indexInputs.target!.data;
  const [batch, steps] = tokens.shape as [number, number];
  const table = Array.from(params['embed.weight']!.data, r);
  const [vocabulary, width] = params['embed.weight']!.shape as [number, number];
  const w = Array.from(params['fc.weight']!.data, r);
  const bias = Array.from(params['fc.bias']!.data, r);
  const classes = bias.length;

  const embedded = new Array<number>(batch * steps * width);
  const pooled = new Array<number>(batch * width).fill(0);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < steps; t++) {
      const token = tokens.data[b * steps + t]!;
      for (let k = 0; k < width; k++) {
        const v = table[token * width + k]!;
        embedded[(b * steps + t) * width + k] = v;
        pooled[b * width + k] = r(pooled[b * width + k]! + v);
      }
    }
    for (let k = 0; k < width; k++) pooled[b * width + k] = r(pooled[b * width + k]! / steps);
  }
  const logits = new Array<number>(batch * classes);
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < classes; c++) {
      let acc = bias[c]!;
      for (let k = 0; k < width; k++) acc = r(acc + r(pooled[b * width + k]! * w[c * width + k]!));
      logits[b * classes + c] = acc;
    }
  }
  // Cross-entropy, mean over the batch: log_softmax with the row max shifted out.
  let loss = 0;
  const dLogits = new Array<number>(batch * classes);
  for (let b = 0; b < batch; b++) {
    const row = logits.slice(b * classes, (b + 1) * classes);
    const m = Math.max(...row);
    const e = row.map((v) => r(Math.exp(r(v - m))));
    const s = e.reduce((acc, v) => r(acc + v), 0);
    const lse = r(Math.log(s));
    loss = r(loss - r(r(row[target[b]!]! - m) - lse));
    e.forEach((v, c) => (dLogits[b * classes + c] = r(r(r(v / s) - (c === target[b] ? 1 : 0)) / batch)));
  }
  loss = r(loss / batch);
  const dW = new Array<number>(classes * width).fill(0);
  const dBias = new Array<number>(classes).fill(0);
  const dPooled = new Array<number>(batch * width).fill(0);
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < classes; c++) {
      const g = dLogits[b * classes + c]!;
      dBias[c] = r(dBias[c]! + g);
      for (let k = 0; k < width; k++) {
        dW[c * width + k] = r(dW[c * width + k]! + r(g * pooled[b * width + k]!));
        dPooled[b * width + k] = r(dPooled[b * width + k]! + r(g * w[c * width + k]!));
      }
    }
  }
  const dTable = new Array<number>(vocabulary * width).fill(0);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < steps; t++) {
      const token = tokens.data[b * steps + t]!;
      for (let k = 0; k < width; k++) dTable[token * width + k] = r(dTable[token * width + k]! + r(dPooled[b * width + k]! / steps));
    }
  }
  return {
    loss: { shape: [], data: [loss] },
    output: { shape: [batch, classes], data: logits },
    'out.embed': { shape: [batch, steps, width], data: embedded },
    'grad.embed.weight': { shape: [vocabulary, width], data: dTable },
    'grad.fc.weight': { shape: [classes, width], data: dW },
    'grad.fc.bias': { shape: [classes], data: dBias },
  };
}
