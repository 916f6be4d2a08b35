import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { onnx as OnnxTypes } from 'onnx-proto';
import { InputError } from '../errors.ts';

// An ONNX model as the bound engine reads it: nodes in topological order, their attributes as
// plain values, every tensor as float64 numbers with its element kind. Decoding is onnx-proto's
// (the ONNX protobuf schema compiled by protobufjs); nothing here parses bytes by hand.

const require = createRequire(import.meta.url);
const { onnx } = require('onnx-proto') as { onnx: typeof OnnxTypes };

/** What a tensor's elements are: floating point (either precision), integers, or booleans. */
export type ElementKind = 'float' | 'int' | 'bool';

/** A constant tensor of the graph, its elements as float64 numbers. */
export interface GraphTensor {
  readonly kind: ElementKind;
  /** The ONNX element type's name: float, double, int64, bool, … */
  readonly type: string;
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

export type Attribute = number | string | readonly number[] | GraphTensor;

export interface GraphNode {
  readonly name: string;
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: ReadonlyMap<string, Attribute>;
}

export interface Graph {
  readonly file: string;
  readonly opset: number;
  readonly inputs: readonly { readonly name: string; readonly type: string }[];
  readonly outputs: readonly string[];
  readonly initializers: ReadonlyMap<string, GraphTensor>;
  readonly nodes: readonly GraphNode[];
}

// onnx.TensorProto.DataType: the element types the graphs use.
const ELEMENT_TYPES: Readonly<Record<number, { type: string; kind: ElementKind; bytes: number; read: (view: DataView, at: number) => number }>> = {
  1: { type: 'float', kind: 'float', bytes: 4, read: (v, at) => v.getFloat32(at, true) },
  11: { type: 'double', kind: 'float', bytes: 8, read: (v, at) => v.getFloat64(at, true) },
  6: { type: 'int32', kind: 'int', bytes: 4, read: (v, at) => v.getInt32(at, true) },
  7: { type: 'int64', kind: 'int', bytes: 8, read: (v, at) => Number(v.getBigInt64(at, true)) },
  9: { type: 'bool', kind: 'bool', bytes: 1, read: (v, at) => v.getUint8(at) },
};

/** A protobuf int64 (a number, or a Long object) as a number. */
const int = (v: unknown): number => (typeof v === 'number' ? v : Number(String(v)));

function decodeTensor(t: OnnxTypes.ITensorProto, where: string): GraphTensor {
  const element = ELEMENT_TYPES[t.dataType ?? 0];
  if (element === undefined) throw new InputError(where, null, `element type ${t.dataType} is not one the bound engine reads (float, double, int32, int64, bool)`);
  const shape = (t.dims ?? []).map(int);
  const n = shape.reduce((a, b) => a * b, 1);
  let data: Float64Array;
  if (t.rawData && t.rawData.length > 0) {
    if (t.rawData.length !== n * element.bytes) throw new InputError(where, null, `raw_data holds ${t.rawData.length} bytes, the shape [${shape.join(', ')}] needs ${n * element.bytes}`);
    const view = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
    data = Float64Array.from({ length: n }, (_, i) => element.read(view, i * element.bytes));
  } else {
    const typed: readonly unknown[] = (t.floatData?.length ? t.floatData : t.doubleData?.length ? t.doubleData : t.int64Data?.length ? t.int64Data : t.int32Data) ?? [];
    if (typed.length !== n) throw new InputError(where, null, `holds ${typed.length} values, the shape [${shape.join(', ')}] needs ${n}`);
    data = Float64Array.from(typed, int);
  }
  return { kind: element.kind, type: element.type, shape, data };
}

function decodeAttribute(a: OnnxTypes.IAttributeProto, where: string): Attribute {
  switch (a.type) {
    case onnx.AttributeProto.AttributeType.FLOAT: return a.f ?? 0;
    case onnx.AttributeProto.AttributeType.INT: return int(a.i ?? 0);
    case onnx.AttributeProto.AttributeType.STRING: return new TextDecoder().decode(a.s ?? new Uint8Array());
    case onnx.AttributeProto.AttributeType.TENSOR: return decodeTensor(a.t ?? {}, `${where}.${a.name}`);
    case onnx.AttributeProto.AttributeType.FLOATS: return (a.floats ?? []).map(Number);
    case onnx.AttributeProto.AttributeType.INTS: return (a.ints ?? []).map(int);
    default: throw new InputError(where, null, `attribute ${a.name} has type ${a.type}, which the bound engine does not read`);
  }
}

/** Reads an ONNX model file; a missing, unreadable or malformed one is an InputError naming the file. */
export function loadOnnxGraph(file: string): Graph {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new InputError(file, null, `cannot read the ONNX file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let model: OnnxTypes.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new InputError(file, null, `not an ONNX model (${(err as Error).message})`);
  }
  const graph = model.graph;
  if (!graph || !graph.node || graph.node.length === 0) throw new InputError(file, null, `graph: the model has no nodes`);
  const opset = int(model.opsetImport?.find((o) => !o.domain)?.version ?? 0);
  const nodes = graph.node.map((n, k): GraphNode => {
    const name = n.name || `node ${k}`;
    const where = `${file}: graph.node[${k}] (${n.opType} ${name})`;
    return { name, op: n.opType ?? '', inputs: n.input ?? [], outputs: n.output ?? [], attributes: new Map((n.attribute ?? []).map((a) => [a.name ?? '', decodeAttribute(a, where)])) };
  });
  const initializers = new Map((graph.initializer ?? []).map((t, k) => [t.name ?? '', decodeTensor(t, `${file}: graph.initializer[${k}] (${t.name})`)]));
  const typeOf = (v: OnnxTypes.IValueInfoProto) => ELEMENT_TYPES[v.type?.tensorType?.elemType ?? 0]?.type ?? 'unknown';
  return {
    file,
    opset,
    inputs: (graph.input ?? []).filter((v) => !initializers.has(v.name ?? '')).map((v) => ({ name: v.name ?? '', type: typeOf(v) })),
    outputs: (graph.output ?? []).map((v) => v.name ?? ''),
    initializers,
    nodes,
  };
}
