import type { ArithmeticModel } from '../tolerance/arithmetic.ts';
import { InputError } from '../errors.ts';
import type { DType } from '../tensor/dtype.ts';
import { Roundoffs, type Sides } from '../tolerance/roundoff.ts';
import type { Attribute, Graph, GraphNode } from './onnxFile.ts';
import { GRAPH_OPS } from './rules/registry.ts';
import type { NodeContext } from './rules/types.ts';
import { exactValue, type GValue } from './values.ts';

// Note [Bounds from the graph]
// The bound engine walks an ONNX graph node by node, in its topological order, and applies each
// op's rule (src/graph/rules/): the float64 value of every output, and a first-order bound of how
// far two implementations of the same graph, each rounding in its own precision (`sides`), can
// hold it apart, by part (arithmetic, elementary, inputRounding, branch). It starts from the
// inputs' own differences (zero when both sides read the same stored numbers). Nothing here knows
// a model: an MLP, an attention block and a CNN are all just graphs. An op without a rule stops
// the walk with an error naming it.

/** Propagates values and bounds through the graph; returns every named value, inputs included. */
export function propagate(graph: Graph, inputs: ReadonlyMap<string, GValue>, sides: Sides, dtype: DType, models?: readonly ArithmeticModel[]): Map<string, GValue> {
  const r = new Roundoffs(sides, models);
  const env = new Map<string, GValue>();
  for (const [name, t] of graph.initializers) env.set(name, exactValue(t.kind, t.shape, t.data));
  for (const { name } of graph.inputs) {
    const given = inputs.get(name);
    if (given === undefined) throw new InputError(graph.file, null, `graph input ${name} was not given a value (given: ${[...inputs.keys()].join(', ')})`);
    env.set(name, given);
  }
  graph.nodes.forEach((node, k) => {
    const ctx: NodeContext = nodeContext(graph, node, k, r, sides, dtype);
    const rule = GRAPH_OPS.get(node.op);
    if (rule === undefined) return ctx.fail(`no bound rule for the ONNX op ${node.op}; add one to src/graph/rules/ (known: ${[...GRAPH_OPS.keys()].sort().join(', ')})`);
    const args = node.inputs.map((name) => {
      if (name === '') return undefined;
      const v = env.get(name);
      if (v === undefined) ctx.fail(`reads ${name}, which no earlier node or input defines`);
      return v;
    });
    const outs = rule.apply(args, ctx);
    node.outputs.forEach((name, j) => {
      if (name === '') return;
      const v = outs[j];
      if (v === undefined) ctx.fail(`output ${j} (${name}) has no value from its rule`);
      env.set(name, v);
    });
  });
  return env;
}

function nodeContext(graph: Graph, node: GraphNode, k: number, r: Roundoffs, sides: Sides, dtype: DType): NodeContext {
  const fail = (message: string): never => {
    throw new InputError(graph.file, null, `graph.node[${k}] (${node.op} ${node.name}): ${message}`);
  };
  return {
    node,
    r,
    sides,
    dtype,
    fail,
    optionalAttr: (name) => node.attributes.get(name),
    attr<T extends Attribute>(name: string, fallback?: T): T {
      const v = node.attributes.get(name);
      if (v !== undefined) return v as T;
      if (fallback !== undefined) return fallback;
      return fail(`has no attribute ${name}`);
    },
  };
}
