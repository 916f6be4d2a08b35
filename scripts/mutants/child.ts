// Runs every oracle against the TS model as found next to this file (a mutated copy of src/)
// and prints one JSON object: which oracles the model fails, and by how much.
// Usage: node --import tsx <copy>/scripts/mutants/child.ts <repository root>
import { join } from 'node:path';
import { EXAMPLE_MODELS } from '../../examples/models/index.ts';
import { loadModuleGolden } from '../../src/golden/moduleGolden.ts';
import { compareWithModuleGolden } from '../../src/parity/moduleParity.ts';
import { finiteDifferenceCheck } from '../../src/fd/engine.ts';
import { modelProblem } from '../../src/fd/modelProblem.ts';
import { loadGolden } from '../../src/golden/load.ts';
import { listGoldenFiles } from '../../src/golden/files.ts';
import { OnnxKernelMissing, onnxOracleFor } from '../../src/onnx/oracle.ts';
import { float32SemanticsViolations } from '../../src/model/float32Semantics.ts';
import { comparePair, referenceRuns, type ReferenceRuns } from '../../src/parity/compare.ts';
import { mainJobPairs } from '../../src/parity/pairs.ts';
import type { DType } from '../../src/tensor/dtype.ts';
import { toJson } from '../../src/report/parityReport.ts';
import { worstShare, type ComparisonRecord } from '../../src/tolerance/compare.ts';
import { ORACLES, oracleOf, type OracleResult, type Oracle } from './oracles.ts';

const root = process.argv[2] ?? '.';
// Full mode on a seeded sample per tensor keeps a run to seconds; it always includes each
// tensor's largest gradient.
const FD_SAMPLE = 24;

const results = Object.fromEntries(ORACLES.map((o) => [o, { caught: false, worstShare: 0, cases: [] as string[], errors: [] as string[] }])) as Record<Oracle, OracleResult>;

function note(oracle: Oracle, caseName: string, failed: boolean, share: number): void {
  const r = results[oracle];
  r.worstShare = Math.max(r.worstShare, Number.isNaN(share) ? Infinity : share);
  if (failed) {
    r.caught = true;
    if (!r.cases.includes(caseName)) r.cases.push(caseName);
  }
}

function fromRecords(oracle: Oracle, caseName: string, records: readonly ComparisonRecord[]): void {
  // A failed comparison with NaN or ±Inf in it has no finite share: it counts as infinitely far out.
  const share = (r: ComparisonRecord) => (r.verdict === 'fail' && r.nonFinite > 0 ? Infinity : worstShare(r));
  note(oracle, caseName, records.some((r) => r.verdict === 'fail'), records.reduce((w, r) => Math.max(w, share(r)), 0));
}

async function attempt(oracle: Oracle, caseName: string, run: () => Promise<void> | void): Promise<void> {
  try {
    await run();
  } catch (err) {
    // A mutant that throws or produces garbage the checks refuse is caught too.
    note(oracle, caseName, true, Infinity);
    results[oracle].errors.push(`${caseName}: ${(err as Error).message.split('\n')[0]}`);
  }
}

// Every pair of the main job that holds the TS model to another side, run against the mutant.
for (const file of listGoldenFiles(join(root, 'goldens'))) {
  const golden = loadGolden(file);
  let ts: ReferenceRuns | undefined;
  for (const pair of mainJobPairs(golden)) {
    const oracle = oracleOf(pair);
    if (oracle === undefined) continue; // torch against torch: the golden's own consistency
    const dtype = pair.actual.dtype as DType;
    await attempt(oracle, golden.name, async () => {
      if (oracle === 'fd') {
        const report = finiteDifferenceCheck(modelProblem(golden, dtype), { maxElementsPerTensor: FD_SAMPLE });
        note('fd', golden.name, report.verdict === 'fail', report.elements.reduce((w, c) => Math.max(w, c.share), 0));
        return;
      }
      ts ??= referenceRuns(golden);
      let other;
      try {
        other = oracle === 'onnx' ? await (await onnxOracleFor(golden)).run() : golden.expected[pair.expected.dtype as DType].results;
      } catch (err) {
        if (err instanceof OnnxKernelMissing) return; // onnxruntime cannot run this graph: not a catch, not a miss
        throw err;
      }
      fromRecords(oracle, golden.name, comparePair(golden, ts, pair, ts[dtype].results, other));
    });
  }
}
// The example models: each hand-written TS implementation against its captured golden, held to
// the bound of the model's own graph (a comparison against torch).
for (const model of EXAMPLE_MODELS) {
  const golden = loadModuleGolden(join(root, 'examples', 'models', 'goldens', `${model.name}.json`));
  for (const dtype of ['float32', 'float64'] as const) {
    await attempt('torch', model.name, () => fromRecords('torch', model.name, compareWithModuleGolden(golden, dtype, model.run(golden, dtype))));
  }
}
await attempt('semantics', '(kernels)', () => {
  const violations = float32SemanticsViolations();
  results.semantics.errors.push(...violations);
  note('semantics', '(kernels)', violations.length > 0, 0);
});
// toJson keeps an Infinity share (a crash, a NaN) as a string; mutants.ts reads it back with fromJson.
process.stdout.write(`${toJson(results)}\n`);
