// Runs every oracle against the TS model as found next to this file (a mutated copy of src/)
// and prints one JSON object: which oracles the model fails, and by how much.
// Usage: node --import tsx <copy>/scripts/mutants/child.ts <repository root>
import { join } from 'node:path';
import { finiteDifferenceCheck } from '../../src/fd/engine.ts';
import { mlpProblem } from '../../src/fd/mlpProblem.ts';
import { loadGolden } from '../../src/golden/load.ts';
import { float32SemanticsViolations } from '../../src/nn/float32Semantics.ts';
import { listGoldenFiles } from '../../src/golden/files.ts';
import { compareWithOnnx } from '../../src/parity/onnxParity.ts';
import { compareWithTorch, runTsOnGolden } from '../../src/parity/torchParity.ts';
import { DTYPES } from '../../src/tensor/dtype.ts';
import { worstShare, type ComparisonRecord } from '../../src/tolerance/compare.ts';
import { ORACLES, type OracleResult, type Oracle } from './oracles.ts';

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
  const mine = records.filter((r) => r.actual.source === 'ts');
  note(oracle, caseName, mine.some((r) => r.verdict === 'fail'), Math.max(0, ...mine.map(worstShare)));
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

for (const file of listGoldenFiles(join(root, 'goldens'))) {
  const golden = loadGolden(file);
  let ts: ReturnType<typeof runTsOnGolden> | undefined;
  await attempt('torch', golden.name, () => {
    ts = runTsOnGolden(golden);
    fromRecords('torch', golden.name, compareWithTorch(golden, ts));
  });
  await attempt('onnx', golden.name, async () => fromRecords('onnx', golden.name, await compareWithOnnx(golden, ts ?? runTsOnGolden(golden))));
  for (const dtype of DTYPES) {
    await attempt('fd', golden.name, () => {
      const report = finiteDifferenceCheck(mlpProblem(golden, dtype), { maxElementsPerTensor: FD_SAMPLE });
      const checks = report.elements;
      note('fd', golden.name, report.verdict === 'fail', Math.max(0, ...checks.map((c) => c.share)));
    });
  }
}
await attempt('semantics', '(kernels)', () => {
  const violations = float32SemanticsViolations();
  results.semantics.errors.push(...violations);
  note('semantics', '(kernels)', violations.length > 0, 0);
});
process.stdout.write(`${JSON.stringify(results)}\n`);
