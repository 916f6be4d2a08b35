// examples/models/cases.py's BagOfEmbeddings by hand: logits = Linear(mean over the tokens of
// Embedding(tokens)), loss cross_entropy(logits, target) averaged over the batch. The embedding's
// gradient is a scatter-add: a token that occurs k times collects k contributions.
import type { IndexTensor } from '../../src/golden/moduleGolden.ts';
import type { TensorsByKey } from '../../src/parity/moduleParity.ts';
import type { DType } from '../../src/tensor/dtype.ts';
import { classifierHead } from './classifierHead.ts';

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
  // Linear and cross-entropy, mean over the batch.
  const head = classifierHead(pooled, batch, w, bias, target, r);
  const dPooled = head.dInput;
  const dTable = new Array<number>(vocabulary * width).fill(0);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < steps; t++) {
      const token = tokens.data[b * steps + t]!;
      for (let k = 0; k < width; k++) dTable[token * width + k] = r(dTable[token * width + k]! + r(dPooled[b * width + k]! / steps));
    }
  }
  return {
    loss: { shape: [], data: [head.loss] },
    output: { shape: [batch, classes], data: head.logits },
    'out.embed': { shape: [batch, steps, width], data: embedded },
    'grad.embed.weight': { shape: [vocabulary, width], data: dTable },
    'grad.fc.weight': { shape: [classes, width], data: head.dWeight },
    'grad.fc.bias': { shape: [classes], data: head.dBias },
  };
}
