import type { GoldenCase } from '../golden/load.ts';
import { onnxOracleFor } from '../onnx/oracle.ts';
import type { DType } from '../tensor/dtype.ts';
import type { ComparisonRecord } from '../tolerance/compare.ts';
import { comparePair, type Pair } from './compareResults.ts';
import type { Results, TsRun } from './results.ts';
import { runTsOnGolden } from './torchParity.ts';

/**
 * The comparisons with onnxruntime running autograd's exported graph, in the graph's precision:
 * - ts vs onnx: the implementation against a live oracle with different kernels;
 * - onnx vs torch: the export and the runtime against the golden.
 * Read together with ts vs torch: TS ≠ torch but TS = onnx points at a stale golden; onnx ≠ torch
 * alone points at the export.
 */
export function onnxPairs(dtype: DType): Pair[] {
  const onnx = { source: 'onnx', dtype };
  return [
    { actual: { source: 'ts', dtype }, expected: onnx },
    { actual: onnx, expected: { source: 'torch', dtype } },
  ];
}

export async function compareWithOnnx(
  golden: GoldenCase,
  ts: Record<DType, TsRun> = runTsOnGolden(golden),
  onnxResults?: Results,
): Promise<ComparisonRecord[]> {
  const dtype = golden.onnx.dtype;
  const onnx = onnxResults ?? (await (await onnxOracleFor(golden)).run());
  const [tsVsOnnx, onnxVsTorch] = onnxPairs(dtype) as [Pair, Pair];
  return [
    ...comparePair(golden, ts, tsVsOnnx, ts[dtype].results, onnx),
    ...comparePair(golden, ts, onnxVsTorch, onnx, golden.expected[dtype]),
  ];
}
