import type { DType } from '../tensor/dtype.ts';
import { cast, sameShape, type NamedTensors, type Tensor } from '../tensor/tensor.ts';
import { crossEntropyBackward, crossEntropyForward, type CrossEntropyTrace, type Target } from './crossEntropy.ts';
import { linearBackward, linearForward } from './linear.ts';
import { layerNames, parameterShapes } from './names.ts';
import { numClasses, type ModelSpec } from './spec.ts';
import { reluBackward, reluForward } from './relu.ts';

/**
 * What a golden's `inputs` hold, and what an implementation needs to run a case: the batch `x`
 * [B, inputSize], the target (class indices or probability rows, see Target) and every parameter
 * by its torch.nn.Sequential state_dict name, in PyTorch's [out, in] layout. Tensors are in the
 * golden's precision (`golden.dtype`).
 */
export interface MlpInputs {
  /** A batch of inputs [B, inputSize]. */
  readonly x: Tensor;
  readonly target: Target;
  /** Parameters by state_dict name: `0.weight` [out, in], `0.bias` [out], … */
  readonly params: NamedTensors;
}

/** One layer's forward values: its input a, pre-activation z = a·Wᵀ + b and output h = act(z). */
export interface LayerTrace {
  readonly input: Tensor;
  readonly pre: Tensor;
  readonly out: Tensor;
}

export interface ForwardTrace {
  readonly spec: ModelSpec;
  readonly dtype: DType;
  /** The inputs as the evaluation saw them: cast to `dtype`. */
  readonly inputs: MlpInputs;
  readonly layers: readonly LayerTrace[];
  readonly logits: Tensor;
  readonly crossEntropy: CrossEntropyTrace;
  readonly loss: number;
}

export interface BackwardTrace {
  readonly dLogits: Tensor;
  /** Per layer: ∂L/∂h and ∂L/∂z. */
  readonly layers: readonly { readonly dOut: Tensor; readonly dPre: Tensor }[];
  /** ∂L/∂x and ∂L/∂(every parameter), by the same names as the inputs. */
  readonly grads: NamedTensors;
}

export class ShapeError extends Error {
  override name = 'ShapeError';
}

function requireShape(what: string, t: Tensor | undefined, shape: readonly number[]): Tensor {
  if (t === undefined) throw new ShapeError(`${what} is missing (expected shape [${shape.join(', ')}])`);
  if (!sameShape(t.shape, shape)) {
    throw new ShapeError(`${what} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
  }
  return t;
}

/** Throws a ShapeError naming the tensor when inputs do not fit the model spec. */
export function checkInputs(spec: ModelSpec, inputs: MlpInputs): void {
  const batch = inputs.x.shape[0] ?? 0;
  requireShape('x', inputs.x, [batch, spec.inputSize]);
  const shapes = parameterShapes(spec);
  for (const [name, shape] of shapes) requireShape(`parameter ${name}`, inputs.params[name], shape);
  for (const name of Object.keys(inputs.params)) {
    if (!shapes.has(name)) throw new ShapeError(`parameter ${name} is not part of this model (it has ${[...shapes.keys()].join(', ')})`);
  }
  const classes = numClasses(spec);
  if (inputs.target.kind !== spec.loss.target) {
    throw new ShapeError(`target holds ${inputs.target.kind}, the loss expects ${spec.loss.target}`);
  }
  if (inputs.target.kind === 'probabilities') {
    requireShape('target', inputs.target.probs, [batch, classes]);
  } else {
    if (inputs.target.indices.length !== batch) throw new ShapeError(`target has ${inputs.target.indices.length} class indices for a batch of ${batch}`);
    const bad = inputs.target.indices.findIndex((c) => !(c >= 0 && c < classes));
    if (bad >= 0) throw new ShapeError(`target[${bad}] = ${inputs.target.indices[bad]} is not a class index in [0, ${classes})`);
  }
}

function castInputs(inputs: MlpInputs, dtype: DType): MlpInputs {
  const params = Object.fromEntries(Object.entries(inputs.params).map(([name, t]) => [name, cast(t, dtype)]));
  const target: Target =
    inputs.target.kind === 'probabilities' ? { kind: 'probabilities', probs: cast(inputs.target.probs, dtype) } : inputs.target;
  return { x: cast(inputs.x, dtype), target, params };
}

/** Forward pass in `dtype`; inputs are first rounded to it (exact when they are already). */
export function forward(spec: ModelSpec, rawInputs: MlpInputs, dtype: DType): ForwardTrace {
  checkInputs(spec, rawInputs);
  const inputs = castInputs(rawInputs, dtype);
  const names = layerNames(spec);
  const layers: LayerTrace[] = [];
  let a = inputs.x;
  spec.layers.forEach((layer, i) => {
    const { weight, bias } = names[i]!;
    const pre = linearForward(a, inputs.params[weight]!, bias === null ? null : inputs.params[bias]!, dtype);
    const out = layer.activation === 'relu' ? reluForward(pre) : pre;
    layers.push({ input: a, pre, out });
    a = out;
  });
  const crossEntropy = crossEntropyForward(a, inputs.target, spec.loss, dtype);
  return { spec, dtype, inputs, layers, logits: a, crossEntropy, loss: crossEntropy.loss.data[0]! };
}

/** Analytic backward pass: walks the layers of `fwd` in reverse, in the same precision. */
export function backward(fwd: ForwardTrace): BackwardTrace {
  const { spec, dtype, inputs } = fwd;
  const names = layerNames(spec);
  const dLogits = crossEntropyBackward(fwd.crossEntropy, inputs.target, spec.loss, dtype);
  const layerGrads: { dOut: Tensor; dPre: Tensor }[] = [];
  const paramGrads: NamedTensors = {};
  let dOut = dLogits;
  for (let i = spec.layers.length - 1; i >= 0; i--) {
    const layer = fwd.layers[i]!;
    const { weight, bias } = names[i]!;
    const dPre = spec.layers[i]!.activation === 'relu' ? reluBackward(dOut, layer.pre) : dOut;
    const grads = linearBackward(dPre, layer.input, inputs.params[weight]!, bias !== null, dtype);
    layerGrads[i] = { dOut, dPre };
    paramGrads[weight] = grads.weight;
    if (bias !== null && grads.bias !== null) paramGrads[bias] = grads.bias;
    dOut = grads.input;
  }
  // Name order follows state_dict order, with x first, whatever order the walk produced them in.
  const grads: NamedTensors = { x: dOut };
  for (const name of parameterShapes(spec).keys()) grads[name] = paramGrads[name]!;
  return { dLogits, layers: layerGrads, grads };
}

/** Loss and every gradient, the pair most callers want. */
export function lossAndGrads(spec: ModelSpec, inputs: MlpInputs, dtype: DType): { loss: number; logits: Tensor; grads: NamedTensors } {
  const fwd = forward(spec, inputs, dtype);
  return { loss: fwd.loss, logits: fwd.logits, grads: backward(fwd).grads };
}
