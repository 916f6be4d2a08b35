import type { ModelSpec } from '../src/nn/spec.ts';
import type { MlpInputs } from '../src/nn/mlp.ts';
import { tensor } from '../src/tensor/tensor.ts';

/** The notebook's 3-4-2 network, typed in as the notebook typed it (float32). */
export const notebookSpec: ModelSpec = {
  inputSize: 3,
  layers: [
    { out: 4, bias: true, activation: 'relu' },
    { out: 2, bias: true, activation: 'identity' },
  ],
  loss: { kind: 'softmax_cross_entropy', target: 'probabilities', reduction: 'sum' },
};

export function notebookInputs(): MlpInputs {
  return {
    x: tensor('float32', [1, 3], [0.5, -1.0, 0.8]),
    target: { kind: 'probabilities', probs: tensor('float32', [1, 2], [0, 1]) },
    params: {
      '0.weight': tensor('float32', [4, 3], [1.0, 0.5, -0.3, 0.2, -1.0, 0.8, 0.4, 0.7, -0.9, -0.6, 0.1, 0.5]),
      '0.bias': tensor('float32', [4], [0.1, -0.2, 0.3, -0.4]),
      '2.weight': tensor('float32', [2, 4], [0.5, -0.3, 0.2, 0.1, -0.4, 0.6, 0.7, -0.8]),
      '2.bias': tensor('float32', [2], [0.2, -0.1]),
    },
  };
}
