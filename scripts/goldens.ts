// `npm run goldens [-- --case NAME ...] [--check]`: regenerate the goldens with real PyTorch,
// validate them, show what changed, and replace goldens/ atomically. `--check` regenerates into a
// temporary directory and fails when anything differs from what is committed.
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { InputError } from '../src/errors.ts';
import { goldenFileNames, listGoldenFiles } from '../src/golden/files.ts';
import { readCaseSpecs } from '../src/golden/freshness.ts';
import { loadGolden } from '../src/golden/load.ts';
import { goldenJsonSchema } from '../src/golden/schema.ts';
import { casesJsonSchema } from '../src/golden/caseSpec.ts';
import { OnnxKernelMissing, OnnxOracle } from '../src/onnx/oracle.ts';
import { checkAgainstFresh } from './lib/check.ts';
import { GENERATOR, progressDisplay, runGenerator } from './lib/generate.ts';
import { describeChange, metadataChanges, tensorChanges } from './lib/goldenDiff.ts';
import { killPoint } from '../src/capture/killPoints.ts';
import { findPython, GENERATOR_MODULES, PythonMissing } from '../src/capture/python.ts';
import { recoverInterruptedSwap, replaceDirectory } from '../src/capture/swap.ts';

const CASE_NAME = /^[a-z0-9][a-z0-9-]*$/;
/** The JSON Schema the Python generator validates scripts/cases.json with, generated from src/golden/caseSpec.ts. */
const CASES_SCHEMA_FILE = 'scripts/cases.schema.json';

/** Whether scripts/cases.schema.json is the JSON Schema of the case-spec zod schema; writes it if not and `write`. */
function casesSchemaFresh(write: boolean): boolean {
  const text = `${JSON.stringify(casesJsonSchema(), null, 2)}\n`;
  if (existsSync(CASES_SCHEMA_FILE) && readFileSync(CASES_SCHEMA_FILE, 'utf8') === text) return true;
  if (write) writeFileSync(CASES_SCHEMA_FILE, text);
  return false;
}

interface Options {
  case: string[];
  check?: boolean;
  goldens: string;
}

class UsageError extends Error {}

function knownCases(): string[] {
  return readCaseSpecs().map((c) => c.name as string);
}

function checkCaseNames(selected: readonly string[]): void {
  const known = knownCases();
  for (const name of selected) {
    if (!CASE_NAME.test(name)) throw new UsageError(`--case ${JSON.stringify(name)}: a case name is lowercase letters, digits and dashes`);
    if (!known.includes(name)) throw new UsageError(`--case ${name}: no such case in scripts/cases.json (known: ${known.join(', ')})`);
  }
}

/** Leftovers of runs that were killed before they could clean up; nothing in them is ever used. */
function removeLeftovers(goldens: string): void {
  const prefix = `.${basename(goldens)}-staging-`;
  const parent = dirname(goldens);
  for (const entry of readdirSync(parent)) if (entry.startsWith(prefix)) rmSync(join(parent, entry), { recursive: true, force: true });
}

/**
 * Every golden in `dir` must load (zod schema, shapes, digests) and its graph must load in
 * onnxruntime, unless onnxruntime has no kernel for one of its ops in its precision: that graph is
 * valid, and the main job says it cannot run it.
 */
async function validateSet(dir: string, shownAs: string): Promise<void> {
  for (const file of listGoldenFiles(dir)) {
    const golden = loadGolden(file);
    try {
      await (await OnnxOracle.open(golden)).release();
    } catch (err) {
      if (!(err instanceof OnnxKernelMissing)) throw err;
      // Name the graph where it will live, not in the staging directory that is about to go.
      const message = err.message.split(dir).join(shownAs);
      console.warn(`goldens: note: ${message}; the ONNX oracle will not run ${golden.name}`);
    }
  }
}

function printChanges(committed: string, staging: string, selected: readonly string[]): void {
  const [before, after] = [goldenFileNames(committed), goldenFileNames(staging)];
  const lines: string[] = [];
  for (const f of after.filter((f) => !before.includes(f))) lines.push(`  new      ${f}`);
  for (const f of before.filter((f) => !after.includes(f))) lines.push(`  removed  ${f}`);
  for (const f of after.filter((f) => before.includes(f))) {
    if (selected.length > 0 && !selected.includes(f.replace(/\.json$/, ''))) continue;
    const [oldFile, newFile] = [join(committed, f), join(staging, f)];
    if (readFileSync(oldFile).equals(readFileSync(newFile))) continue;
    let changes: string[];
    try {
      changes = tensorChanges(loadGolden(oldFile), loadGolden(newFile)).map(describeChange);
    } catch (err) {
      changes = [`(the committed file does not load: ${(err as Error).message})`];
    }
    const fields = metadataChanges(oldFile, newFile);
    lines.push(`  changed  ${f}`, ...changes.map((c) => `             ${c}`), ...(fields.length > 0 ? [`             fields: ${fields.join(', ')}`] : []));
  }
  console.log(lines.length === 0 ? 'goldens: nothing changed' : ['goldens: changes against the committed set', ...lines].join('\n'));
}

/** Whether two directories hold the same files with the same bytes (one level of subdirectories). */
function sameSet(a: string, b: string): boolean {
  if (!existsSync(a)) return false;
  const files = (dir: string) => readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1)).sort();
  const [fa, fb] = [files(a), files(b)];
  return fa.join('\n') === fb.join('\n') && fa.every((f) => readFileSync(join(a, f)).equals(readFileSync(join(b, f))));
}

async function run(opts: Options): Promise<number> {
  const goldens = opts.goldens;
  const recovered = recoverInterruptedSwap(goldens);
  if (recovered) console.log(`goldens: ${recovered}`);
  removeLeftovers(goldens);
  checkCaseNames(opts.case);
  if (opts.check && opts.case.length > 0) throw new UsageError('--check regenerates every case; it takes no --case');
  // The generator validates the specs with this schema, so it is brought up to date first (in
  // --check mode, a stale one is a failure instead).
  if (!casesSchemaFresh(!opts.check)) {
    if (opts.check) {
      console.error(`goldens --check: ${CASES_SCHEMA_FILE} is not the JSON Schema of src/golden/caseSpec.ts; run npm run goldens`);
      return 1;
    }
    console.log(`goldens: ${CASES_SCHEMA_FILE} written from src/golden/caseSpec.ts`);
  }
  // A stand-in generator (tests only) needs no torch.
  const generator = process.env.GRADPARITY_GENERATOR ?? GENERATOR;
  const python = findPython(generator === GENERATOR ? GENERATOR_MODULES : []);

  const staging = mkdtempSync(join(dirname(goldens), `.${basename(goldens)}-staging-`));
  let stopGenerator: () => void = () => {};
  const abandon = (signal: string) => {
    stopGenerator();
    rmSync(staging, { recursive: true, force: true });
    console.error(`goldens: interrupted (${signal}); ${goldens}/ is unchanged`);
    process.exit(130);
  };
  process.once('SIGINT', () => abandon('SIGINT'));
  process.once('SIGTERM', () => abandon('SIGTERM'));

  try {
    const progress = progressDisplay(opts.case.length > 0 ? opts.case.length : knownCases().length);
    const started = performance.now();
    let generated = 0;
    try {
      const run = runGenerator(python, staging, opts.case, (p) => (progress.update(p), (generated = p.index)), generator);
      stopGenerator = run.stop;
      await run.done;
    } finally {
      progress.stop();
    }
    console.log(`goldens: ${generated} case(s) generated in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    killPoint('generated');
    if (opts.case.length > 0 && existsSync(goldens)) {
      // Cases that were not regenerated keep their committed golden and graph.
      for (const f of readdirSync(goldens)) if (!existsSync(join(staging, f))) cpSync(join(goldens, f), join(staging, f), { recursive: true });
      for (const f of existsSync(join(goldens, 'onnx')) ? readdirSync(join(goldens, 'onnx')) : []) {
        if (!existsSync(join(staging, 'onnx', f))) cpSync(join(goldens, 'onnx', f), join(staging, 'onnx', f));
      }
    }
    killPoint('copied');
    writeFileSync(join(staging, 'schema.json'), `${JSON.stringify(goldenJsonSchema(), null, 2)}\n`);
    await validateSet(staging, goldens);
    killPoint('validated');

    if (opts.check) {
      const { failures, warnings } = await checkAgainstFresh(goldens, staging);
      for (const w of warnings) console.warn(`goldens --check: warning: ${w}`);
      if (failures.length > 0) {
        console.error(['goldens --check: the committed goldens do not match a fresh regeneration:', ...failures.map((f) => `  ${f.replace(/\n/g, '\n  ')}`)].join('\n'));
        return 1;
      }
      console.log(`goldens --check: ${goldens}/ matches a fresh regeneration${warnings.length > 0 ? ' within the derived bounds' : ' byte for byte'}`);
      return 0;
    }

    printChanges(goldens, staging, opts.case);
    if (sameSet(goldens, staging)) {
      console.log(`goldens: ${goldens}/ already holds exactly this set; left as it was`);
      return 0;
    }
    killPoint('swapping');
    // GRADPARITY_NO_EXCHANGE (tests only) takes the journaled path of systems without an atomic exchange.
    replaceDirectory(staging, goldens, process.env.GRADPARITY_NO_EXCHANGE ? null : python);
    console.log(`goldens: ${goldens}/ replaced`);
    return 0;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const program = new Command('goldens')
    .description('regenerate the golden files with real PyTorch (scripts/generate_goldens.py)')
    .option('--case <name>', 'regenerate only this case (repeatable)', (v: string, all: string[]) => [...all, v], [])
    .option('--check', 'regenerate into a temporary directory and fail if anything differs from the committed goldens')
    .option('--goldens <dir>', 'the golden directory', 'goldens')
    .exitOverride();
  try {
    program.parse();
    process.exitCode = await run(program.opts<Options>());
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
    } else if (err instanceof UsageError || err instanceof PythonMissing || err instanceof InputError) {
      console.error(`goldens: ${err.message}`);
      process.exitCode = 2;
    } else {
      console.error(`goldens: ${(err as Error).message}; ${program.opts<Options>().goldens}/ is unchanged`);
      process.exitCode = 1;
    }
  }
}

await main();
