import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { InputError, type PathSegment } from '../errors.ts';
import type { DType } from '../tensor/dtype.ts';
import { tensor, type Tensor } from '../tensor/tensor.ts';
import { sha256Of } from './load.ts';
import { ModuleGoldenJson, type TensorJson } from './schema.ts';

// A golden of your own model, written by `npm run capture` (python/capture.py): any PyTorch
// module, its inputs and parameters by name, everything torch computed in float32 and float64
// from the same inputs, and its training graph exported per precision. Unlike the MLP goldens it
// carries no model spec: the graph is the model, and the bounds come from it (src/graph/).

// The format is src/golden/schema.ts's, which the MLP goldens share (with an `mlp` section).
export { ModuleGoldenJson, SCHEMA_VERSION as MODULE_GOLDEN_VERSION } from './schema.ts';

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

/**
 * Whether a parsed JSON document is a golden of your own module, to be read with loadModuleGolden.
 * gradparity's MLP goldens share the format but carry an `mlp` section, and their own loader
 * (loadGolden) knows more about them; anything else is left to the loaders to report.
 */
export const isModuleGoldenJson = (json: unknown): boolean =>
  typeof json === 'object' && json !== null && (json as { kind?: unknown }).kind === 'module' && !('mlp' in json);

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
  const decode = (t: TensorJson, path: PathSegment[]): Float32Array | Float64Array | BigInt64Array => {
    if (t.data.length !== t.shape.reduce((a, b) => a * b, 1)) fail([...path, 'data'], `holds ${t.data.length} values for shape [${t.shape.join(', ')}]`);
    const typed = t.dtype === 'int64' ? BigInt64Array.from(t.data, (v) => BigInt(v)) : t.dtype === 'float32' ? Float32Array.from(t.data) : Float64Array.from(t.data);
    if (t.dtype === 'float32' && t.data.some((v, i) => !Object.is(typed[i], v))) fail([...path, 'data'], 'holds a value that is not a float32 number');
    if (sha256Of(typed) !== t.sha256) fail([...path, 'sha256'], 'does not match data: the numbers changed after torch wrote them');
    return typed;
  };
  const float = (t: TensorJson, path: PathSegment[]): Tensor => {
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
