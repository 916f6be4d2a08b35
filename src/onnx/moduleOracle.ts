import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { InputError } from '../errors.ts';
import type { ModuleGolden } from '../golden/moduleGolden.ts';
import type { DType } from '../tensor/dtype.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { loadOnnxRuntime, OnnxKernelMissing, SESSION_OPTIONS } from './oracle.ts';

/**
 * Runs a captured model's training graph in onnxruntime, in one precision, on the golden's own
 * inputs and parameters (rounded to that precision): every result by key. The graph's hash is
 * checked against the golden first.
 */
export async function runModuleGraph(golden: ModuleGolden, dtype: DType): Promise<Map<string, Tensor>> {
  const ort = await loadOnnxRuntime();
  const graph = golden.graphs[dtype];
  let bytes: Buffer;
  try {
    bytes = readFileSync(graph.path);
  } catch (err) {
    throw new InputError(graph.path, null, `cannot read the ONNX graph of ${golden.file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== graph.sha256) throw new InputError(graph.path, null, `SHA-256 is ${actual}, but ${golden.file} records ${graph.sha256}: the graph changed after it was exported`);
  let session;
  try {
    session = await ort.InferenceSession.create(bytes, SESSION_OPTIONS);
  } catch (err) {
    const missing = /Could not find an implementation for (\w+)\(\d+\) node/.exec((err as Error).message);
    if (missing !== null) throw new OnnxKernelMissing(graph.path, missing[1]!, dtype);
    throw new InputError(graph.path, null, `onnxruntime cannot load the graph: ${(err as Error).message}`);
  }
  const float = (t: Tensor) => new ort.Tensor(dtype, dtype === 'float32' ? Float32Array.from(t.data) : Float64Array.from(t.data), [...t.shape]);
  const feeds = Object.fromEntries([
    ...Object.entries(golden.inputs).map(([name, t]) => [name, float(t)] as const),
    ...Object.entries(golden.indexInputs).map(([name, t]) => [name, new ort.Tensor('int64', BigInt64Array.from(t.data, BigInt), [...t.shape])] as const),
    ...Object.entries(golden.params).map(([name, t]) => [name, float(t)] as const),
  ]);
  try {
    const out = await session.run(feeds);
    return new Map(graph.outputs.map((key) => {
      const value = out[key];
      if (value === undefined) throw new InputError(graph.path, null, `graph produced no output ${key} (golden ${golden.file})`);
      return [key, { shape: value.dims.map(Number), data: value.data as Float32Array | Float64Array }];
    }));
  } finally {
    await session.release();
  }
}
