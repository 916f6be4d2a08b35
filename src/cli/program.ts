import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { InputError } from '../errors.ts';
import type { DType } from '../tensor/dtype.ts';

// Each command imports what it needs when it runs, so that `--help` and `--version` load
// commander and nothing else (zod, onnxruntime and vega take longer to load than the help takes
// to print).

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

/** The version in package.json, two folders up from this file in src/ and in the compiled output alike. */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

async function evalCommand(io: Io, file: string, opts: { dtype?: DType; oracle: 'ts' | 'onnx' }): Promise<number> {
  const { loadGolden } = await import('../golden/load.ts');
  const { runModel } = await import('../model/sequential.ts');
  const golden = loadGolden(file);
  let dtype = opts.dtype ?? golden.dtype;
  let results;
  if (opts.oracle === 'onnx') {
    // A graph is exported in its case's precision only: shapes and dtypes are fixed at export.
    if (dtype !== golden.onnx.dtype) throw new InputError(file, ['onnx', 'dtype'], `the graph is ${golden.onnx.dtype}; --dtype ${dtype} is not available from onnxruntime`);
    const { onnxOracleFor } = await import('../onnx/oracle.ts');
    const oracle = await onnxOracleFor(golden);
    results = await oracle.run();
    dtype = oracle.dtype;
  } else {
    results = runModel(golden.spec, golden.inputs, dtype).results;
  }
  // Every tensor by its key (loss, logits, out.<m>, grad.<name>), as {shape, data}.
  const tensors = Object.fromEntries([...results].map(([key, t]) => [key, { shape: [...t.shape], data: Array.from(t.data) }]));
  io.out(`${JSON.stringify({ case: golden.name, dtype, tensors }, null, 2)}\n`);
  return EXIT.ok;
}

/** `--arithmetic`: a preset's name, or a JSON file holding a model of your own. */
async function loadArithmetic(given: string | undefined) {
  if (given === undefined) return undefined;
  const { arithmeticModel, ARITHMETIC_PRESETS } = await import('../tolerance/arithmetic.ts');
  if (given in ARITHMETIC_PRESETS) return arithmeticModel(given);
  const { readFileSync } = await import('node:fs');
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(given, 'utf8'));
  } catch (err) {
    throw new InputError(given, null, `--arithmetic: neither a preset (${Object.keys(ARITHMETIC_PRESETS).join(', ')}) nor a readable JSON model (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return arithmeticModel(json, given);
}

async function checkCommand(io: Io, args: string[], opts: { reports: string | false; arithmetic?: string }): Promise<number> {
  const arithmetic = await loadArithmetic(opts.arithmetic);
  if (arithmetic !== undefined) io.out(`arithmetic: the TS side judged as running on ${arithmetic.name} (${arithmetic.description}); torch and onnxruntime on ieee\n`);
  const { expandGoldenArgs, GOLDENS_DIR } = await import('../golden/files.ts');
  const { existsSync } = await import('node:fs');
  if (args.length === 0 && !existsSync(GOLDENS_DIR)) {
    throw new InputError(GOLDENS_DIR, null, 'no such directory here: nothing to check; name golden files or a directory, e.g. gradparity check path/to/goldens');
  }
  const { goldens: files, skipped } = expandGoldenArgs(args.length > 0 ? args : [GOLDENS_DIR]);
  for (const file of skipped) io.err(`gradparity: skipping ${file}: not a golden (it has none of a golden's fields)\n`);
  if (files.length === 0) throw new InputError(args.join(' ') || GOLDENS_DIR, null, 'holds no golden files: nothing to check');

  const { loadGolden } = await import('../golden/load.ts');
  const { CASES_FILE, GENERATOR_SOURCES, staleMessage, staleness } = await import('../golden/freshness.ts');
  const { checkGolden, passed, reportInputOf } = await import('../parity/checkGoldens.ts');
  const { summaryTable } = await import('../report/summary.ts');
  const { isModuleGoldenFile, loadModuleGolden } = await import('../golden/moduleGolden.ts');
  const { checkModuleGolden } = await import('../parity/moduleParity.ts');
  const checks: Awaited<ReturnType<typeof checkGolden>>[] = [];
  // Goldens of your own models (gradparity capture): torch and onnxruntime against the bound of the model's graph.
  const moduleChecks: { name: string; records: Awaited<ReturnType<typeof checkModuleGolden>> }[] = [];
  const inputFailures: { file: string; message: string }[] = [];
  // A golden or graph that cannot be read is reported and the others are still checked.
  for (const file of files) {
    try {
      if (isModuleGoldenFile(file)) {
        const golden = loadModuleGolden(file);
        moduleChecks.push({ name: golden.name, records: await checkModuleGolden(golden) });
        continue;
      }
      const golden = loadGolden(file);
      // In the gradparity repository itself, say when a golden lags behind its spec or generator.
      if (existsSync(CASES_FILE) && GENERATOR_SOURCES.every((f) => existsSync(f))) {
        const stale = staleness(golden);
        if (stale !== null) io.err(`gradparity: warning: ${staleMessage(golden, stale)}\n`);
      }
      checks.push(await checkGolden(golden, arithmetic === undefined ? {} : { arithmetic }));
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      inputFailures.push({ file: err.file, message: err.message });
      io.err(`gradparity: ${err.message}\n`);
    }
  }
  for (const note of new Set(checks.flatMap((c) => c.notes))) io.err(`gradparity: note: ${note}\n`);
  const { buildReport } = await import('../report/parityReport.ts');
  const input = reportInputOf(checks, inputFailures);
  const report = buildReport({ ...input, records: [...input.records, ...moduleChecks.flatMap((c) => c.records)] });
  const cases = checks.length + moduleChecks.length;
  if (cases > 0) io.out(`${summaryTable(report.records)}\n`);
  const failed = [...checks.filter((c) => !passed(c)), ...moduleChecks.filter((c) => c.records.some((r) => r.verdict === 'fail'))];
  const verdict = failed.length === 0 && inputFailures.length === 0
    ? `all ${cases} cases within their derived bounds`
    : [failed.length > 0 ? `${failed.length} of ${cases} cases failed` : '', inputFailures.length > 0 ? `${inputFailures.length} input(s) could not be checked` : ''].filter(Boolean).join('; ');
  io.out(`\n${verdict}\n`);
  if (process.env.GITHUB_ACTIONS === 'true') {
    const { failureAnnotations } = await import('../report/annotations.ts');
    for (const line of failureAnnotations(report.records.map((record) => ({ record })))) io.out(`${line}\n`);
  }
  if (opts.reports !== false) {
    const { writeReports } = await import('../report/writeReports.ts');
    const written = await writeReports(report, opts.reports);
    io.out(`reports: ${written.filter((f) => !f.endsWith('.svg')).join(', ')} and ${written.filter((f) => f.endsWith('.svg')).length} plot(s)\n`);
  }
  if (inputFailures.length > 0) return EXIT.badInput;
  return failed.length === 0 ? EXIT.ok : EXIT.parityFailure;
}

interface GradcheckOptions {
  dtype: DType;
  step: 'auto' | number;
  mode: 'full' | 'directional';
  richardson?: boolean;
  json?: boolean;
  directions: number;
  seed: number;
  divideBy: 'actual' | 'nominal';
  truncation: 'always' | 'when-needed';
  threshold: 'auto' | 'worst-case' | 'measured';
  falseAlarm: number;
  arithmetic?: string;
  sweep?: { tensor: string; index: number[] };
  explain?: { tensor: string; index: number[] };
}

async function gradcheckCommand(io: Io, file: string, opts: GradcheckOptions): Promise<number> {
  const { loadGolden } = await import('../golden/load.ts');
  const { finiteDifferenceCheck, StepTooSmall } = await import('../fd/engine.ts');
  const { concludeGradcheck, sweepElement } = await import('../fd/explain.ts');
  const { modelProblem } = await import('../fd/modelProblem.ts');
  const { gradcheckText, sweepText } = await import('../report/gradcheckText.ts');
  const golden = loadGolden(file);
  const { dtype } = opts;
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
  const fdOptions = {
    step: opts.step, mode: opts.mode, richardson: opts.richardson ?? false,
    directions: opts.directions, seed: opts.seed, divideBy: opts.divideBy, truncation: opts.truncation,
    threshold: opts.threshold, falseAlarm: opts.falseAlarm,
  };
  const { goldenCheck } = await import('../fd/parallel.ts');
  const { modelProblemData, problemFromData } = await import('../fd/modelProblem.ts');
  const arithmetic = await loadArithmetic(opts.arithmetic);
  let report;
  try {
    // Full mode runs on every core (Note [Full mode on every core]); the report is the same.
    // Directional mode takes milliseconds, less than a worker takes to start (Note [Warm workers]).
    report = fdOptions.mode === 'full'
      ? await goldenCheck(golden, dtype, fdOptions, undefined, arithmetic)
      : finiteDifferenceCheck(problemFromData(modelProblemData(golden, dtype, undefined, arithmetic)), fdOptions);
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
  const outcome = concludeGradcheck((d) => modelProblem(golden, d), report, opts.explain);
  const { recheck, explanation, verdict } = outcome;
  const model = arithmetic?.name ?? 'ieee';
  io.out(opts.json ? `${JSON.stringify({ case: golden.name, arithmetic: model, ...report, float64Recheck: recheck, explanation, verdict }, null, 2)}\n` : `arithmetic: ${model} (the worst-case bounds' model; docs/tolerance-policy.md §1)\n${gradcheckText(golden.name, outcome)}`);
  return verdict === 'pass' ? EXIT.ok : EXIT.parityFailure;
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

function parseProbability(value: string): number {
  const p = Number(value);
  if (!(p > 0 && p < 1)) throw new InvalidArgumentError('expected a probability strictly between 0 and 1');
  return p;
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
    .version(packageVersion(), '-V, --version', 'print the version')
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
    .command('check')
    .description('check every golden (or the given files and directories) against the TypeScript model; exit 1 on any failure')
    .argument('[goldens...]', 'golden files or directories of goldens (default: goldens/); files that are not goldens are skipped')
    .option('--reports <dir>', 'write the parity reports (Markdown, JSON, SVG) here', 'reports')
    .option('--no-reports', 'do not write reports')
    .option('--arithmetic <model>', 'judge the TS side as running on this arithmetic: ieee (default), webgpu, or a JSON file of your own model')
    .action(async (files: string[], opts: { reports: string | false; arithmetic?: string }) => setCode(await checkCommand(io, files, opts)));

  program
    .command('gradcheck')
    .description('check the TS analytic gradients against central differences, with a derived bound per element; exit 1 on a real failure')
    .argument('<golden>', 'a golden file, e.g. goldens/seed-3-4-2.json')
    // float64 by default: in float32 the loss's own rounding, divided by the step, hides most
    // bugs (docs/tolerance-policy.md §6); float32 is there to see that drift, not to judge by it.
    .addOption(new Option('--dtype <dtype>', 'precision to evaluate the loss in').choices(['float32', 'float64']).default('float64'))
    .addOption(new Option('--step <h>', 'step: "auto" (∛u·max(1, |θ|)) or a number').default('auto').argParser(parseStep))
    .addOption(new Option('--mode <mode>', 'every element, or k random directions (falling back to every element on failure)').choices(['full', 'directional']).default('full'))
    .option('--richardson', 'extrapolate (4·D(h/2) − D(h))/3 to cancel the h² term')
    .addOption(new Option('--directions <k>', 'directional mode: number of unit directions (per tensor in float32, the first two from the gradient)').default(8).argParser(parsePositiveInt))
    .addOption(new Option('--seed <n>', 'seed for the directions').default(0).argParser(parseSeed))
    .addOption(new Option('--divide-by <what>', 'divide by the step actually taken, or by the nominal 2h').choices(['actual', 'nominal']).default('actual'))
    .addOption(new Option('--truncation <when>', 'full mode: estimate the truncation error with a second step at every element, or only where the first step leaves the verdict in doubt').choices(['always', 'when-needed']).default('when-needed'))
    .addOption(new Option('--threshold <model>', 'rounding part of each threshold: measured noise (float32 under auto) or the worst case (float64 under auto)').choices(['auto', 'measured', 'worst-case']).default('auto'))
    .addOption(new Option('--false-alarm <p>', 'measured thresholds: probability of any false failure in the run').default(1e-3).argParser(parseProbability))
    .option('--arithmetic <model>', 'worst-case bounds for this arithmetic: ieee (default), webgpu, or a JSON file of your own model')
    .addOption(new Option('--explain <element>', 'explain this element\'s drift (default: the largest relative drift), e.g. x[0,0]').argParser(parseElement))
    .addOption(new Option('--sweep <element>', 'instead: error against step from 1e-1 to 1e-9 for one element, e.g. x[0,0]').argParser(parseElement))
    .option('--json', 'machine-readable output')
    .action(async (file: string, opts: GradcheckOptions) => setCode(await gradcheckCommand(io, file, opts)));

  program
    .command('capture')
    .description('capture your own PyTorch models as goldens (needs PyTorch; the case format is documented in python/capture.py)')
    .argument('<cases>', 'your Python file defining CASES')
    .option('--out <dir>', 'the goldens folder to write (default: goldens/ next to the cases file)')
    .option('--case <name>', 'only this case (repeatable); the folder keeps the others', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--check', 'capture into a temporary folder and fail unless it matches the goldens folder byte for byte')
    .action(async (file: string, opts: { out?: string; case: string[]; check?: boolean }) => {
      const { captureModels } = await import('../capture/capture.ts');
      setCode(await captureModels(file, opts, io));
    });

  return program;
}

/** Runs the CLI on `args` (without node and script) and returns the exit code. */
export async function runCli(args: readonly string[], io: Io = processIo): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram(io, (c) => (code = c));
  // Nothing to do is not a success: show what there is to do, and say nothing ran.
  if (args.length === 0) {
    io.out(program.helpInformation());
    return EXIT.badInput;
  }
  const commands = [...program.commands.map((c) => c.name()), 'help'];
  const [first = ''] = args;
  if (!first.startsWith('-') && !commands.includes(first)) {
    io.err(`gradparity: unknown command ${JSON.stringify(first)}; the commands are ${commands.join(', ')} (see gradparity --help)\n`);
    return EXIT.badInput;
  }
  try {
    await program.parseAsync([...args], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return err.exitCode === 0 ? EXIT.ok : EXIT.badInput;
    }
    // Bad input, or an optional dependency the command needs and cannot find: one line, exit 2.
    if (err instanceof InputError || (err instanceof Error && (err.name === 'OnnxRuntimeMissing' || err.name === 'OnnxKernelMissing' || err.name === 'PythonMissing'))) {
      io.err(`gradparity: ${err.message}\n`);
      return EXIT.badInput;
    }
    throw err;
  }
  return code;
}
