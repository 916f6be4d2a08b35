import { backward, forward, type BackwardTrace, type ForwardTrace } from '../nn/mlp.ts';
import { layerNames } from '../nn/names.ts';
import type { ModelSpec } from '../nn/spec.ts';
import type { DType } from '../tensor/dtype.ts';
import { scalar, type NamedTensors, type Tensor } from '../tensor/tensor.ts';
import type { MlpInputs } from '../nn/mlp.ts';

/**
 * What every implementation and oracle produces for a case, in one shape: the TS model, torch's
 * golden, onnxruntime. Comparisons walk these tensors by name.
 */
export interface Results {
  readonly loss: number;
  readonly logits: Tensor;
  /** Each layer's Linear output, in layer order. */
  readonly preActivations: readonly Tensor[];
  /** ∂L/∂x and ∂L/∂(each parameter), by state_dict name. */
  readonly grads: NamedTensors;
}

/** The TypeScript model's run in one precision: results plus the traces the bounds need. */
export interface TsRun {
  readonly dtype: DType;
  readonly fwd: ForwardTrace;
  readonly bwd: BackwardTrace;
  readonly results: Results;
}

export function runTs(spec: ModelSpec, inputs: MlpInputs, dtype: DType): TsRun {
  const fwd = forward(spec, inputs, dtype);
  const bwd = backward(fwd);
  const results = { loss: fwd.loss, logits: fwd.logits, preActivations: fwd.layers.map((l) => l.pre), grads: bwd.grads };
  return { dtype, fwd, bwd, results };
}

/** Every tensor of a result set under the name reports use: `loss`, `logits`, `output[0]`, `grad[0.weight]`. */
export function namedResultTensors(spec: ModelSpec, results: Results, dtype: DType): [string, Tensor][] {
  const modules = layerNames(spec).map((n) => n.module);
  return [
    ['loss', scalar(dtype, results.loss)],
    ['logits', results.logits],
    ...results.preActivations.map((t, i): [string, Tensor] => [`output[${modules[i]}]`, t]),
    ...Object.entries(results.grads).map(([name, t]): [string, Tensor] => [`grad[${name}]`, t]),
  ];
}

/** The JSON form `gradparity eval` prints: loss, logits and gradients with shapes. */
export function resultsJson(caseName: string, dtype: DType, results: Results): Record<string, unknown> {
  const plain = (t: Tensor) => ({ shape: [...t.shape], data: Array.from(t.data) });
  return {
    case: caseName,
    dtype,
    loss: results.loss,
    logits: plain(results.logits),
    grads: Object.fromEntries(Object.entries(results.grads).map(([name, t]) => [name, plain(t)])),
  };
}
