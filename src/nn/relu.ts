import { dtypeOf } from '../tensor/dtype.ts';
import { tensor, type Tensor } from '../tensor/tensor.ts';

// ReLU is exact in any precision: it only selects. Both directions test `z <= 0` rather than
// `z > 0` so that a NaN pre-activation propagates, as it does in PyTorch.

export function reluForward(z: Tensor): Tensor {
  return tensor(dtypeOf(z.data), z.shape, z.data.map((v) => (v <= 0 ? 0 : v)));
}

/**
 * ∂L/∂z = ∂L/∂h where z > 0, else 0. At z = 0 exactly the derivative is 0, as in PyTorch, whose
 * threshold_backward keeps the gradient only where z > threshold (= 0).
 */
export function reluBackward(dh: Tensor, z: Tensor): Tensor {
  return tensor(dtypeOf(dh.data), dh.shape, dh.data.map((g, i) => (z.data[i]! <= 0 ? 0 : g)));
}
