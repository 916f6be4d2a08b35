import { z } from 'zod';
import { bceWithLogits } from './bceWithLogits.ts';
import { crossEntropy } from './crossEntropy.ts';
import { elu } from './elu.ts';
import { gelu } from './gelu.ts';
import { hardtanh, relu6 } from './hardtanh.ts';
import { l1Loss } from './l1Loss.ts';
import { leakyRelu } from './leakyRelu.ts';
import { linear } from './linear.ts';
import { logSoftmax } from './logSoftmax.ts';
import { mseLoss } from './mseLoss.ts';
import { nllLoss } from './nllLoss.ts';
import { relu } from './relu.ts';
import { sigmoid } from './sigmoid.ts';
import { silu } from './silu.ts';
import { softplus } from './softplus.ts';
import { tanh } from './tanh.ts';
import type { LossOp, ModuleOp } from './types.ts';

// The one list of ops: a new op is its own file and one line here (and one entry, under the same
// name, in the Python generator's table).

// Each record is typed by its own spec; the walkers only ever hand a spec back to its own record.
type AnyModuleOp = ModuleOp<any>;
type AnyLossOp = LossOp<any, any>;

export const MODULE_OPS = [linear, relu, tanh, sigmoid, gelu, leakyRelu, silu, softplus, elu, hardtanh, relu6, logSoftmax] as const;
export const LOSS_OPS = [crossEntropy, nllLoss, mseLoss, l1Loss, bceWithLogits] as const;

type SpecOf<T> = T extends ModuleOp<infer S> ? S : T extends LossOp<infer S, infer _> ? S : never;

/** A module of the Sequential, as a case spec and a golden describe it: `{ op, …its fields }`. */
export type ModuleSpec = SpecOf<(typeof MODULE_OPS)[number]>;
/** The loss at the end of the Sequential: `{ op, …its fields }`. */
export type LossSpec = SpecOf<(typeof LOSS_OPS)[number]>;

// zod wants its union members as object schemas with a literal `op`; every record's schema is one.
type Members = [z.ZodObject, ...z.ZodObject[]];
export const ModuleSpec = z.discriminatedUnion('op', MODULE_OPS.map((op) => op.schema) as unknown as Members) as unknown as z.ZodType<ModuleSpec>;
export const LossSpec = z.discriminatedUnion('op', LOSS_OPS.map((op) => op.schema) as unknown as Members) as unknown as z.ZodType<LossSpec>;

const modulesByName = new Map<string, AnyModuleOp>(MODULE_OPS.map((op) => [op.name, op]));
const lossesByName = new Map<string, AnyLossOp>(LOSS_OPS.map((op) => [op.name, op]));

/** The record of a module spec's op. */
export function moduleOp(spec: { readonly op: string }): AnyModuleOp {
  const op = modulesByName.get(spec.op);
  if (op === undefined) throw new RangeError(`no module op named ${JSON.stringify(spec.op)} (known: ${[...modulesByName.keys()].join(', ')})`);
  return op;
}

/** The record of a loss spec's op. */
export function lossOp(spec: { readonly op: string }): AnyLossOp {
  const op = lossesByName.get(spec.op);
  if (op === undefined) throw new RangeError(`no loss named ${JSON.stringify(spec.op)} (known: ${[...lossesByName.keys()].join(', ')})`);
  return op;
}
