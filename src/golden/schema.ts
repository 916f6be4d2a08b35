import { z } from 'zod';
import { ModelSpec } from '../model/spec.ts';

/**
 * The golden file format, version 2: what real PyTorch computed for one case, written by
 * python/capture.py (capture_document), the one producer of goldens. Your models' goldens
 * (`gradparity capture`) and gradparity's own MLP goldens (`npm run goldens`, which adds the
 * `mlp` section) share it. These zod schemas are the single definition: the loaders validate
 * with them, and goldens/schema.json is generated from GoldenJson (by `npm run goldens`) so that
 * Python tooling can validate the same files. Checks a JSON Schema cannot express (data length
 * against shape, digests, names against the model) live in the loaders.
 */
export const SCHEMA_VERSION = 2;

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex SHA-256');
const Shape = z.array(z.number().int().nonnegative());
const CaseName = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lowercase letters, digits and dashes');
const DTypeJson = z.enum(['float32', 'float64']);

/** A float tensor; `sha256` is over the little-endian bytes of `data` in `dtype`. */
const FloatTensorJson = z.strictObject({
  dtype: z.enum(['float32', 'float64']),
  shape: Shape,
  sha256: Sha256,
  data: z.array(z.number()),
});

/** Indices (class targets, embedding rows), int64 as in PyTorch. */
const IndexTensorJson = z.strictObject({
  dtype: z.literal('int64'),
  shape: Shape,
  sha256: Sha256,
  data: z.array(z.number().int()),
});

/** A tensor, float or int64; `sha256` is over the little-endian bytes of `data` in `dtype`. */
export const TensorJson = z.discriminatedUnion('dtype', [FloatTensorJson, IndexTensorJson]);
export type TensorJson = z.infer<typeof TensorJson>;

export const ResultsJson = z.strictObject({
  /** True when the run's precision is narrower than the one the inputs are stored in (they were rounded first). */
  inputsRounded: z.boolean(),
  /** Every tensor torch computed, by key: loss, the output, recorded module outputs, each gradient. */
  tensors: z.record(z.string(), TensorJson),
});

/** One precision's joint forward + backward graph, exported from PyTorch autograd. */
export const GraphJson = z.strictObject({
  /** Relative to the golden's directory. */
  file: z.string().regex(/^onnx\/[a-z0-9][a-z0-9-]*\.(float32|float64)\.onnx$/, 'onnx/<case>.<dtype>.onnx'),
  sha256: Sha256,
  opset: z.number().int().positive(),
  /** Graph input names: the case's inputs, then the parameters in state_dict order. */
  inputs: z.array(z.string()).min(1),
  /** Graph output names: the tensor keys, in the order of the results. */
  outputs: z.array(z.string()).min(1),
});
export type GraphJson = z.infer<typeof GraphJson>;

/** Any golden: a module (or function) of tensors, its inputs and parameters by name, and what torch computed. */
export const ModuleGoldenJson = z.strictObject({
  schemaVersion: z.literal(SCHEMA_VERSION),
  kind: z.literal('module'),
  case: CaseName,
  description: z.string(),
  inputs: z.record(z.string(), TensorJson),
  parameters: z.record(z.string(), TensorJson),
  expected: z.strictObject({ float32: ResultsJson, float64: ResultsJson }),
  onnx: z.strictObject({ float32: GraphJson, float64: GraphJson }),
  /** Present in gradparity's MLP goldens: the model spec its TS reference runs (see GoldenJson). */
  mlp: z.record(z.string(), z.unknown()).optional(),
  provenance: z.record(z.string(), z.unknown()),
});
export type ModuleGoldenJson = z.infer<typeof ModuleGoldenJson>;

/** Where an MLP golden came from: the generator, its sources' digest and the case spec. */
export const ProvenanceJson = z.strictObject({
  generator: z.string(),
  generatorSha256: Sha256,
  /** SHA-256 of the canonical JSON (sorted keys, no spaces) of `spec`, as Python writes it. */
  specSha256: Sha256,
  /** The case's entry in scripts/cases.json when the golden was generated. */
  spec: z.record(z.string(), z.unknown()),
  seed: z.number().int().nullable(),
  /** PyTorch's CPU kernel set (ATEN_CPU_CAPABILITY), pinned so results do not depend on the machine. */
  cpuCapability: z.string(),
  command: z.string(),
  torch: z.string(),
  python: z.string(),
  numpy: z.string(),
});

/**
 * gradparity's own MLP goldens: the common format (inputs x, target and, for an unreduced loss,
 * lossGrad; every module's output recorded as out.<i>; the output keyed `logits`) with the model
 * spec in `mlp`, stored in the case's precision, and the generator's provenance.
 */
export const GoldenJson = ModuleGoldenJson.extend({
  mlp: z.strictObject({ model: ModelSpec, dtype: DTypeJson }),
  provenance: ProvenanceJson,
});
export type GoldenJson = z.infer<typeof GoldenJson>;

/** The case-precision graph of an MLP golden, as its onnxruntime oracle runs it. */
export interface OnnxGraphJson extends GraphJson {
  readonly dtype: 'float32' | 'float64';
}

export function goldenJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(GoldenJson, { target: 'draft-2020-12' }),
    title: 'gradparity golden file',
    description: 'What real PyTorch computed for one MLP case. Generated by scripts/generate_goldens.py through python/capture.py; never edited by hand.',
  };
}
