import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { InputError, type PathSegment } from '../errors.ts';
import type { DType } from '../tensor/dtype.ts';
import { tensor, type Tensor } from '../tensor/tensor.ts';
import { sha256Of } from './load.ts';

// A golden of your own model, written by `npm run capture` (python/capture.py): any PyTorch
// module, its inputs and parameters by name, everything torch computed in float32 and float64
// from the same inputs, and its training graph exported per precision. Unlike the MLP goldens it
// carries no model spec: the graph is the model, and the bounds come from it (src/graph/).

export const MODULE_GOLDEN_VERSION = 1;

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex SHA-256');
const TensorJson = z.strictObject({
  dtype: z.enum(['float32', 'float64', 'int64']),
  shape: z.array(z.number().int().nonnegative()),
  sha256: Sha256,
  data: z.array(z.number()),
});
const GraphJson = z.strictObject({
  file: z.string().regex(/^onnx\/[a-z0-9][a-z0-9-]*\.(float32|float64)\.onnx$/, 'onnx/<case>.<dtype>.onnx'),
  sha256: Sha256,
  opset: z.number().int(),
  inputs: z.array(z.string()).min(1),
  outputs: z.array(z.string()).min(1),
});
const ResultsJson = z.strictObject({ inputsRounded: z.boolean(), tensors: z.record(z.string(), TensorJson) });

export const ModuleGoldenJson = z.strictObject({
  schemaVersion: z.literal(MODULE_GOLDEN_VERSION),
  kind: z.literal('module'),
  case: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
  description: z.string(),
  inputs: z.record(z.string(), TensorJson),
  parameters: z.record(z.string(), TensorJson),
  expected: z.strictObject({ float32: ResultsJson, float64: ResultsJson }),
  onnx: z.strictObject({ float32: GraphJson, float64: GraphJson }),
  provenance: z.record(z.string(), z.unknown()),
});
export type ModuleGoldenJson = z.infer<typeof ModuleGoldenJson>;

/** An integer input (indices), kept apart from the float ones. */
export interface IndexTensor {
  readonly shape: readonly number[];
  readonly data: Int32Array;
}

export interface ModuleGolden {
  readonly file: string;
  readonly name: string;
  readonly description: string;
  /** Float inputs by name, in float64 (the float32 run rounded them). */
  readonly inputs: Readonly<Record<string, Tensor>>;
  readonly indexInputs: Readonly<Record<string, IndexTensor>>;
  /** Parameters by state_dict name, in float64. */
  readonly params: Readonly<Record<string, Tensor>>;
  /** torch's results by key (loss, output, out.<submodule>, grad.<name>), per precision. */
  readonly expected: Readonly<Record<DType, ReadonlyMap<string, Tensor>>>;
  /** Each precision's training graph: its path, hash and the names of its inputs and outputs. */
  readonly graphs: Readonly<Record<DType, { readonly path: string; readonly sha256: string; readonly inputs: readonly string[]; readonly outputs: readonly string[] }>>;
  readonly provenance: Readonly<Record<string, unknown>>;
}

/** Whether a parsed JSON document is a module golden (and not an MLP golden or something else). */
export const isModuleGoldenJson = (json: unknown): boolean => typeof json === 'object' && json !== null && (json as { kind?: unknown }).kind === 'module';

/** Whether a file holds a module golden (its `kind`); unreadable or invalid JSON is left to the loaders to report. */
export function isModuleGoldenFile(file: string): boolean {
  try {
    return isModuleGoldenJson(JSON.parse(readFileSync(file, 'utf8')));
  } catch {
    return false;
  }
}

/** Reads and checks a module golden: schema, digests, shapes, the file name; an InputError names the file and the JSON path. */
export function loadModuleGolden(file: string): ModuleGolden {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(file, null, `cannot read golden file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new InputError(file, null, `not valid JSON (${(err as Error).message})`);
  }
  const parsed = ModuleGoldenJson.safeParse(raw);
  if (!parsed.success) {
    const [first] = parsed.error.issues;
    throw new InputError(file, (first?.path ?? []) as PathSegment[], first?.message ?? 'invalid');
  }
  const json = parsed.data;
  const fail = (path: PathSegment[], reason: string): never => {
    throw new InputError(file, path, reason);
  };
  if (basename(file) !== `${json.case}.json`) fail(['case'], `is ${json.case}, but the file is named ${basename(file)}`);
  const decode = (t: z.infer<typeof TensorJson>, path: PathSegment[]): Float32Array | Float64Array | BigInt64Array => {
    if (t.data.length !== t.shape.reduce((a, b) => a * b, 1)) fail([...path, 'data'], `holds ${t.data.length} values for shape [${t.shape.join(', ')}]`);
    const typed = t.dtype === 'int64' ? BigInt64Array.from(t.data, (v) => BigInt(v)) : t.dtype === 'float32' ? Float32Array.from(t.data) : Float64Array.from(t.data);
    if (t.dtype === 'float32' && t.data.some((v, i) => !Object.is(typed[i], v))) fail([...path, 'data'], 'holds a value that is not a float32 number');
    if (sha256Of(typed) !== t.sha256) fail([...path, 'sha256'], 'does not match data: the numbers changed after torch wrote them');
    return typed;
  };
  const float = (t: z.infer<typeof TensorJson>, path: PathSegment[]): Tensor => {
    if (t.dtype === 'int64') fail([...path, 'dtype'], 'is int64, a float tensor is needed here');
    return tensor(t.dtype as DType, t.shape, decode(t, path) as Float32Array | Float64Array);
  };
  const inputs: Record<string, Tensor> = {};
  const indexInputs: Record<string, IndexTensor> = {};
  for (const [name, t] of Object.entries(json.inputs)) {
    if (t.dtype === 'int64') indexInputs[name] = { shape: t.shape, data: Int32Array.from(decode(t, ['inputs', name]) as BigInt64Array, Number) };
    else inputs[name] = float(t, ['inputs', name]);
  }
  const params = Object.fromEntries(Object.entries(json.parameters).map(([name, t]) => [name, float(t, ['parameters', name])]));
  const resultsOf = (dtype: DType): ReadonlyMap<string, Tensor> => {
    const results = new Map(Object.entries(json.expected[dtype].tensors).map(([key, t]) => {
      if (t.dtype !== dtype) fail(['expected', dtype, 'tensors', key, 'dtype'], `is ${t.dtype}, expected ${dtype}`);
      return [key, float(t, ['expected', dtype, 'tensors', key])] as const;
    }));
    if (!results.has('loss')) fail(['expected', dtype, 'tensors'], 'has no loss');
    return results;
  };
  const expected = { float32: resultsOf('float32'), float64: resultsOf('float64') };
  const graphOf = (dtype: DType): ModuleGolden['graphs'][DType] => {
    const g = json.onnx[dtype];
    if (g.file !== `onnx/${json.case}.${dtype}.onnx`) fail(['onnx', dtype, 'file'], `is ${g.file}, expected onnx/${json.case}.${dtype}.onnx`);
    const names = [...Object.keys(json.inputs), ...Object.keys(json.parameters)];
    if (g.inputs.join() !== names.join()) fail(['onnx', dtype, 'inputs'], `are [${g.inputs.join(', ')}], expected the inputs then the parameters: [${names.join(', ')}]`);
    const keys = [...expected[dtype].keys()];
    if (g.outputs.join() !== keys.join()) fail(['onnx', dtype, 'outputs'], `are [${g.outputs.join(', ')}], expected [${keys.join(', ')}]`);
    return { path: join(dirname(file), g.file), sha256: g.sha256, inputs: g.inputs, outputs: g.outputs };
  };
  const graphs = { float32: graphOf('float32'), float64: graphOf('float64') };
  return { file, name: json.case, description: json.description, inputs, indexInputs, params, expected, graphs, provenance: json.provenance };
}
