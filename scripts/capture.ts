// `npm run capture -- CASES.py [--out DIR] [--case NAME ...] [--check]`: captures your own PyTorch models as
// goldens (python/capture.py documents the case format), checks every new golden (schema, digests,
// and onnxruntime and torch float32 against torch within the bound derived from the model's own
// graph), and only then replaces the goldens folder, atomically. Nothing is half-written: a
// failure leaves the folder as it was. `--check` captures into a temporary folder and fails unless
// it matches the goldens folder byte for byte (the capture is deterministic).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { InputError } from '../src/errors.ts';
import { loadModuleGolden } from '../src/golden/moduleGolden.ts';
import { checkModuleGolden } from '../src/parity/moduleParity.ts';
import { percent } from '../src/report/format.ts';
import { sideLabel, worstShare } from '../src/tolerance/compare.ts';
import { findPython, PythonMissing } from './lib/python.ts';
import { recoverInterruptedSwap, replaceDirectory } from './lib/swap.ts';

const CAPTURE = resolve(import.meta.dirname, '..', 'python', 'capture.py');

interface Options {
  out?: string;
  case: string[];
  check?: boolean;
}

/** Every file under a directory, by path relative to it, with its bytes. */
function filesOf(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const path = join(dir, entry);
    if (statSync(path).isFile()) out.set(entry, readFileSync(path));
  }
  return out;
}

async function main(argv: string[]): Promise<number> {
  const program = new Command('capture')
    .argument('<cases>', 'your Python file defining CASES (see python/capture.py)')
    .option('--out <dir>', 'the goldens folder to write (default: goldens/ next to the cases file)')
    .option('--case <name>', 'only this case (repeatable); the folder keeps the others', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--check', 'capture into a temporary folder and fail unless it matches the goldens folder byte for byte')
    .exitOverride();
  program.parse(argv, { from: 'user' });
  const casesFile = program.args[0]!;
  const opts = program.opts<Options>();
  if (!existsSync(casesFile)) throw new InputError(casesFile, null, 'no such cases file');
  const target = resolve(opts.out ?? join(dirname(casesFile), 'goldens'));
  const python = findPython(['torch', 'onnx']);
  const recovered = recoverInterruptedSwap(target);
  if (recovered !== null) console.error(`capture: ${recovered}`);
  const staging = mkdtempSync(join(dirname(target), `.${basename(target)}-staging-`));
  try {
    // A partial capture keeps every other golden of the folder.
    if (opts.case.length > 0 && existsSync(target)) cpSync(target, staging, { recursive: true });
    const started = performance.now();
    const run = spawnSync(python, [CAPTURE, casesFile, '--out', staging, ...opts.case.flatMap((c) => ['--case', c])], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: dirname(CAPTURE) } });
    if (run.status !== 0) {
      process.stderr.write(run.stderr.split('\n').filter((l) => !/Warning|warn\(/.test(l)).join('\n'));
      console.error(`capture: python/capture.py exited with ${run.status}; ${target} is unchanged`);
      return 2;
    }
    const captured = run.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { case: string; seconds: number });
    let failed = 0;
    for (const { case: name, seconds } of captured) {
      const golden = loadModuleGolden(join(staging, `${name}.json`));
      const records = await checkModuleGolden(golden);
      const bad = records.filter((r) => r.verdict === 'fail');
      const worst = new Map<string, number>();
      for (const r of records) worst.set(`${sideLabel(r.actual)}~${sideLabel(r.expected)}`, Math.max(worst.get(`${sideLabel(r.actual)}~${sideLabel(r.expected)}`) ?? 0, worstShare(r)));
      console.log(`${name}: captured in ${seconds.toFixed(2)} s; ${[...worst].map(([pair, share]) => `${pair} ${percent(share)}`).join(', ')} of the graph bound${bad.length > 0 ? ` — FAIL: ${bad.map((r) => `${r.tensor} ${sideLabel(r.actual)}~${sideLabel(r.expected)}`).join(', ')}` : ''}`);
      failed += bad.length;
    }
    if (failed > 0) {
      console.error(`capture: ${failed} comparison(s) outside the graph-derived bound: the export does not reproduce torch; ${target} is unchanged`);
      return 1;
    }
    if (opts.check) {
      const [fresh, committed] = [filesOf(staging), existsSync(target) ? filesOf(target) : new Map<string, Buffer>()];
      const differ = [...new Set([...fresh.keys(), ...committed.keys()])].sort().filter((f) => !(fresh.get(f)?.equals(committed.get(f) ?? Buffer.alloc(0)) ?? false));
      if (differ.length > 0) {
        console.error(`capture --check: ${target} differs from a fresh capture in ${differ.join(', ')}; run npm run capture -- ${casesFile}`);
        return 1;
      }
      console.log(`capture --check: ${target} matches a fresh capture byte for byte`);
      return 0;
    }
    replaceDirectory(staging, target, python);
    console.log(`capture: ${captured.length} case(s) in ${((performance.now() - started) / 1000).toFixed(1)} s, written to ${target}`);
    return 0;
  } finally {
    rmSync(staging, { recursive: true, force: true });
    for (const entry of readdirSync(dirname(target))) if (entry.startsWith(`.${basename(target)}-staging-`)) rmSync(join(dirname(target), entry), { recursive: true, force: true });
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof CommanderError) process.exitCode = err.exitCode === 0 ? 0 : 2;
  else if (err instanceof InputError || err instanceof PythonMissing) {
    console.error(`capture: ${err.message}`);
    process.exitCode = 2;
  } else throw err;
}
