import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { finiteDifferenceCheck, StepTooSmall, type FdOptions } from '../fd/engine.ts';
import { explainDrift, sweepElement } from '../fd/explain.ts';
import { mlpProblem } from '../fd/mlpProblem.ts';
import { gradcheckText, sweepText } from '../report/gradcheckText.ts';
import { InputError } from '../errors.ts';
import { existsSync } from 'node:fs';
import { CASES_FILE, GENERATOR_FILE, staleMessage, staleReasons } from '../golden/freshness.ts';
import { loadGolden } from '../golden/load.ts';
import { onnxOracleFor } from '../onnx/oracle.ts';
import { listGoldenFiles } from '../golden/files.ts';
import { checkGolden, passed, reportInputOf, type CaseCheck } from '../parity/checkGoldens.ts';
import { buildReport, type InputFailure } from '../report/parityReport.ts';
import { writeReports } from '../report/writeReports.ts';
import { resultsJson, runTs } from '../parity/results.ts';
import { summaryRows, summaryTable } from '../report/summary.ts';
import type { DType } from '../tensor/dtype.ts';

/** Where the CLI writes; tests pass their own. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const EXIT = { ok: 0, parityFailure: 1, badInput: 2 } as const;

const processIo: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

async function evalCommand(io: Io, file: string, opts: { dtype?: DType; oracle: 'ts' | 'onnx' }): Promise<number> {
  const golden = loadGolden(file);
  let dtype = opts.dtype ?? golden.dtype;
  let results;
  if (opts.oracle === 'onnx') {
    // A graph is exported in its case's precision only: shapes and dtypes are fixed at export.
    if (dtype !== golden.onnx.dtype) throw new InputError(file, ['onnx', 'dtype'], `the graph is ${golden.onnx.dtype}; --dtype ${dtype} is not available from onnxruntime`);
    const oracle = await onnxOracleFor(golden);
    results = await oracle.run();
    dtype = oracle.dtype;
  } else {
    results = runTs(golden.spec, golden.inputs, dtype).results;
  }
  io.out(`${JSON.stringify(resultsJson(golden.name, dtype, results), null, 2)}\n`);
  return EXIT.ok;
}

async function checkCommand(io: Io, files: string[], opts: { reports: string | false }): Promise<number> {
  const targets = files.length > 0 ? files : listGoldenFiles();
  const checks: CaseCheck[] = [];
  const inputFailures: InputFailure[] = [];
  // A golden or graph that cannot be read is reported and the others are still checked.
  for (const file of targets) {
    try {
      const golden = loadGolden(file);
      // In the gradparity repository itself, say when a golden lags behind its spec or generator.
      if (existsSync(CASES_FILE) && existsSync(GENERATOR_FILE)) {
        const stale = staleReasons(golden);
        if (stale.length > 0) io.err(`gradparity: warning: ${staleMessage(golden, stale)}\n`);
      }
      checks.push(await checkGolden(golden));
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      inputFailures.push({ file: err.file, message: err.message });
      io.err(`gradparity: ${err.message}\n`);
    }
  }
  io.out(`${summaryTable(summaryRows(checks))}\n`);
  const failed = checks.filter((c) => !passed(c));
  const verdict = failed.length === 0 && inputFailures.length === 0
    ? `all ${checks.length} cases within their derived bounds`
    : [failed.length > 0 ? `${failed.length} of ${checks.length} cases failed` : '', inputFailures.length > 0 ? `${inputFailures.length} input(s) could not be checked` : ''].filter(Boolean).join('; ');
  io.out(`\n${verdict}\n`);
  if (opts.reports !== false) {
    const written = await writeReports(buildReport(reportInputOf(checks, inputFailures)), opts.reports);
    io.out(`reports: ${written.filter((f) => !f.endsWith('.svg')).join(', ')} and ${written.filter((f) => f.endsWith('.svg')).length} plot(s)\n`);
  }
  if (inputFailures.length > 0) return EXIT.badInput;
  return failed.length === 0 ? EXIT.ok : EXIT.parityFailure;
}

interface GradcheckOptions {
  dtype?: DType;
  step: 'auto' | number;
  mode: 'full' | 'directional';
  richardson?: boolean;
  json?: boolean;
  directions: number;
  seed: number;
  divideBy: 'actual' | 'nominal';
  sweep?: { tensor: string; index: number[] };
  explain?: { tensor: string; index: number[] };
}

function gradcheckCommand(io: Io, file: string, opts: GradcheckOptions): number {
  const golden = loadGolden(file);
  const dtype = opts.dtype ?? golden.dtype;
  if (opts.sweep !== undefined) {
    const { tensor, index } = opts.sweep;
    let sweep;
    try {
      sweep = sweepElement(golden, dtype, tensor, index, opts.divideBy);
    } catch (err) {
      if (err instanceof RangeError) throw new InputError(file, null, `--sweep: ${err.message}`);
      throw err;
    }
    io.out(opts.json ? `${JSON.stringify({ case: golden.name, dtype, tensor, index, ...sweep }, null, 2)}\n` : sweepText(`${golden.name}: ${tensor}[${index.join(',')}]`, dtype, sweep));
    return EXIT.ok;
  }
  const fdOptions: Partial<FdOptions> = {
    step: opts.step, mode: opts.mode, richardson: opts.richardson ?? false,
    directions: opts.directions, seed: opts.seed, divideBy: opts.divideBy,
  };
  let report;
  try {
    report = finiteDifferenceCheck(mlpProblem(golden, dtype), fdOptions);
  } catch (err) {
    if (err instanceof StepTooSmall) throw new InputError(file, null, `--step: ${err.message}`);
    throw err;
  }
  if (opts.explain) {
    const { tensor, index } = opts.explain;
    if (report.elements.length === 0) throw new InputError(file, null, '--explain: directional mode checks directions, not elements; add --mode full');
    if (!report.elements.some((e) => e.tensor === tensor && e.index.join() === index.join())) {
      throw new InputError(file, null, `--explain: ${tensor}[${index.join(',')}] is not an element of this case (it has ${Object.keys(golden.inputs.params).join(', ')} and x)`);
    }
  }
  const explanation = explainDrift(golden, report, opts.explain);
  io.out(opts.json ? `${JSON.stringify({ case: golden.name, ...report, explanation }, null, 2)}\n` : gradcheckText(golden.name, report, explanation));
  return report.verdict === 'pass' ? EXIT.ok : EXIT.parityFailure;
}

/** Above this the h² term no longer estimates the truncation error (the h⁴ term shows). */
const LARGEST_STEP = 0.1;

function parseStep(value: string): 'auto' | number {
  if (value === 'auto') return 'auto';
  const h = Number(value);
  if (!(Number.isFinite(h) && h > 0)) throw new InvalidArgumentError('expected "auto" or a positive number such as 1e-5');
  if (h > LARGEST_STEP) throw new InvalidArgumentError(`steps above ${LARGEST_STEP} are outside the range where the truncation estimate holds`);
  return h;
}

function parseSeed(value: string): number {
  const n = Number(value);
  if (!(Number.isInteger(n) && n >= 0)) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
}

function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!(Number.isInteger(n) && n > 0)) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

/** `x[0,0]`, `0.weight[1,2]` or `2.bias[1]`. */
function parseElement(value: string): { tensor: string; index: number[] } {
  const match = /^([\w.]+)\[(\d+(?:,\s*\d+)*)\]$/.exec(value);
  if (!match) throw new InvalidArgumentError('expected a tensor and an index, e.g. x[0,0] or 0.weight[1,2]');
  return { tensor: match[1]!, index: match[2]!.split(',').map(Number) };
}

function buildProgram(io: Io, setCode: (code: number) => void): Command {
  const program = new Command('gradparity')
    .description('Check hand-written gradients against PyTorch, with bounds derived from floating-point error analysis.')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err });

  program
    .command('eval')
    .description('print the TypeScript model\'s loss, logits and gradients on a golden\'s inputs, as JSON')
    .argument('<golden>', 'a golden file, e.g. goldens/seed-3-4-2.json')
    .addOption(new Option('--dtype <dtype>', 'precision to evaluate in (default: the golden\'s)').choices(['float32', 'float64']))
    .addOption(new Option('--oracle <oracle>', 'who computes the results: the TS model, or onnxruntime running the exported autograd graph').choices(['ts', 'onnx']).default('ts'))
    .action(async (file: string, opts: { dtype?: DType; oracle: 'ts' | 'onnx' }) => setCode(await evalCommand(io, file, opts)));

  program
    .command('gradcheck')
    .description('check the TS analytic gradients against central differences, with a derived bound per element; exit 1 on a real failure')
    .argument('<golden>', 'a golden file, e.g. goldens/seed-3-4-2.json')
    .addOption(new Option('--dtype <dtype>', 'precision to evaluate the loss in (default: the golden\'s)').choices(['float32', 'float64']))
    .addOption(new Option('--step <h>', 'step: "auto" (∛u·max(1, |θ|)) or a number').default('auto').argParser(parseStep))
    .addOption(new Option('--mode <mode>', 'every element, or k random directions (falling back to every element on failure)').choices(['full', 'directional']).default('full'))
    .option('--richardson', 'extrapolate (4·D(h/2) − D(h))/3 to cancel the h² term')
    .addOption(new Option('--directions <k>', 'directional mode: number of random unit directions').default(8).argParser(parsePositiveInt))
    .addOption(new Option('--seed <n>', 'seed for the directions').default(0).argParser(parseSeed))
    .addOption(new Option('--divide-by <what>', 'divide by the step actually taken, or by the nominal 2h').choices(['actual', 'nominal']).default('actual'))
    .addOption(new Option('--explain <element>', 'explain this element\'s drift (default: the largest relative drift), e.g. x[0,0]').argParser(parseElement))
    .addOption(new Option('--sweep <element>', 'instead: error against step from 1e-1 to 1e-9 for one element, e.g. x[0,0]').argParser(parseElement))
    .option('--json', 'machine-readable output')
    .action((file: string, opts: GradcheckOptions) => setCode(gradcheckCommand(io, file, opts)));

  program
    .command('check', { isDefault: true })
    .description('check every golden (or the given ones) against the TypeScript model; exit 1 on any failure')
    .argument('[goldens...]', 'golden files (default: all of goldens/)')
    .option('--reports <dir>', 'write the parity reports (Markdown, JSON, SVG) here', 'reports')
    .option('--no-reports', 'do not write reports')
    .action(async (files: string[], opts: { reports: string | false }) => setCode(await checkCommand(io, files, opts)));

  return program;
}

/** Runs the CLI on `args` (without node and script) and returns the exit code. */
export async function runCli(args: readonly string[], io: Io = processIo): Promise<number> {
  let code: number = EXIT.ok;
  try {
    await buildProgram(io, (c) => (code = c)).parseAsync([...args], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return err.exitCode === 0 ? EXIT.ok : EXIT.badInput;
    }
    if (err instanceof InputError) {
      io.err(`gradparity: ${err.message}\n`);
      return EXIT.badInput;
    }
    throw err;
  }
  return code;
}
