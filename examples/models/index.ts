import type { IndexTensor } from '../../src/golden/moduleGolden.ts';
import type { TensorsByKey } from '../../src/parity/moduleParity.ts';
import type { DType } from '../../src/tensor/dtype.ts';
import { causalSelfAttention } from './causalSelfAttention.ts';
import { embeddingBagMean } from './embeddingBagMean.ts';
import { functionTanhBilinear } from './functionTanhBilinear.ts';
import { residualLayerNormGelu } from './residualLayerNormGelu.ts';
import { smallCnn } from './smallCnn.ts';
import { stridedGroupedCnn } from './stridedGroupedCnn.ts';
import { tanhRnn } from './tanhRnn.ts';

type Named = Readonly<Record<string, { readonly shape: readonly number[]; readonly data: ArrayLike<number> }>>;

/** What an example implementation is given: the golden's float and index inputs, and its parameters. */
export interface ExampleInputs {
  readonly inputs: Named;
  readonly indexInputs: Readonly<Record<string, IndexTensor>>;
  readonly params: Named;
}

/** Every example model: the case name in cases.py, and its hand-written TS implementation. */
export const EXAMPLE_MODELS: readonly { readonly name: string; run(given: ExampleInputs, dtype: DType): TensorsByKey }[] = [
  { name: 'residual-layernorm-gelu', run: (g, dtype) => residualLayerNormGelu(g.inputs, g.params, dtype) },
  { name: 'embedding-bag-mean', run: (g, dtype) => embeddingBagMean(g.indexInputs, g.params, dtype) },
  { name: 'tanh-rnn-unrolled', run: (g, dtype) => tanhRnn(g.inputs, g.params, dtype) },
  { name: 'causal-self-attention', run: (g, dtype) => causalSelfAttention(g.inputs, g.params, dtype) },
  { name: 'small-cnn', run: (g, dtype) => smallCnn(g.inputs, g.indexInputs, g.params, dtype) },
  { name: 'function-tanh-bilinear', run: (g, dtype) => functionTanhBilinear(g.inputs, dtype) },
  { name: 'maxpool-cnn', run: (g, dtype) => smallCnn(g.inputs, g.indexInputs, g.params, dtype, 'max') },
  { name: 'strided-grouped-cnn', run: (g, dtype) => stridedGroupedCnn(g.inputs, g.indexInputs, g.params, dtype) },
];
