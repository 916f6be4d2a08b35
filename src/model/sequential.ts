import { lossOp, moduleOp, type ModuleSpec } from '../ops/registry.ts';
import { floatTarget, withFloatTarget } from '../ops/types.ts';
import type { Target } from '../ops/types.ts';
import { gradKey, LOGITS_KEY, LOSS_KEY, outKey, type Results, type TensorKey } from '../results/keys.ts';
import { rounderFor, type DType } from '../tensor/dtype.ts';
import { cast, sameShape, type NamedTensors, type Tensor } from '../tensor/tensor.ts';
import { lossShape, numClasses, parameterShapes, widths, type ModelSpec } from './spec.ts';

// The TS reference model: a torch.nn.Sequential walked module by module, every module's forward
// and backward taken from its op record. Nothing here names an op.

/**
 * What a golden's `inputs` hold, and what an implementation needs to run a case: the batch `x`
 * [B, inputSize], the target (class indices, probabilities or values, see Target), every
 * parameter by its torch.nn.Sequential state_dict name, in PyTorch's [out, in] layout, and for a
 * loss with `reduction: 'none'` the upstream gradient. Tensors are in the golden's precision
 * (`golden.dtype`).
 */
export interface ModelInputs {
  readonly x: Tensor;
  readonly target: Target;
  /** Parameters by state_dict name: `0.weight` [out, in], `0.bias` [out], … */
  readonly params: NamedTensors;
  /**
   * Unreduced losses only: ∂(objective)/∂loss, shaped like the loss, what `loss.backward(lossGrad)`
   * starts from in PyTorch. The gradients are those of the objective Σ lossGrad·loss.
   */
  readonly lossGrad?: Tensor;
}

/** One module's forward values: what went in and what came out. */
export interface ModuleTrace {
  readonly input: Tensor;
  readonly out: Tensor;
}

export interface ForwardTrace {
  readonly spec: ModelSpec;
  readonly dtype: DType;
  /** The inputs as the evaluation saw them: cast to `dtype`. */
  readonly inputs: ModelInputs;
  readonly modules: readonly ModuleTrace[];
  readonly logits: Tensor;
  /** The loss, a scalar or (`reduction: 'none'`) one value per row or element. */
  readonly loss: Tensor;
  /** What the backward pass differentiates: the loss itself when it is a scalar, else Σ lossGrad·loss. */
  readonly objective: number;
  /** What the loss's record kept from the forward for the backward and the bound. */
  readonly lossSaved: unknown;
}

export interface BackwardTrace {
  readonly dLogits: Tensor;
  /** Per module: ∂L/∂out. */
  readonly modules: readonly { readonly dOut: Tensor }[];
  /** ∂L/∂x and ∂L/∂(every parameter), by the same names as the inputs, in state_dict order. */
  readonly grads: NamedTensors;
}

export class ShapeError extends Error {
  override name = 'ShapeError';
}

function requireShape(what: string, t: Tensor | undefined, shape: readonly number[]): Tensor {
  if (t === undefined) throw new ShapeError(`${what} is missing (expected shape [${shape.join(', ')}])`);
  if (!sameShape(t.shape, shape)) throw new ShapeError(`${what} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
  return t;
}

/** Throws a ShapeError naming the tensor when inputs do not fit the model spec. */
export function checkInputs(spec: ModelSpec, inputs: ModelInputs): void {
  const batch = inputs.x.shape[0] ?? 0;
  requireShape('x', inputs.x, [batch, spec.inputSize]);
  const shapes = parameterShapes(spec);
  for (const [name, shape] of shapes) requireShape(`parameter ${name}`, inputs.params[name], shape);
  for (const name of Object.keys(inputs.params)) {
    if (!shapes.has(name)) throw new ShapeError(`parameter ${name} is not part of this model (it has ${[...shapes.keys()].join(', ')})`);
  }
  const classes = numClasses(spec);
  const problem = lossOp(spec.loss).checkSpec?.(spec.loss, classes);
  if (problem) throw new ShapeError(`loss ${problem.field} ${problem.message}`);
  const layout = lossOp(spec.loss).targetLayout(spec.loss, batch, classes);
  if (inputs.target.kind !== layout.kind) throw new ShapeError(`target holds ${inputs.target.kind}, the loss expects ${layout.kind}`);
  const float = floatTarget(inputs.target);
  if (float !== null) {
    requireShape('target', float, layout.shape);
  } else if (inputs.target.kind === 'class_indices') {
    const { indices } = inputs.target;
    if (indices.length !== batch) throw new ShapeError(`target has ${indices.length} class indices for a batch of ${batch}`);
    const bad = indices.findIndex((c) => !(c >= 0 && c < classes) && c !== layout.ignoreIndex);
    if (bad >= 0) throw new ShapeError(`target[${bad}] = ${indices[bad]} is not a class index in [0, ${classes})${layout.ignoreIndex === undefined ? '' : ` nor the ignore_index ${layout.ignoreIndex}`}`);
  }
  const shape = lossShape(spec, batch);
  if (shape.length === 0) {
    if (inputs.lossGrad !== undefined) throw new ShapeError(`lossGrad is given, but the loss is a scalar (reduction ${JSON.stringify(spec.loss.reduction)}); it starts the backward pass itself`);
  } else {
    requireShape('lossGrad (the upstream gradient of an unreduced loss)', inputs.lossGrad, shape);
  }
}

/** The inputs checked against `spec` and rounded to `dtype` (copies), ready for forwardOfCast. */
export function castForward(spec: ModelSpec, inputs: ModelInputs, dtype: DType): ModelInputs {
  checkInputs(spec, inputs);
  return castInputs(inputs, dtype);
}

function castInputs(inputs: ModelInputs, dtype: DType): ModelInputs {
  const params = Object.fromEntries(Object.entries(inputs.params).map(([name, t]) => [name, cast(t, dtype)]));
  const float = floatTarget(inputs.target);
  const target: Target = float === null ? inputs.target : withFloatTarget(inputs.target, cast(float, dtype));
  return { x: cast(inputs.x, dtype), target, params, ...(inputs.lossGrad === undefined ? {} : { lossGrad: cast(inputs.lossGrad, dtype) }) };
}

/** Σ lossGrad·loss in `dtype` (each product and sum rounded), or the loss itself when it is a scalar. */
export function objectiveOf(loss: Tensor, lossGrad: Tensor | undefined, dtype: DType): number {
  if (lossGrad === undefined) return loss.data[0]!;
  const round = rounderFor(dtype);
  let sum = 0;
  for (let i = 0; i < loss.data.length; i++) sum = round(sum + round(lossGrad.data[i]! * loss.data[i]!));
  return sum;
}

/** Module i's entries by parameter suffix: `weight` for `<i>.weight`. */
export function moduleParams<T>(byName: Readonly<Record<string, T>>, i: number): Record<string, T> {
  const prefix = `${i}.`;
  return Object.fromEntries(Object.entries(byName).filter(([name]) => name.startsWith(prefix)).map(([name, t]) => [name.slice(prefix.length), t]));
}

/** Forward pass in `dtype`; inputs are first rounded to it (exact when they are already). */
export function forward(spec: ModelSpec, rawInputs: ModelInputs, dtype: DType): ForwardTrace {
  checkInputs(spec, rawInputs);
  return forwardOfCast(spec, castInputs(rawInputs, dtype), dtype);
}

/**
 * forward on inputs already checked against `spec` and held in `dtype`, used as they are (not
 * copied): what finite differences evaluate thousands of times (castForward makes such inputs).
 */
export function forwardOfCast(spec: ModelSpec, inputs: ModelInputs, dtype: DType): ForwardTrace {
  const modules: ModuleTrace[] = [];
  let h = inputs.x;
  spec.modules.forEach((m, i) => {
    const out = moduleOp(m).forward(m, h, moduleParams(inputs.params, i), dtype);
    modules.push({ input: h, out });
    h = out;
  });
  const { loss, saved } = lossOp(spec.loss).forward(spec.loss, h, inputs.target, dtype);
  return { spec, dtype, inputs, modules, logits: h, loss, objective: objectiveOf(loss, inputs.lossGrad, dtype), lossSaved: saved };
}

/** Analytic backward pass: walks the modules of `fwd` in reverse, in the same precision. */
export function backward(fwd: ForwardTrace): BackwardTrace {
  const { spec, dtype, inputs } = fwd;
  const dLogits = lossOp(spec.loss).backward(spec.loss, fwd.logits, inputs.target, fwd.lossSaved, inputs.lossGrad ?? null, dtype);
  const modules: { dOut: Tensor }[] = [];
  const paramGrads: NamedTensors = {};
  let dOut = dLogits;
  for (let i = spec.modules.length - 1; i >= 0; i--) {
    const m = spec.modules[i]!;
    const { input, out } = fwd.modules[i]!;
    const grads = moduleOp(m).backward(m, dOut, input, out, moduleParams(inputs.params, i), dtype);
    modules[i] = { dOut };
    for (const [suffix, g] of Object.entries(grads.dParams)) paramGrads[`${i}.${suffix}`] = g;
    dOut = grads.dInput;
  }
  // Name order follows state_dict order, with x first, whatever order the walk produced them in.
  const grads: NamedTensors = { x: dOut };
  for (const name of parameterShapes(spec).keys()) grads[name] = paramGrads[name]!;
  return { dLogits, modules, grads };
}

/** Every key a run of `spec` produces, in order: loss, logits, each module's output, each gradient. */
export function resultKeys(spec: ModelSpec): TensorKey[] {
  return [LOSS_KEY, LOGITS_KEY, ...spec.modules.map((_, i) => outKey(i)), gradKey('x'), ...[...parameterShapes(spec).keys()].map(gradKey)];
}

/** The shape of every key's tensor for a batch of `batch` rows. */
export function resultShapes(spec: ModelSpec, batch: number): Map<TensorKey, readonly number[]> {
  const w = widths(spec);
  const shapes = new Map<TensorKey, readonly number[]>([[LOSS_KEY, lossShape(spec, batch)], [LOGITS_KEY, [batch, w.at(-1)!]]]);
  spec.modules.forEach((_, i) => shapes.set(outKey(i), [batch, w[i + 1]!]));
  shapes.set(gradKey('x'), [batch, spec.inputSize]);
  for (const [name, shape] of parameterShapes(spec)) shapes.set(gradKey(name), shape);
  return shapes;
}

/** A forward and backward pass as Results: the same keys every oracle produces. */
export function resultsOf(fwd: ForwardTrace, bwd: BackwardTrace): Results {
  const results = new Map<TensorKey, Tensor>([[LOSS_KEY, fwd.loss], [LOGITS_KEY, fwd.logits]]);
  fwd.modules.forEach((m, i) => results.set(outKey(i), m.out));
  for (const [name, t] of Object.entries(bwd.grads)) results.set(gradKey(name), t);
  return results;
}

/** The TypeScript model's run in one precision: its results, and the traces the bounds need. */
export interface ModelRun {
  readonly dtype: DType;
  readonly fwd: ForwardTrace;
  readonly bwd: BackwardTrace;
  readonly results: Results;
}

/** The reference model's forward and backward pass in `dtype`, with every result by its key. */
export function runModel(spec: ModelSpec, inputs: ModelInputs, dtype: DType): ModelRun {
  const fwd = forward(spec, inputs, dtype);
  const bwd = backward(fwd);
  return { dtype, fwd, bwd, results: resultsOf(fwd, bwd) };
}

/** Loss (a tensor: shape [] unless the reduction is `none`), logits and every gradient: the triple most callers want. */
export function lossAndGrads(spec: ModelSpec, inputs: ModelInputs, dtype: DType): { loss: Tensor; logits: Tensor; grads: NamedTensors } {
  const fwd = forward(spec, inputs, dtype);
  return { loss: fwd.loss, logits: fwd.logits, grads: backward(fwd).grads };
}

/** The piece (ModuleOp.piece) of every element of a module's input, one character each; '' for a smooth op. */
function pieces(spec: ModuleSpec, input: Tensor): string {
  const { piece } = moduleOp(spec);
  if (piece === undefined) return '';
  // latin1 maps each byte to its own character, so no two patterns share a string.
  const bytes = Buffer.alloc(input.data.length);
  for (let i = 0; i < bytes.length; i++) bytes[i] = piece(spec, input.data[i]!);
  return bytes.toString('latin1');
}

/**
 * A fingerprint of the smooth piece the model is on at these inputs: every branching module's
 * fingerprint of its input, and the loss's of the logits (L1's kink). Equal strings, same piece;
 * finite differences watch it for kinks.
 */
export function branchFingerprint(fwd: ForwardTrace): string {
  const modules = fwd.spec.modules.map((m, i) => pieces(m, fwd.modules[i]!.input));
  const loss = lossOp(fwd.spec.loss).branches?.(fwd.spec.loss, fwd.logits, fwd.inputs.target) ?? '';
  return [...modules, loss].join('|');
}
