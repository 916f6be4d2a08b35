import { finiteDifferenceCheck, type FdReport } from '../fd/engine.ts';
import { mlpProblem } from '../fd/mlpProblem.ts';
import type { GoldenCase } from '../golden/load.ts';
import type { DriftSection, ReportInput, SweepSection, InputFailure } from '../report/parityReport.ts';
import { DTYPES, type DType } from '../tensor/dtype.ts';
import type { ComparisonRecord } from '../tolerance/compare.ts';
import { fdRecords } from './fdRecords.ts';
import { failingFdSweeps, NOTEBOOK, notebookDrift } from './notebook.ts';
import type { Pair } from './compareResults.ts';
import { OnnxRuntimeMissing } from '../onnx/oracle.ts';
import { compareWithOnnx, onnxPairs } from './onnxParity.ts';
import { compareWithTorch, runTsOnGolden, TORCH_COMPARISONS } from './torchParity.ts';

/** Everything the suite found for one golden. */
export interface CaseCheck {
  readonly case: string;
  readonly file: string;
  /** The precision the golden's inputs are stored in. */
  readonly dtype: DType;
  readonly records: readonly ComparisonRecord[];
  /** Finite differences of the TS loss against the TS analytic gradient, per precision. */
  readonly fd: Readonly<Record<DType, FdReport>>;
  /** The notebook's drift explained (seed case only), and error-versus-step curves worth plotting. */
  readonly drifts: readonly DriftSection[];
  readonly sweeps: readonly SweepSection[];
  /** Oracles that could not run, and why (onnxruntime-node not installed): said, never hidden. */
  readonly notes: readonly string[];
  /** Whether onnxruntime ran the golden's graph. */
  readonly onnxRan: boolean;
}

/**
 * The main job's finite-difference check: directional (8 seeded directions, 2 × 8 × 2 loss
 * evaluations at most without kinks) with the auto step, so that it stays fast on the largest
 * case; a failing direction falls back to every element to say where.
 */
export const MAIN_JOB_FD = { mode: 'directional', directions: 8, step: 'auto', seed: 0 } as const;

/**
 * The main job on one golden (what `gradparity check` runs): the TS reference against torch in
 * both precisions and against onnxruntime, torch float32 against float64, and directional finite
 * differences in both precisions, every tensor held to its derived bound.
 */
export async function checkGolden(golden: GoldenCase): Promise<CaseCheck> {
  const file = golden.file;
  const ts = runTsOnGolden(golden);
  const notes: string[] = [];
  const onnx = await compareWithOnnx(golden, ts).catch((err: unknown) => {
    if (!(err instanceof OnnxRuntimeMissing)) throw err;
    notes.push(`onnxruntime: not run: ${err.message}`);
    return null;
  });
  const records = [...compareWithTorch(golden, ts), ...(onnx ?? [])];
  const fd = Object.fromEntries(DTYPES.map((d) => [d, finiteDifferenceCheck(mlpProblem(golden, d), MAIN_JOB_FD)])) as Record<DType, FdReport>;
  const notebook = golden.name === NOTEBOOK.case ? notebookDrift(golden) : undefined;
  return {
    case: golden.name,
    file,
    dtype: golden.dtype,
    records,
    fd,
    drifts: notebook ? [notebook.drift] : [],
    sweeps: [...(notebook?.sweeps ?? []), ...DTYPES.flatMap((d) => failingFdSweeps(golden, fd[d]))],
    notes,
    onnxRan: onnx !== null,
  };
}

/**
 * Every pair the main job compares on a golden, as data: torch's golden against TS, itself and
 * the other precision; onnxruntime against both in the graph's precision; finite differences
 * against the analytic gradient in each precision.
 */
export function mainJobPairs(golden: GoldenCase): Pair[] {
  const fd = DTYPES.map((dtype): Pair => ({ actual: { source: 'fd', dtype }, expected: { source: 'ts', dtype } }));
  return [...TORCH_COMPARISONS, ...onnxPairs(golden.onnx.dtype), ...fd];
}

/** Everything the checks found, as the pieces of a parity report. */
export function reportInputOf(checks: readonly CaseCheck[], inputFailures: readonly InputFailure[]): ReportInput {
  return {
    records: checks.flatMap((c) => [...c.records, ...DTYPES.flatMap((d) => fdRecords(c.case, c.fd[d], c.file))]),
    drifts: checks.flatMap((c) => c.drifts),
    sweeps: checks.flatMap((c) => c.sweeps),
    inputFailures,
    notes: [...new Set(checks.flatMap((c) => c.notes))],
  };
}

export function passed(check: CaseCheck): boolean {
  return check.records.every((r) => r.verdict === 'pass') && DTYPES.every((d) => check.fd[d].verdict === 'pass');
}
