import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError } from '../errors.ts';
import { loadModuleGolden } from '../golden/moduleGolden.ts';
import { checkModuleGolden } from '../parity/moduleParity.ts';
import { percent } from '../report/format.ts';
import { worstShareByPair } from '../report/summary.ts';
import { sideLabel } from '../tolerance/compare.ts';
import { findPython } from './python.ts';
import { recoverInterruptedSwap, replaceDirectory } from './swap.ts';

// Note [Capturing your own models]
// `gradparity capture CASES.py` (and `npm run capture` in this repository) runs python/capture.py
// into a staging folder beside the goldens folder, checks every golden it wrote (schema, digests,
// and onnxruntime and torch float32 against torch, within the bound derived from the model's own
// graph), and only then swaps the staging folder in, atomically. A failure at any point leaves
// the goldens folder as it was. `--check` captures and compares byte for byte instead.

/** python/capture.py, from src/capture/ or dist/capture/ alike. */
const CAPTURE = resolve(import.meta.dirname, '..', '..', 'python', 'capture.py');

export interface CaptureOptions {
  /** The goldens folder (default: goldens/ next to the cases file). */
  readonly out?: string;
  /** Only these cases; the folder keeps the others. */
  readonly case: readonly string[];
  readonly check?: boolean;
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

/** Captures the cases of `casesFile`; returns the exit code (0 done, 1 a golden fails its own check or --check differs, 2 bad input). */
export async function captureModels(casesFile: string, opts: CaptureOptions, io: { out(text: string): void; err(text: string): void }): Promise<number> {
  if (!existsSync(casesFile)) throw new InputError(casesFile, null, 'no such cases file');
  const target = resolve(opts.out ?? join(dirname(casesFile), 'goldens'));
  const python = findPython(['torch', 'onnx']);
  const recovered = recoverInterruptedSwap(target);
  if (recovered !== null) io.err(`gradparity capture: ${recovered}\n`);
  const staging = mkdtempSync(join(dirname(target), `.${basename(target)}-staging-`));
  try {
    if (opts.case.length > 0 && existsSync(target)) cpSync(target, staging, { recursive: true });
    const started = performance.now();
    const run = spawnSync(python, [CAPTURE, casesFile, '--out', staging, ...opts.case.flatMap((c) => ['--case', c])], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: dirname(CAPTURE) } });
    if (run.status !== 0) {
      const reason = run.stderr.split('\n').filter((l) => l.startsWith('capture: ')).join('\n') || run.stderr.trim().split('\n').slice(-3).join('\n');
      io.err(`${reason}\ngradparity capture: python/capture.py exited with ${run.status}; ${target} is unchanged\n`);
      return 2;
    }
    const captured = run.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { case: string; seconds: number });
    let failed = 0;
    for (const { case: name, seconds } of captured) {
      const records = await checkModuleGolden(loadModuleGolden(join(staging, `${name}.json`)));
      const worst = worstShareByPair(records);
      const bad = records.filter((r) => r.verdict === 'fail');
      io.out(`${name}: captured in ${seconds.toFixed(2)} s; ${[...worst].map(([pair, share]) => `${pair} ${percent(share)}`).join(', ')} of the graph bound${bad.length > 0 ? ` — FAIL: ${bad.map((r) => `${r.tensor} ${sideLabel(r.actual)}~${sideLabel(r.expected)}`).join(', ')}` : ''}\n`);
      failed += bad.length;
    }
    if (failed > 0) {
      io.err(`gradparity capture: ${failed} comparison(s) outside the graph-derived bound: the export does not reproduce torch; ${target} is unchanged\n`);
      return 1;
    }
    if (opts.check) {
      const [fresh, committed] = [filesOf(staging), existsSync(target) ? filesOf(target) : new Map<string, Buffer>()];
      const differ = [...new Set([...fresh.keys(), ...committed.keys()])].sort().filter((f) => !(fresh.get(f)?.equals(committed.get(f) ?? Buffer.alloc(0)) ?? false));
      if (differ.length > 0) {
        io.err(`gradparity capture --check: ${target} differs from a fresh capture in ${differ.join(', ')}; capture again without --check\n`);
        return 1;
      }
      io.out(`gradparity capture --check: ${target} matches a fresh capture byte for byte\n`);
      return 0;
    }
    replaceDirectory(staging, target, python);
    io.out(`gradparity capture: ${captured.length} case(s) in ${((performance.now() - started) / 1000).toFixed(1)} s, written to ${target}\n`);
    return 0;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
