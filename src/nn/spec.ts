import { z } from 'zod';

/**
 * One Linear layer and the activation after it. `out` is its output width; its input width is
 * the previous layer's `out` (or the model's `inputSize`).
 */
export const LayerSpec = z.strictObject({
  out: z.number().int().positive(),
  bias: z.boolean(),
  activation: z.enum(['relu', 'identity']),
});
export type LayerSpec = z.infer<typeof LayerSpec>;

/**
 * torch.nn.functional.cross_entropy on the last layer's output. `class_indices` targets are
 * integers of shape [B]; `probabilities` targets are [B, C] rows (one-hot or soft).
 */
export const LossSpec = z.strictObject({
  kind: z.literal('softmax_cross_entropy'),
  target: z.enum(['class_indices', 'probabilities']),
  reduction: z.enum(['mean', 'sum']),
});
export type LossSpec = z.infer<typeof LossSpec>;

/**
 * A model as a golden describes it: `inputSize`, then Linear layers (`out`, `bias`, and the
 * activation after them), then the loss. The equivalent torch.nn.Sequential names its
 * parameters `0.weight`, `0.bias`, `2.weight`, … (see describeModel).
 */
export const ModelSpec = z.strictObject({
  inputSize: z.number().int().positive(),
  layers: z.array(LayerSpec).min(1),
  loss: LossSpec,
});
export type ModelSpec = z.infer<typeof ModelSpec>;

export function numClasses(spec: ModelSpec): number {
  return spec.layers.at(-1)?.out ?? 0;
}

/** Input width of each layer. */
export function layerInputSizes(spec: ModelSpec): number[] {
  return spec.layers.map((_, i) => (i === 0 ? spec.inputSize : (spec.layers[i - 1]?.out ?? 0)));
}
