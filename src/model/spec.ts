import { z } from 'zod';
import { LossSpec, ModuleSpec, lossOp, moduleOp } from '../ops/registry.ts';

/**
 * A model as a golden describes it: a torch.nn.Sequential, module by module (`{op: 'linear',
 * out, bias}`, `{op: 'relu'}`, …), on inputs of width `inputSize`, with a loss at the end. Module
 * i of the list is module i of the Sequential, so its parameters are `<i>.weight`, `<i>.bias`.
 */
export const ModelSpec = z.strictObject({
  inputSize: z.number().int().positive(),
  modules: z.array(ModuleSpec).min(1),
  loss: LossSpec,
});
export type ModelSpec = z.infer<typeof ModelSpec>;

/** Each module's input width, and the model's output width (the number of classes) last. */
export function widths(spec: ModelSpec): number[] {
  const out = [spec.inputSize];
  for (const m of spec.modules) out.push(moduleOp(m).outFeatures(m, out.at(-1)!));
  return out;
}

/** The width of the last module's output: the logits' classes. */
export function numClasses(spec: ModelSpec): number {
  return widths(spec).at(-1)!;
}

/** The loss's shape for a batch of `batch` rows: [] when reduced, [B] or [B, C] for `reduction: 'none'`. */
export function lossShape(spec: ModelSpec, batch: number): readonly number[] {
  return lossOp(spec.loss).lossShape(spec.loss, batch, numClasses(spec));
}

/** Whether the backward pass starts from a given upstream gradient (`lossGrad`): an unreduced loss. */
export function takesLossGrad(spec: ModelSpec): boolean {
  return lossShape(spec, 1).length > 0;
}

/** The exported graph's inputs, in order: x, target, lossGrad (unreduced losses), then the parameters. */
export function graphInputNames(spec: ModelSpec): string[] {
  return ['x', 'target', ...(takesLossGrad(spec) ? ['lossGrad'] : []), ...parameterShapes(spec).keys()];
}

/** Every parameter's state_dict name and shape, in state_dict order (`0.weight` [out, in], `0.bias` [out], …). */
export function parameterShapes(spec: ModelSpec): Map<string, readonly number[]> {
  const w = widths(spec);
  const shapes = new Map<string, readonly number[]>();
  spec.modules.forEach((m, i) => {
    for (const p of moduleOp(m).parameters(m, w[i]!)) shapes.set(`${i}.${p.suffix}`, p.shape);
  });
  return shapes;
}

/** Names of every gradient the backward pass returns: the input `x`, then the parameters. */
export function gradientNames(spec: ModelSpec): string[] {
  return ['x', ...parameterShapes(spec).keys()];
}

/** A one-line description in PyTorch's vocabulary, e.g. `Linear(3, 4) → ReLU → Linear(4, 2) → cross_entropy(…)`. */
export function describeModel(spec: ModelSpec): string {
  const w = widths(spec);
  return [...spec.modules.map((m, i) => moduleOp(m).describe(m, w[i]!)), lossOp(spec.loss).describe(spec.loss)].join(' → ');
}
