import type { TensorsByKey } from '../../src/parity/moduleParity.ts';
import type { DType } from '../../src/tensor/dtype.ts';
import { residualLayerNormGelu } from './residualLayerNormGelu.ts';

type Named = Readonly<Record<string, { readonly shape: readonly number[]; readonly data: ArrayLike<number> }>>;

/** Every example model: the case name in cases.py, and its hand-written TS implementation. */
export const EXAMPLE_MODELS: readonly { readonly name: string; run(inputs: Named, params: Named, dtype: DType): TensorsByKey }[] = [
  { name: 'residual-layernorm-gelu', run: residualLayerNormGelu },
];
