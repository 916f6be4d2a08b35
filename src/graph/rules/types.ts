import type { DType } from '../../tensor/dtype.ts';
import type { Roundoffs, Sides } from '../../tolerance/roundoff.ts';
import type { Attribute, GraphNode } from '../onnxFile.ts';
import type { GValue } from '../values.ts';

/** What a rule sees of the node it applies to. */
export interface NodeContext {
  readonly node: GraphNode;
  /** The rounding budget of the comparison being bounded, and its sides' precisions. */
  readonly r: Roundoffs;
  readonly sides: Sides;
  /** The precision the graph computes in (its float tensors' type). */
  readonly dtype: DType;
  /** An attribute, or `fallback` when the node has none (ONNX's default); without a fallback, a missing one is an error. */
  attr<T extends Attribute>(name: string, fallback?: T): T;
  /** An attribute, or undefined when the node has none. */
  optionalAttr(name: string): Attribute | undefined;
  /** Throws an InputError naming the file, the node and its op. */
  fail(message: string): never;
}

/**
 * An ONNX op's rule: its float64 value and, from its inputs' bounds, the bound of its outputs
 * (docs/tolerance-policy.md, section `policy`). One record per op, in GRAPH_OPS.
 */
export interface GraphOpRule {
  readonly op: string;
  /** The section of docs/tolerance-policy.md whose formula the rule applies. */
  readonly policy: string;
  apply(inputs: readonly (GValue | undefined)[], ctx: NodeContext): GValue[];
}

/** Input `k`, which the op requires. */
export function required(inputs: readonly (GValue | undefined)[], k: number, ctx: NodeContext): GValue {
  const v = inputs[k];
  if (v === undefined) ctx.fail(`input ${k} is required`);
  return v;
}
