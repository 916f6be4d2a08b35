import { IEEE, type ArithmeticModel } from '../tolerance/arithmetic.ts';
import { finiteDifferenceCheck, type FdReport } from '../fd/engine.ts';
import { modelProblem } from '../fd/modelProblem.ts';
import type { GoldenCase } from '../golden/load.ts';
import { OnnxKernelMissing, onnxOracleFor, OnnxRuntimeMissing } from '../onnx/oracle.ts';
import type { DriftSection, InputFailure, ReportInput, SweepSection } from '../report/parityReport.ts';
import type { Results } from '../results/keys.ts';
import { DTYPES, type DType } from '../tensor/dtype.ts';
import type { ComparisonRecord } from '../tolerance/compare.ts';
import { comparePair, referenceRuns, type ReferenceRuns } from './compare.ts';
import { fdRecords } from './fdRecords.ts';
import { failingFdSweeps, NOTEBOOK, notebookDrift } from './notebook.ts';
import { mainJobPairs, type Pair } from './pairs.ts';

/** Everything the suite found for one golden. */
export interface CaseCheck {
  readonly case: string;
  readonly file: string;
  /** The precision the golden's inputs are stored in. */
  readonly dtype: DType;
  /** The pairs the main job compares, as data. */
  readonly pairs: readonly Pair[];
  /** Every tensor of every pair that produces results (all but finite differences). */
  readonly records: readonly ComparisonRecord[];
  /** Finite differences of the TS loss against the TS analytic gradient, per precision. */
  readonly fd: Readonly<Record<DType, FdReport>>;
  /** The notebook's drift explained (seed case only), and error-versus-step curves worth plotting. */
  readonly drifts: readonly DriftSection[];
  readonly sweeps: readonly SweepSection[];
  /** Oracles that could not run, and why (onnxruntime-node not installed): said, never hidden. */
  readonly notes: readonly string[];
}

/**
 * The main job's finite-difference check: directional (8 seeded directions, 2 × 8 × 2 loss
 * evaluations at most without kinks) with the auto step, so that it stays fast on the largest
 * case; a failing direction falls back to every element to say where.
 */
// Every part estimated (truncation too): the reports show each direction's bound in parts.
export const MAIN_JOB_FD = { mode: 'directional', directions: 8, step: 'auto', seed: 0, truncation: 'always', directionsPer: 'model' } as const;

/**
 * Where a side's results come from: the TS reference, torch's golden, onnxruntime running the
 * exported graph. Each produces the same keyed Results; undefined when it has none in a precision
 * (a graph exists in its case's precision only).
 */
type ResultsSource = (dtype: DType) => Promise<Results | undefined>;

function resultSources(golden: GoldenCase, ts: ReferenceRuns): Readonly<Record<string, ResultsSource>> {
  let onnx: Promise<Results> | undefined;
  return {
    ts: async (d) => ts[d].results,
    torch: async (d) => golden.expected[d].results,
    onnx: (d) => (d === golden.onnx.dtype ? (onnx ??= onnxOracleFor(golden).then((o) => o.run())) : Promise.resolve(undefined)),
  };
}

/**
 * The main job on one golden (what `gradparity check` runs): the TS reference against torch in
 * both precisions and against onnxruntime, torch float32 against float64, and directional finite
 * differences in both precisions, every tensor held to its derived bound.
 */
export async function checkGolden(golden: GoldenCase, options: { arithmetic?: ArithmeticModel } = {}): Promise<CaseCheck> {
  const ts = referenceRuns(golden);
  const sources = resultSources(golden, ts);
  // The TS side may be judged as if it ran on another arithmetic (Note [Arithmetic models]); its sides then say so.
  const tsModel = options.arithmetic ?? IEEE;
  const named = (side: Pair['actual']): Pair['actual'] => (side.source === 'ts' && tsModel !== IEEE ? { ...side, arithmetic: tsModel.name } : side);
  const pairs = mainJobPairs(golden).map((p) => ({ ...p, actual: named(p.actual), expected: named(p.expected) }));
  const modelOf = (side: Pair['actual']) => (side.source === 'ts' ? tsModel : IEEE);
  const notes: string[] = [];
  const records: ComparisonRecord[] = [];
  for (const pair of pairs.filter((p) => p.actual.source !== 'fd')) {
    let sides: [Results | undefined, Results | undefined];
    try {
      sides = [await sources[pair.actual.source]!(pair.actual.dtype as DType), await sources[pair.expected.source]!(pair.expected.dtype as DType)];
    } catch (err) {
      // An oracle that cannot run here is said, never hidden, and the other pairs still run.
      if (!(err instanceof OnnxRuntimeMissing || err instanceof OnnxKernelMissing)) throw err;
      const note = err instanceof OnnxKernelMissing ? `onnxruntime: not run for ${golden.name}: ${err.message}` : `onnxruntime: not run: ${err.message}`;
      if (!notes.includes(note)) notes.push(note);
      continue;
    }
    const [actual, expected] = sides;
    if (actual === undefined || expected === undefined) throw new RangeError(`${golden.name}: no results for ${pair.actual.source} or ${pair.expected.source} in this precision`);
    records.push(...comparePair(golden, ts, pair, actual, expected, [modelOf(pair.actual), modelOf(pair.expected)]));
  }
  const fd = Object.fromEntries(DTYPES.map((d) => [d, finiteDifferenceCheck(modelProblem(golden, d), MAIN_JOB_FD)])) as Record<DType, FdReport>;
  const notebook = golden.name === NOTEBOOK.case ? notebookDrift(golden) : undefined;
  return {
    case: golden.name,
    file: golden.file,
    dtype: golden.dtype,
    pairs,
    records,
    fd,
    drifts: notebook ? [notebook.drift] : [],
    sweeps: [...(notebook?.sweeps ?? []), ...DTYPES.flatMap((d) => failingFdSweeps(golden, fd[d]))],
    notes,
  };
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
