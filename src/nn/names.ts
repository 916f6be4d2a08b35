import { layerInputSizes, type ModelSpec } from './spec.ts';

/** Where a layer's tensors live in the equivalent torch.nn.Sequential's state_dict. */
export interface LayerNames {
  /** Index of the Linear module in the Sequential. */
  readonly module: number;
  readonly weight: string;
  readonly bias: string | null;
}

/**
 * The one place that maps layers to PyTorch names. Linear → ReLU → Linear is
 * Sequential(Linear, ReLU, Linear): the Linears sit at indices 0 and 2, so the parameters are
 * `0.weight`, `0.bias`, `2.weight`, `2.bias`. An identity activation adds no module.
 */
export function layerNames(spec: ModelSpec): LayerNames[] {
  let module = 0;
  return spec.layers.map((layer) => {
    const names = {
      module,
      weight: `${module}.weight`,
      bias: layer.bias ? `${module}.bias` : null,
    };
    module += layer.activation === 'relu' ? 2 : 1;
    return names;
  });
}

/** Every parameter's name and shape ([out, in] weights, [out] biases), in state_dict order. */
export function parameterShapes(spec: ModelSpec): Map<string, number[]> {
  const inputs = layerInputSizes(spec);
  const shapes = new Map<string, number[]>();
  layerNames(spec).forEach((names, i) => {
    const out = spec.layers[i]?.out ?? 0;
    shapes.set(names.weight, [out, inputs[i] ?? 0]);
    if (names.bias !== null) shapes.set(names.bias, [out]);
  });
  return shapes;
}

/** Names of every gradient the backward pass returns: the input `x`, then the parameters. */
export function gradientNames(spec: ModelSpec): string[] {
  return ['x', ...parameterShapes(spec).keys()];
}

/** A one-line description in PyTorch's vocabulary, e.g. `Linear(3, 4) → ReLU → Linear(4, 2)`. */
export function describeModel(spec: ModelSpec): string {
  const inputs = layerInputSizes(spec);
  const parts = spec.layers.flatMap((layer, i) => {
    const linear = `Linear(${inputs[i]}, ${layer.out}${layer.bias ? '' : ', bias=False'})`;
    return layer.activation === 'relu' ? [linear, 'ReLU'] : [linear];
  });
  const { target, reduction } = spec.loss;
  return `${parts.join(' → ')} → cross_entropy(${target}, reduction=${reduction})`;
}
