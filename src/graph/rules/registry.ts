import { CONV_RULES } from './conv.ts';
import { ELEMENTWISE_RULES } from './elementwise.ts';
import { LOGIC_RULES } from './logic.ts';
import { REDUCE_RULES } from './reduce.ts';
import { SHAPE_RULES } from './shape.ts';
import type { GraphOpRule } from './types.ts';

/** Every ONNX op the bound engine has a rule for, by op type. An op missing here is an error, never a zero bound. */
export const GRAPH_OPS: ReadonlyMap<string, GraphOpRule> = new Map([...ELEMENTWISE_RULES, ...LOGIC_RULES, ...SHAPE_RULES, ...REDUCE_RULES, ...CONV_RULES].map((rule) => [rule.op, rule]));
