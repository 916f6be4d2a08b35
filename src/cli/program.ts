import { Command, CommanderError, Option } from 'commander';
import { InputError } from '../errors.ts';
import { loadGolden } from '../golden/load.ts';
import { onnxOracleFor } from '../onnx/oracle.ts';
import { checkGoldenFile, listGoldenFiles, passed, type CaseCheck } from '../parity/checkGoldens.ts';
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

async function checkCommand(io: Io, files: string[]): Promise<number> {
  const targets = files.length > 0 ? files : listGoldenFiles();
  const checks: CaseCheck[] = [];
  for (const file of targets) checks.push(await checkGoldenFile(file));
  io.out(`${summaryTable(summaryRows(checks))}\n`);
  const failed = checks.filter((c) => !passed(c));
  io.out(failed.length === 0 ? `\nall ${checks.length} cases within their derived bounds\n` : `\n${failed.length} of ${checks.length} cases failed\n`);
  return failed.length === 0 ? EXIT.ok : EXIT.parityFailure;
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
    .command('check', { isDefault: true })
    .description('check every golden (or the given ones) against the TypeScript model; exit 1 on any failure')
    .argument('[goldens...]', 'golden files (default: all of goldens/)')
    .action(async (files: string[]) => setCode(await checkCommand(io, files)));

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
