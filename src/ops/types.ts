import type { z } from 'zod';
import type { DType } from '../tensor/dtype.ts';
import type { NamedTensors, Tensor } from '../tensor/tensor.ts';
import type { ErrorBound } from '../tolerance/errorBound.ts';
import type { Roundoffs } from '../tolerance/roundoff.ts';

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
   * For an op with branch points (ReLU's kink at 0): a fingerprint of the piece each element of
   * the input is on. Equal fingerprints, same smooth piece; finite differences watch it to tell a
   * kink from a slope. Absent for smooth ops.
   */
  branches?(spec: S, input: Tensor): string;
}

/** A target as a loss takes it: class indices [B], or a float tensor (probabilities [B, C]). */
export type Target =
  | { readonly kind: 'class_indices'; readonly indices: Int32Array }
  | { readonly kind: 'probabilities'; readonly probs: Tensor };

/** What a target of a loss spec must look like: its kind, element type and shape. */
export interface TargetLayout {
  readonly kind: Target['kind'];
  readonly dtype: 'int64' | 'float';
  readonly shape: readonly number[];
}

/** Bound propagation through a loss: the logits' bound in, the loss's and ∂L/∂logits' out. */
export interface LossBoundContext<S, Saved> {
  readonly spec: S;
  readonly logits: Tensor;
  readonly logitsBound: ErrorBound;
  readonly saved: Saved;
  /** The loss as the TS run computed it. */
  readonly value: number;
  /** The target as the evaluation saw it (rounded to its precision). */
  readonly target: Target;
  /** How far apart the two sides' targets are. */
  readonly targetBound: ErrorBound | null;
  readonly r: Roundoffs;
}

/** The loss at the end of the Sequential: it owns its target kinds. */
export interface LossOp<S extends { readonly op: string }, Saved> {
  readonly name: S['op'];
  readonly schema: z.ZodType<S>;
  readonly torch: TorchIdentity;
  /** `cross_entropy(probabilities, reduction=sum)`. */
  describe(spec: S): string;
  /** The target this spec takes for a batch of B rows of C logits. */
  targetLayout(spec: S, batch: number, classes: number): TargetLayout;
  /** The scalar loss, and whatever the backward pass and the bound need from the forward. */
  forward(spec: S, logits: Tensor, target: Target, dtype: DType): { value: number; saved: Saved };
  backward(spec: S, logits: Tensor, target: Target, saved: Saved, dtype: DType): Tensor;
  bound(ctx: LossBoundContext<S, Saved>): { loss: ErrorBound; dLogits: ErrorBound };
}
