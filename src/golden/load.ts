import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { visit } from 'jsonc-parser';
import type { z } from 'zod';
import { InputError, type PathSegment } from '../errors.ts';
import { resultKeys, resultShapes, type ModelInputs } from '../model/sequential.ts';
import { graphInputNames, lossShape, numClasses, parameterShapes, type ModelSpec } from '../model/spec.ts';
import { lossOp } from '../ops/registry.ts';
import { targetAsTensor, type Target } from '../ops/types.ts';
import type { Results, TensorKey } from '../results/keys.ts';
import { DTYPES, rounderFor, type DType } from '../tensor/dtype.ts';
import { numel, sameShape, tensor, type NamedTensors, type Tensor } from '../tensor/tensor.ts';
import { GoldenJson, type OnnxGraphJson, type TensorJson } from './schema.ts';

/** What torch computed in one precision. */
export interface ExpectedResults {
  /** The case's inputs were rounded to this precision before torch ran (float32 run of a float64 case). */
  readonly inputsRounded: boolean;
  /** Every tensor, by key: loss, logits, each module's output (`out.<m>`), each gradient (`grad.<name>`). */
  readonly results: Results;
}

/** A validated golden: everything typed, every tensor checked against its shape and digest. */
export interface GoldenCase {
  readonly file: string;
  readonly name: string;
  readonly description: string;
  readonly spec: ModelSpec;
  /** The precision the inputs are stored in. */
  readonly dtype: DType;
  readonly inputs: ModelInputs;
  readonly expected: Readonly<Record<DType, ExpectedResults>>;
  /** The exported training graph; `path` is resolved against the golden's directory. */
  readonly onnx: OnnxGraphJson & { readonly path: string };
  readonly provenance: GoldenJson['provenance'];
}

/**
 * Reads and validates a golden file: the zod schema, every tensor against its shape and SHA-256,
 * names against the model, and the recorded spec against the golden. Throws an InputError that
 * names the file and the JSON path of the first problem.
 */
export function loadGolden(file: string): GoldenCase {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(file, null, `cannot read golden file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  return parseGolden(text, file);
}

/** Parses and validates golden text; `file` is only used to name it in errors. */
export function parseGolden(text: string, file: string): GoldenCase {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new InputError(file, null, `not valid JSON: ${(err as Error).message}`);
  }
  // JSON.parse keeps the last of two equal keys without a word: two `0.weight` entries would
  // silently become one. Goldens never have duplicate keys, so any is damage.
  const duplicate = findDuplicateKey(text);
  if (duplicate !== null) throw new InputError(file, duplicate, 'appears twice in the same object');
  const parsed = GoldenJson.safeParse(raw);
  if (!parsed.success) throw schemaError(file, parsed.error);
  return new GoldenDecoder(file, parsed.data).decode();
}

/** The JSON path of the first key that appears twice in one object, or null. */
export function findDuplicateKey(text: string): PathSegment[] | null {
  const seen: Set<string>[] = [];
  let duplicate: PathSegment[] | null = null;
  visit(text, {
    onObjectBegin: () => void seen.push(new Set()),
    onObjectEnd: () => void seen.pop(),
    onObjectProperty: (key, _offset, _length, _line, _column, pathSupplier) => {
      const keys = seen.at(-1)!;
      if (keys.has(key) && duplicate === null) duplicate = [...pathSupplier(), key];
      keys.add(key);
    },
  });
  return duplicate;
}

function schemaError(file: string, error: z.ZodError): InputError {
  const [first] = error.issues;
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more problem(s))` : '';
  return new InputError(file, (first?.path ?? []) as PathSegment[], `${first?.message ?? 'invalid'}${more}`);
}

/** SHA-256 of a typed array's little-endian bytes, as the Python producers write it. */
export function sha256Of(data: Float32Array | Float64Array | BigInt64Array): string {
  // Typed arrays hold host byte order; the digests are over little-endian bytes.
  return createHash('sha256').update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)).digest('hex');
}

/** The checks a JSON Schema cannot express, with the JSON path of whatever fails. */
class GoldenDecoder {
  private readonly file: string;
  private readonly json: GoldenJson;

  constructor(file: string, json: GoldenJson) {
    this.file = file;
    this.json = json;
  }

  private fail(path: readonly PathSegment[], reason: string): never {
    throw new InputError(this.file, path, reason);
  }

  decode(): GoldenCase {
    const { json } = this;
    const expectedFile = `${json.case}.json`;
    if (basename(this.file) !== expectedFile) this.fail(['case'], `is ${json.case}, but the file is named ${basename(this.file)}`);
    const { model: spec, dtype } = json.mlp;
    for (const name of Object.keys(json.inputs)) {
      if (!['x', 'target', 'lossGrad'].includes(name)) this.fail(['inputs', name], 'is not an input of an MLP case (x, target, lossGrad)');
    }
    const xJson = json.inputs.x ?? this.fail(['inputs', 'x'], 'is missing');
    const batch = xJson.shape[0] ?? 0;
    if (xJson.shape.length !== 2 || batch < 1) {
      this.fail(['inputs', 'x', 'shape'], `is [${xJson.shape.join(', ')}], expected [batch ≥ 1, ${spec.inputSize}]`);
    }
    const problem = lossOp(spec.loss).checkSpec?.(spec.loss, numClasses(spec));
    if (problem) this.fail(['mlp', 'model', 'loss', problem.field], problem.message);
    const x = this.floatTensor(xJson, ['inputs', 'x'], dtype, [batch, spec.inputSize]);
    const target = this.target(spec, batch);
    const lossGrad = this.lossGrad(spec, batch);
    const params = this.namedTensors(json.parameters, ['parameters'], dtype, parameterShapes(spec));
    this.checkSpecValues({ x, target: targetAsTensor(target), ...(lossGrad ? { lossGrad } : {}), ...params });
    this.checkSpecAgrees(batch);
    const expected = Object.fromEntries(DTYPES.map((dtype) => [dtype, this.results(spec, dtype, batch)])) as Record<DType, ExpectedResults>;
    return {
      file: this.file,
      name: json.case,
      description: json.description,
      spec,
      dtype,
      inputs: { x, target, params, ...(lossGrad ? { lossGrad } : {}) },
      expected,
      onnx: this.onnxGraph(spec),
      provenance: json.provenance,
    };
  }

  /** The case spec recorded in the provenance must describe this very golden. */
  private checkSpecAgrees(batch: number): void {
    const { json } = this;
    const spec = json.provenance.spec;
    const agree: [string, unknown][] = [
      ['name', json.case],
      ['description', json.description],
      ['dtype', json.mlp.dtype],
      ['model', json.mlp.model],
      ['batch', batch],
      ['seed', json.provenance.seed ?? undefined],
    ];
    for (const [field, value] of agree) {
      if (!isDeepStrictEqual(spec[field], value)) {
        this.fail(['provenance', 'spec', field], `is ${JSON.stringify(spec[field])}, but the golden has ${JSON.stringify(value)}`);
      }
    }
  }

  /**
   * A spec's explicit `values` must be exactly the stored inputs (after rounding to the dtype):
   * every input without a seed, the ones it names with one (they replace the drawn ones).
   */
  private checkSpecValues(stored: NamedTensors): void {
    const { values, seed } = this.json.provenance.spec;
    if (values === undefined) return;
    if (values === null || typeof values !== 'object') this.fail(['provenance', 'spec', 'values'], 'is not an object of tensors');
    const round = rounderFor(this.json.mlp.dtype);
    for (const [name, t] of Object.entries(stored)) {
      const given = (values as Record<string, unknown>)[name];
      if (given === undefined && seed !== undefined && seed !== null) continue;
      const flat = Array.isArray(given) ? (given as unknown[]).flat(Infinity) : [];
      const same = flat.length === t.data.length && flat.every((v, i) => typeof v === 'number' && Object.is(round(v) + 0, t.data[i]! + 0));
      if (!same) this.fail(['provenance', 'spec', 'values', name], `does not hold the stored ${name}`);
    }
  }

  /** Both precisions' graphs must be this case's; the oracle runs the one in the case's precision. */
  private onnxGraph(spec: ModelSpec): GoldenCase['onnx'] {
    const inputs = graphInputNames(spec);
    const outputs = resultKeys(spec);
    for (const dtype of DTYPES) {
      const graph = this.json.onnx[dtype];
      const file = `onnx/${this.json.case}.${dtype}.onnx`;
      if (graph.file !== file) this.fail(['onnx', dtype, 'file'], `is ${graph.file}, expected ${file}`);
      if (graph.inputs.join() !== inputs.join()) this.fail(['onnx', dtype, 'inputs'], `are [${graph.inputs.join(', ')}], expected [${inputs.join(', ')}]`);
      if (graph.outputs.join() !== outputs.join()) this.fail(['onnx', dtype, 'outputs'], `are [${graph.outputs.join(', ')}], expected [${outputs.join(', ')}]`);
    }
    const { dtype } = this.json.mlp;
    const graph = this.json.onnx[dtype];
    return { ...graph, dtype, path: join(dirname(this.file), graph.file) };
  }

  private floatTensor(t: TensorJson, path: PathSegment[], dtype: DType, shape: readonly number[]): Tensor {
    if (t.dtype !== dtype) this.fail([...path, 'dtype'], `is ${t.dtype}, expected ${dtype}`);
    if (!sameShape(t.shape, shape)) this.fail([...path, 'shape'], `is [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
    if (t.data.length !== numel(t.shape)) {
      this.fail([...path, 'data'], `has ${t.data.length} values, shape [${t.shape.join(', ')}] holds ${numel(t.shape)}`);
    }
    const out = tensor(dtype, t.shape, t.data);
    const inexact = out.data.findIndex((v, i) => v !== t.data[i]);
    if (inexact >= 0) this.fail([...path, 'data', inexact], `${t.data[inexact]} is not a ${dtype} value`);
    if (sha256Of(out.data) !== t.sha256) {
      this.fail([...path, 'sha256'], 'does not match data: the numbers changed after torch wrote them');
    }
    return out;
  }

  private target(spec: ModelSpec, batch: number): Target {
    const t = this.json.inputs.target ?? this.fail(['inputs', 'target'], 'is missing');
    const path = ['inputs', 'target'];
    const dtype = this.json.mlp.dtype;
    const classes = numClasses(spec);
    const layout = lossOp(spec.loss).targetLayout(spec.loss, batch, classes);
    if (layout.kind === 'probabilities' || layout.kind === 'values') {
      if (t.dtype === 'int64') this.fail([...path, 'dtype'], `is int64, the loss takes ${layout.kind} in ${dtype}`);
      const floats = this.floatTensor(t, path, dtype, layout.shape);
      return layout.kind === 'probabilities' ? { kind: 'probabilities', probs: floats } : { kind: 'values', values: floats };
    }
    if (t.dtype !== 'int64') this.fail([...path, 'dtype'], `is ${t.dtype}, the loss takes int64 class indices`);
    if (!sameShape(t.shape, [batch])) this.fail([...path, 'shape'], `is [${t.shape.join(', ')}], expected [${batch}]`);
    if (t.data.length !== batch) this.fail([...path, 'data'], `has ${t.data.length} values, shape [${batch}] holds ${batch}`);
    const bad = t.data.findIndex((c) => !(c >= 0 && c < classes) && c !== layout.ignoreIndex);
    const ignore = layout.ignoreIndex === undefined ? '' : ` nor the ignore_index ${layout.ignoreIndex}`;
    if (bad >= 0) this.fail([...path, 'data', bad], `${t.data[bad]} is not a class index in [0, ${classes})${ignore}`);
    const indices = Int32Array.from(t.data);
    if (sha256Of(BigInt64Array.from(t.data, BigInt)) !== t.sha256) {
      this.fail([...path, 'sha256'], 'does not match data: the numbers changed after torch wrote them');
    }
    return { kind: 'class_indices', indices };
  }

  /** The upstream gradient: present exactly when the loss is unreduced, shaped like the loss. */
  private lossGrad(spec: ModelSpec, batch: number): Tensor | undefined {
    const given = this.json.inputs.lossGrad;
    const shape = lossShape(spec, batch);
    const path = ['inputs', 'lossGrad'];
    if (shape.length === 0) {
      if (given !== undefined) this.fail(path, 'is given, but the loss is reduced to a scalar: only reduction none takes an upstream gradient');
      return undefined;
    }
    if (given === undefined) this.fail(path, `is missing: an unreduced loss needs the upstream gradient of shape [${shape.join(', ')}]`);
    return this.floatTensor(given, path, this.json.mlp.dtype, shape);
  }

  private namedTensors(
    record: Record<string, TensorJson>,
    path: PathSegment[],
    dtype: DType,
    shapes: ReadonlyMap<string, readonly number[]>,
  ): NamedTensors {
    for (const name of Object.keys(record)) {
      if (!shapes.has(name)) this.fail([...path, name], `is not a tensor of this model (expected ${[...shapes.keys()].join(', ')})`);
    }
    const out: NamedTensors = {};
    for (const [name, shape] of shapes) {
      const t = record[name];
      if (t === undefined) this.fail([...path, name], 'is missing');
      out[name] = this.floatTensor(t, [...path, name], dtype, shape);
    }
    return out;
  }

  private results(spec: ModelSpec, dtype: DType, batch: number): ExpectedResults {
    const r = this.json.expected[dtype];
    const path = ['expected', dtype];
    const roundedInputs = dtype === 'float32' && this.json.mlp.dtype === 'float64';
    if (r.inputsRounded !== roundedInputs) this.fail([...path, 'inputsRounded'], `is ${r.inputsRounded}, expected ${roundedInputs} for a ${this.json.mlp.dtype} case`);
    const tensors = this.namedTensors(r.tensors, [...path, 'tensors'], dtype, resultShapes(spec, batch));
    return { inputsRounded: r.inputsRounded, results: new Map(resultKeys(spec).map((k) => [k, tensors[k]!] as [TensorKey, Tensor])) };
  }
}
