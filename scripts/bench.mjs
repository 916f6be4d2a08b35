// `npm run bench`: gradparity's finite differences against torch.autograd.gradcheck on the same
// problems, side by side in one run. A benchmark, not a test: it prints times and ratios and
// asserts nothing about them. Both sides are timed inside their own process (start-up and file
// loading excluded), float64, after a warm-up on the same problem (torch: a fast-mode gradcheck;
// ours: 40 directional checks of each kind); torch on one thread, gradparity on every core. Our full-mode
// float64 times are the median of three runs (a run of a few hundred milliseconds varies by ±20%
// on a busy machine), torch's a single run of its much longer slow mode; directional times, a few
// milliseconds each on both sides, are the median of 11.
// Rows: three committed goldens, and a 39,690-value problem (batch 32, 128-256-10, class
// targets) that real PyTorch generates into a temporary directory through the golden generator.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findPython, PythonMissing } from '../dist/capture/python.js';
import { finiteDifferenceCheck } from '../dist/fd/engine.js';
import { goldenCheck } from '../dist/fd/parallel.js';
import { modelProblem } from '../dist/fd/modelProblem.js';
import { loadGolden } from '../dist/golden/load.js';

const COMMITTED = ['batch32-four-hidden', 'wide256-soft-sum-f64', 'wide256-class-mean'].map((c) => `goldens/${c}.json`);
const LARGE_CASE = {
  name: 'bench-128-256-10',
  description: 'Benchmark problem: batch 32, 128-256-10, class targets (39,690 values).',
  dtype: 'float64',
  model: { inputSize: 128, modules: [{ op: 'linear', out: 256, bias: true }, { op: 'relu' }, { op: 'linear', out: 10, bias: true }], loss: { op: 'cross_entropy', target: 'class_indices', reduction: 'mean' } },
  batch: 32,
  seed: 128,
};

/** The median time of `runs` runs of f (async or not), with the last run's value. */
const median = async (f, runs = 3) => {
  const times = [];
  let value;
  for (let k = 0; k < runs; k++) {
    const started = performance.now();
    value = await f();
    times.push((performance.now() - started) / 1000);
  }
  return { value, s: times.sort((a, b) => a - b)[Math.floor(runs / 2)] };
};

let python;
try {
  python = findPython(['torch']);
} catch (err) {
  if (!(err instanceof PythonMissing)) throw err;
  console.log(`torch is missing, so there is no torch column and no 39,690-value problem:\n${err.message}\n`);
}

const goldens = [...COMMITTED];
const scratch = mkdtempSync(join(tmpdir(), 'gradparity-bench-'));
try {
  if (python) {
    writeFileSync(join(scratch, 'cases.json'), JSON.stringify({ cases: [LARGE_CASE] }));
    const run = spawnSync(python, ['scripts/generate_goldens.py', '--cases', join(scratch, 'cases.json'), '--out', scratch], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`generating ${LARGE_CASE.name} failed:\n${run.stderr}`);
    goldens.push(join(scratch, `${LARGE_CASE.name}.json`));
  }
  const torch = new Map();
  if (python) {
    const run = spawnSync(python, ['scripts/bench_gradcheck.py', ...goldens], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
    if (run.status !== 0) throw new Error(`scripts/bench_gradcheck.py failed:\n${run.stderr}`);
    for (const line of run.stdout.trim().split('\n')) {
      const row = JSON.parse(line);
      torch.set(row.golden, row);
    }
  }
  // Warm-up on another problem: compile the hot paths once, as torch's first call loads its kernels.
  const warm = loadGolden('goldens/batch7-class-mean.json');
  for (const dtype of ['float64', 'float32']) {
    await goldenCheck(warm, dtype);
    finiteDifferenceCheck(modelProblem(warm, dtype), { mode: 'directional' });
  }
  const rows = [];
  for (const file of goldens) {
    const golden = loadGolden(file);
    // Torch warms up with one fast-mode check, then times its slow mode, thousands of evaluations,
    // before it times fast mode. V8 compiles a function fully only after it has run a few times,
    // in a background thread that shares the two cores with our worker: the two-thread check
    // reaches its steady time only after 30 to 40 runs (about 0.3 s on the small problems), so
    // ours warms up with 40 of each directional check.
    for (let k = 0; k < 40; k++) {
      finiteDifferenceCheck(modelProblem(golden, 'float64'), { mode: 'directional' });
      await goldenCheck(golden, 'float64', { mode: 'directional' });
    }
    // Directional, the whole check (the problem's analytic gradient and error bounds included): on
    // two threads, its first evaluations in a warm worker while this one computes the bounds
    // (Note [Directions on two threads]), and on this thread alone. A few milliseconds each, so
    // the median of 11; and before the full checks, whose hundreds of megabytes of garbage V8
    // collects for a while after on the second core, where the worker runs.
    const directional = await median(() => goldenCheck(golden, 'float64', { mode: 'directional' }), 11);
    const oneThread = await median(() => finiteDifferenceCheck(modelProblem(golden, 'float64'), { mode: 'directional' }), 11);
    const full64 = await median(() => goldenCheck(golden, 'float64'));
    const full32 = await median(() => goldenCheck(golden, 'float32'), 1);
    const t = torch.get(file);
    const values = full64.value.elements.length;
    rows.push([
      golden.name, values.toLocaleString('en-US'),
      t ? t.slow.toFixed(3) : '–', full64.s.toFixed(3), t ? `${(t.slow / full64.s).toFixed(1)}×` : '–',
      full32.s.toFixed(3),
      t ? (t.fast * 1000).toFixed(1) : '–', (directional.s * 1000).toFixed(1), t ? `${(directional.s / t.fast).toFixed(1)}×` : '–',
      (oneThread.s * 1000).toFixed(1), t ? `${(oneThread.s / t.fast).toFixed(1)}×` : '–',
      `${full64.value.verdict}/${full32.value.verdict}/${directional.value.verdict}${t ? ` torch ${t.slowPassed ? 'pass' : 'fail'}` : ''}`,
    ]);
  }
  const header = ['problem', 'values', 'torch slow s', 'full f64 s', 'torch ÷ ours', 'full f32 s', 'torch fast ms', 'directional ms', 'ours ÷ torch', 'one thread ms', 'ours ÷ torch', 'verdicts f64/f32/dir'];
  const widths = header.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k].length)));
  const line = (cells) => `| ${cells.map((c, k) => c.padEnd(widths[k])).join(' | ')} |`;
  console.log([line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n'));
  console.log('\nfull: every element, central differences (torch: gradcheck slow mode, one thread, one run; ours: every core, median of 3 in float64).');
  console.log('directional: torch fast mode (one random direction, its analytic gradient included) against ours (8 directions),');
  console.log('  the whole check (our analytic gradient and its error bounds included), on two threads and on one (median of 11).');
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
