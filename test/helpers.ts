import type { ModelInputs } from '../src/model/sequential.ts';
import type { ModelSpec } from '../src/model/spec.ts';
import { tensor } from '../src/tensor/tensor.ts';

/** The notebook's 3-4-2 network, typed in as the notebook typed it (float32). */
export const notebookSpec: ModelSpec = {
  inputSize: 3,
  modules: [{ op: 'linear', out: 4, bias: true }, { op: 'relu' }, { op: 'linear', out: 2, bias: true }],
  loss: { op: 'cross_entropy', target: 'probabilities', reduction: 'sum' },
};

export function notebookInputs(): ModelInputs {
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
