import type { z } from 'zod';
import type { DType, FloatArray } from '../tensor/dtype.ts';
import type { NamedTensors, Tensor } from '../tensor/tensor.ts';
import type { ErrorBound } from '../tolerance/errorBound.ts';
import type { Roundoffs } from '../tolerance/roundoff.ts';
import type { Arith } from './scalar.ts';

// Note [Op records]
// Everything gradparity knows about an op lives in one record, in one file: its spec fields (a
// zod schema, which is also the case files' JSON Schema), its PyTorch identity, its parameters
// and their state_dict suffixes, its forward and analytic backward in a given precision, the
// propagation of error bounds through both, and its branch points. The Sequential walkers in
// src/model/ dispatch through the registry and never name an op; the Python generator builds the
// same module from its own table under the same name.

/** Who the op is in PyTorch: the module class and the functional form. */
export interface TorchIdentity {
  readonly module: string;
  readonly functional: string;
}

/** A parameter a module owns: its state_dict suffix (`weight`, `bias`) and shape. */
export interface ParameterShape {
  readonly suffix: string;
  readonly shape: readonly number[];
}

/** A module's parameters by suffix (`weight`, `bias`). */
export type ModuleParams = Readonly<Record<string, Tensor>>;

/**
 * What bound propagation knows around one module: the TS run's values (they stand in for the
 * magnitudes), the bounds of what flows in, and the comparison's rounding budget.
 */
export interface ModuleBoundContext<S> {
  readonly spec: S;
  readonly input: Tensor;
  readonly inputBound: ErrorBound;
  readonly out: Tensor;
  readonly params: ModuleParams;
  /** How far apart the two sides' parameters are (they may have been rounded differently). */
  readonly paramBounds: Readonly<Record<string, ErrorBound>>;
  readonly r: Roundoffs;
  /**
   * Each side's own value of this module's input, when known. An op with branches decides from
   * them exactly where the two sides may have taken different branches.
   */
  readonly inputOnSides: readonly [Tensor | undefined, Tensor | undefined];
}

/** The same, going back: plus ∂L/∂out as the TS run computed it, and its bound. */
export interface ModuleBackwardBoundContext<S> extends ModuleBoundContext<S> {
  readonly dOut: Tensor;
  readonly dOutBound: ErrorBound;
}

/** A module of a torch.nn.Sequential: one op, with or without parameters. */
export interface ModuleOp<S extends { readonly op: string }> {
  /** The name cases, goldens and the Python op table use: the `op` of its spec. */
  readonly name: S['op'];
  /** Its spec, `{ op: name, …fields }`. */
  readonly schema: z.ZodType<S>;
  readonly torch: TorchIdentity;
  /** `Linear(3, 4)`, `ReLU`: PyTorch's way of printing the module. */
  describe(spec: S, inFeatures: number): string;
  outFeatures(spec: S, inFeatures: number): number;
  parameters(spec: S, inFeatures: number): readonly ParameterShape[];
  /** The output, every operation rounded to `dtype`. */
  forward(spec: S, input: Tensor, params: ModuleParams, dtype: DType): Tensor;
  /** ∂L/∂input and ∂L/∂(each parameter, by suffix), given ∂L/∂out, in `dtype`. */
  backward(spec: S, dOut: Tensor, input: Tensor, out: Tensor, params: ModuleParams, dtype: DType): { dInput: Tensor; dParams: NamedTensors };
  /** A bound of |out on side A − out on side B|. */
  forwardBound(ctx: ModuleBoundContext<S>): ErrorBound;
  /** Bounds of the two sides' ∂L/∂input and ∂L/∂(each parameter) apart. */
  backwardBound(ctx: ModuleBackwardBoundContext<S>): { dInput: ErrorBound; dParams: Readonly<Record<string, ErrorBound>> };
  /**
   * For an elementwise op with branch points (ReLU's kink at 0): which smooth piece an input value
   * is on, numbered from 0 (for ReLU: 1 where x > 0, else 0). Equal numbers, same piece; finite
   * differences watch every element's to tell a kink from a slope. Absent for smooth ops.
   */
  piece?(spec: S, x: number): number;
  /**
   * For an op whose output column depends on one row of a parameter (Linear: weight[j, ·] and
   * bias[j] feed column j only): the column element `index` of parameter `suffix` feeds.
   * Finite differences then recompute just that column (Note [Re-evaluating only what a
   * perturbation changes]).
   */
  parameterColumn?(spec: S, suffix: string, index: number, inFeatures: number): number;
  /** Column `column` of forward's output, every value computed exactly as forward computes it. */
  forwardColumn?(spec: S, input: Tensor, params: ModuleParams, dtype: DType, column: number): FloatArray;
  /**
   * For an op whose outputs are sums over the input's columns in column order (Linear): the
   * partial sums before each column, kept once, let finite differences resume a row's sums at the
   * one input column that changed instead of starting over; the results are bit-identical.
   */
  readonly resume?: ResumableSums<S>;
  /** y[i] depends on x[i] alone (activations): a change confined to some elements stays there. */
  readonly elementwise?: true;
  /**
   * An elementwise op's formulas over Arith (Note [Elementwise ops as formulas]), which its
   * forward and backward run: the float32-semantics check re-runs them to count their roundings.
   */
  readonly formula?: ModuleFormula<S>;
}

/** Partial sums kept from one forward pass, to recompute rows whose input changed in one column. */
export interface ResumableSums<S> {
  /** prefix[(b·out + j)·n + c]: output (b, j)'s sum of its first c terms, exactly as forward accumulates it. */
  prefixes(spec: S, input: Tensor, params: ModuleParams, dtype: DType): FloatArray;
  /**
   * Output rows [rows.length, out] where input column `column` of row rows[r] now holds values[r]
   * (the rest of each row is `input`'s): forward's sums, resumed at that column from `prefix`.
   */
  rows(spec: S, prefix: FloatArray, input: Tensor, params: ModuleParams, dtype: DType, column: number, rows: readonly number[], values: FloatArray): FloatArray;
}

/** y = f(x) and ∂L/∂x from x, y and g = ∂L/∂y, as formulas over Arith. */
export interface ModuleFormula<S> {
  forward<T>(a: Arith<T>, x: T, spec: S): T;
  backward<T>(a: Arith<T>, x: T, y: T, g: T, spec: S): T;
}

/** ℓ = f(x, y) for the logit x of class c and its target y, and ∂(objective)/∂x, as formulas over Arith. */
export interface LossFormula<S> {
  forward<T>(a: Arith<T>, x: T, y: T, spec: S, c: number): T;
  backward<T>(a: Arith<T>, x: T, y: T, g: T, mean: number | null, spec: S, c: number): T;
}

/**
 * A target as a loss takes it: class indices [B] (CrossEntropyLoss, NLLLoss), probability rows
 * [B, C] (CrossEntropyLoss's soft targets, BCEWithLogitsLoss), or values [B, C] (MSELoss, L1Loss).
 */
export type Target =
  | { readonly kind: 'class_indices'; readonly indices: Int32Array }
  | { readonly kind: 'probabilities'; readonly probs: Tensor }
  | { readonly kind: 'values'; readonly values: Tensor };

/** The float tensor a target holds (probabilities or values), or null for class indices. */
export function floatTarget(target: Target): Tensor | null {
  if (target.kind === 'probabilities') return target.probs;
  if (target.kind === 'values') return target.values;
  return null;
}

/** The target as a tensor: its float tensor, or the class indices as numbers [B] (for diffs and displays). */
export function targetAsTensor(target: Target): { readonly shape: readonly number[]; readonly data: Float32Array | Float64Array } {
  if (target.kind === 'class_indices') return { shape: [target.indices.length], data: Float64Array.from(target.indices) };
  return floatTarget(target)!;
}

/** The same target with its float tensor replaced (cast, rounded, perturbed). */
export function withFloatTarget(target: Target, t: Tensor): Target {
  if (target.kind === 'probabilities') return { kind: 'probabilities', probs: t };
  if (target.kind === 'values') return { kind: 'values', values: t };
  return target;
}

/** What a target of a loss spec must look like: its kind, element type and shape. */
export interface TargetLayout {
  readonly kind: Target['kind'];
  readonly dtype: 'int64' | 'float';
  readonly shape: readonly number[];
  /** Class indices only: a value that marks a row to leave out (CrossEntropyLoss's `ignore_index`). */
  readonly ignoreIndex?: number;
}

/** Bound propagation through a loss: the logits' bound in, the loss's and ∂L/∂logits' out. */
export interface LossBoundContext<S, Saved> {
  readonly spec: S;
  readonly logits: Tensor;
  readonly logitsBound: ErrorBound;
  readonly saved: Saved;
  /** The loss as the TS run computed it (a scalar, or one value per row or element for `none`). */
  readonly value: Tensor;
  /** The target as the evaluation saw it (rounded to its precision). */
  readonly target: Target;
  /** How far apart the two sides' targets are (float targets only). */
  readonly targetBound: ErrorBound | null;
  /** For an unreduced loss: the upstream gradient ∂(objective)/∂loss, and how far apart the sides hold it. */
  readonly lossGrad: Tensor | null;
  readonly lossGradBound: ErrorBound | null;
  readonly r: Roundoffs;
}

/**
 * The loss at the end of the Sequential: it owns its target kinds and its reductions. A loss with
 * `reduction: 'none'` is a tensor; the backward pass then starts from a given upstream gradient
 * of the same shape (`lossGrad`), as `loss.backward(gradient)` does in PyTorch.
 */
export interface LossOp<S extends { readonly op: string }, Saved> {
  readonly name: S['op'];
  readonly schema: z.ZodType<S>;
  readonly torch: TorchIdentity;
  /** `cross_entropy(probabilities, reduction=sum)`. */
  describe(spec: S): string;
  /** The target this spec takes for a batch of B rows of C logits. */
  targetLayout(spec: S, batch: number, classes: number): TargetLayout;
  /** A problem with one of the spec's fields that only the model shows (`weight` of the wrong length), or null. */
  checkSpec?(spec: S, classes: number): { readonly field: string; readonly message: string } | null;
  /** The loss's shape: [] when reduced, else [B] (per row) or [B, C] (per element). */
  lossShape(spec: S, batch: number, classes: number): readonly number[];
  /** The loss, and whatever the backward pass and the bound need from the forward. */
  forward(spec: S, logits: Tensor, target: Target, dtype: DType): { loss: Tensor; saved: Saved };
  /** ∂(objective)/∂logits: the loss's own gradient when it is a scalar, else driven by `lossGrad`. */
  backward(spec: S, logits: Tensor, target: Target, saved: Saved, lossGrad: Tensor | null, dtype: DType): Tensor;
  bound(ctx: LossBoundContext<S, Saved>): { loss: ErrorBound; dLogits: ErrorBound };
  /** An elementwise loss's formulas (see ModuleOp.formula). */
  readonly formula?: LossFormula<S>;
  /** For a loss with kinks (L1 where x = y): a fingerprint of the smooth piece each logit is on (ModuleOp.piece, as a string). */
  branches?(spec: S, logits: Tensor, target: Target): string;
}
