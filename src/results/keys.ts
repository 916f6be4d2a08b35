import type { Tensor } from '../tensor/tensor.ts';

/**
 * The one name of a tensor a model run produces, shared by results, bounds, comparison records,
 * golden files and ONNX graph outputs: `loss`, `logits`, `out.<m>` (the output of module m of the
 * torch.nn.Sequential) and `grad.<name>` (∂loss/∂x or ∂loss/∂ a parameter by its state_dict
 * name). Keys are built from their parts and compared whole; nothing parses one back.
 */
export type TensorKey = 'loss' | 'logits' | `out.${number}` | `grad.${string}`;

export const LOSS_KEY = 'loss' satisfies TensorKey;
export const LOGITS_KEY = 'logits' satisfies TensorKey;

/** The output of module `m` of the Sequential. */
export const outKey = (m: number): TensorKey => `out.${m}`;

/** ∂loss/∂`name`: `x`, or a parameter's state_dict name such as `0.weight`. */
export const gradKey = (name: string): TensorKey => `grad.${name}`;

/**
 * Everything one run of a case produced, by key, in a fixed order: loss, logits, every module's
 * output, then the gradients of x and of every parameter in state_dict order. The TS reference,
 * torch's golden, onnxruntime and your implementation all produce this.
 */
export type Results = ReadonlyMap<TensorKey, Tensor>;
