import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { formatJsonPath, type PathSegment } from '../../src/errors.ts';
import type { GoldenCase } from '../../src/golden/load.ts';
import { targetAsTensor } from '../../src/ops/types.ts';
import { DTYPES, dtypeOf } from '../../src/tensor/dtype.ts';
import { unravelIndex, type Tensor } from '../../src/tensor/tensor.ts';
import { ulpDistance } from '../../src/tensor/ulp.ts';

/** How one tensor of a golden changed. */
export interface TensorChange {
  readonly path: string;
  readonly maxAbs: number;
  readonly maxUlps: number;
  /** Where the largest ULP change is. */
  readonly index: readonly number[];
  readonly changed: number;
  readonly numel: number;
}

/** Every tensor of a golden under its JSON path: inputs, parameters and torch's results. */
export function goldenTensors(g: GoldenCase): [string, Tensor][] {
  const at = (...path: PathSegment[]) => formatJsonPath(path);
  const out: [string, Tensor][] = [[at('inputs', 'x'), g.inputs.x]];
  out.push([at('inputs', 'target'), targetAsTensor(g.inputs.target)]);
  if (g.inputs.lossGrad !== undefined) out.push([at('inputs', 'lossGrad'), g.inputs.lossGrad]);
  for (const [name, t] of Object.entries(g.inputs.params)) out.push([at('parameters', name), t]);
  for (const d of DTYPES) {
    for (const [key, t] of g.expected[d].results) out.push([at('expected', d, 'tensors', key), t]);
  }
  return out;
}

/** Tensor by tensor, what differs between two versions of one golden (shape changes count as all changed). */
export function tensorChanges(before: GoldenCase, after: GoldenCase): TensorChange[] {
  const old = new Map(goldenTensors(before));
  const changes: TensorChange[] = [];
  for (const [path, t] of goldenTensors(after)) {
    const o = old.get(path);
    if (o === undefined || o.data.length !== t.data.length || o.shape.join() !== t.shape.join()) {
      changes.push({ path, maxAbs: Infinity, maxUlps: Infinity, index: [], changed: t.data.length, numel: t.data.length });
      continue;
    }
    let [maxAbs, maxUlps, at, changed] = [0, 0, -1, 0];
    for (let i = 0; i < t.data.length; i++) {
      const [a, b] = [o.data[i]!, t.data[i]!];
      if (Object.is(a, b)) continue;
      changed++;
      const ulps = ulpDistance(a, b, dtypeOf(t.data));
      maxAbs = Math.max(maxAbs, Math.abs(a - b));
      if (ulps > maxUlps || at < 0) [maxUlps, at] = [ulps, i];
    }
    if (changed > 0) changes.push({ path, maxAbs, maxUlps, index: unravelIndex(at, t.shape), changed, numel: t.data.length });
  }
  return changes;
}

/** Top-level fields other than the tensors that differ (description, model, onnx, provenance.…). */
export function metadataChanges(beforeFile: string, afterFile: string): string[] {
  const [a, b] = [beforeFile, afterFile].map((f) => JSON.parse(readFileSync(f, 'utf8')) as Record<string, Record<string, unknown>>);
  const fields: string[] = [];
  for (const key of ['schemaVersion', 'kind', 'case', 'description', 'mlp', 'onnx'] as const) {
    if (!isDeepStrictEqual(a![key], b![key])) fields.push(key);
  }
  for (const key of new Set([...Object.keys(a!.provenance ?? {}), ...Object.keys(b!.provenance ?? {})])) {
    if (!isDeepStrictEqual(a!.provenance?.[key], b!.provenance?.[key])) fields.push(`provenance.${key}`);
  }
  return fields;
}

export function describeChange(c: TensorChange): string {
  if (!Number.isFinite(c.maxUlps)) return `${c.path}: shape or presence changed`;
  return `${c.path}: ${c.changed} / ${c.numel} changed, up to ${c.maxUlps} ULP (abs ${c.maxAbs.toExponential(2)}) at (${c.index.join(', ')})`;
}
