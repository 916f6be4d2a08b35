import type { GoldenCase } from '../golden/load.ts';
import { graphBounds } from '../graph/goldenGraph.ts';
import { modelBounds } from '../model/bounds.ts';
import { OnnxKernelMissing, onnxOracleFor } from '../onnx/oracle.ts';
import type { Results, TensorKey } from '../results/keys.ts';
import type { DType } from '../tensor/dtype.ts';
import { compareTensors, type ComparisonRecord, type Side } from '../tolerance/compare.ts';
import { totals } from '../tolerance/errorBound.ts';
import type { Sides } from '../tolerance/roundoff.ts';
import { referenceRuns, type ReferenceRuns } from './compare.ts';

// The graph-derived bound (Note [Bounds from the graph]) held to every pair it must cover on a
// golden, and set beside the bound the op records derive for the same comparison.

/** One comparison the graph bound covers: two sides' results and their precisions. */
interface GraphPair {
  readonly actual: Side & { readonly results: Results };
  readonly expected: Side & { readonly results: Results };
}

/** The pairs: torch float32 against float64, onnxruntime against torch, and the TS model against torch in each precision. */
async function pairsOf(golden: GoldenCase, ts: ReferenceRuns): Promise<GraphPair[]> {
  const torch = (dtype: DType) => ({ source: 'torch', dtype, results: golden.expected[dtype].results });
  const pairs: GraphPair[] = [
    { actual: torch('float32'), expected: torch('float64') },
    { actual: { source: 'ts', dtype: 'float32', results: ts.float32.results }, expected: torch('float32') },
    { actual: { source: 'ts', dtype: 'float64', results: ts.float64.results }, expected: torch('float64') },
  ];
  const dtype = golden.onnx.dtype as DType;
  try {
    pairs.push({ actual: { source: 'onnx', dtype, results: await (await onnxOracleFor(golden)).run() }, expected: torch(dtype) });
  } catch (err) {
    if (!(err instanceof OnnxKernelMissing)) throw err;
  }
  return pairs;
}

/** Every pair's comparison records, each element held to the graph-derived bound. */
export async function graphBoundRecords(golden: GoldenCase, ts: ReferenceRuns = referenceRuns(golden)): Promise<ComparisonRecord[]> {
  const records: ComparisonRecord[] = [];
  for (const pair of await pairsOf(golden, ts)) {
    const sides: Sides = [pair.actual.dtype as DType, pair.expected.dtype as DType];
    for (const [key, v] of graphBounds(golden, sides)) {
      const [a, e] = [pair.actual.results.get(key), pair.expected.results.get(key)];
      if (a === undefined || e === undefined) throw new RangeError(`${golden.name}: ${key} is missing from ${a === undefined ? pair.actual.source : pair.expected.source}'s results`);
      records.push(compareTensors({ case: golden.name, file: golden.file, tensor: key, actual: pair.actual, expected: pair.expected }, a, e, v.bound));
    }
  }
  return records;
}

/** For each element, graph-derived bound ÷ record-derived bound, for the same-precision comparison in each precision (elements where both are 0 left out). */
export function graphToRecordRatios(golden: GoldenCase, ts: ReferenceRuns = referenceRuns(golden)): { key: TensorKey; dtype: DType; index: number; graph: number; record: number }[] {
  const out: { key: TensorKey; dtype: DType; index: number; graph: number; record: number }[] = [];
  for (const dtype of ['float32', 'float64'] as const) {
    const run = ts[dtype];
    const record = modelBounds({ fwd: run.fwd, bwd: run.bwd, stored: golden.inputs, sides: [dtype, dtype] });
    for (const [key, v] of graphBounds(golden, [dtype, dtype])) {
      const [g, h] = [totals(v.bound), totals(record.get(key)!)];
      g.forEach((gv, index) => {
        if (gv !== 0 || h[index] !== 0) out.push({ key, dtype, index, graph: gv, record: h[index]! });
      });
    }
  }
  return out;
}
