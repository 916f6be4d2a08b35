// `npm run elementary-accuracy`: how accurate are the elementary functions the bounds assume
// (the ieee arithmetic model, src/tolerance/arithmetic.ts)? Evaluates V8's Math.exp, Math.log, Math.log1p, Math.tanh and
// gradparity's erf on a seeded set of points, in binary64 and rounded to binary32 (the TS
// reference's float32), and hands them to scripts/elementary_accuracy.py, which measures them, and
// PyTorch's own float32 and float64 functions when torch is there, against mpmath at 50 digits.
// Needs /usr/bin/python3 (or $PYTHON) with mpmath (Debian: python3-mpmath).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom } from '../src/fd/random.ts';
import { erf } from '../src/ops/erf.ts';

const random = seededRandom(20261129);
const spread = (n: number, lo: number, hi: number) => Array.from({ length: n }, () => lo + (hi - lo) * random());
const grid = (n: number, lo: number, hi: number) => Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / n);
const FUNCTIONS: Record<string, { f: (x: number) => number; points: number[] }> = {
  exp: { f: Math.exp, points: spread(20000, -80, 80) },
  log: { f: Math.log, points: [...spread(10000, 1e-6, 10), ...spread(10000, 0.5, 2), ...spread(2000, 1, 1e30)] },
  log1p: { f: Math.log1p, points: [...spread(10000, -0.999, 10), ...spread(5000, -1e-6, 1e-6)] },
  tanh: { f: Math.tanh, points: [...spread(20000, -10, 10), ...spread(5000, -1e-4, 1e-4)] },
  // Densely around |x| = 1 too, where gradparity's erf switches from its series to the continued fraction.
  erf: { f: erf, points: [...spread(40000, -6, 6), ...spread(5000, -1e-3, 1e-3), ...grid(40000, 0.9, 1.1), ...grid(40000, -1.1, -0.9)] },
};

const samples = Object.fromEntries(
  Object.entries(FUNCTIONS).map(([name, { f, points }]) => [name, points.map((x) => ({ x, f64: f(x), f32: Math.fround(f(Math.fround(x))), x32: Math.fround(x) }))]),
);
const dir = mkdtempSync(join(tmpdir(), 'gradparity-elementary-'));
try {
  const file = join(dir, 'samples.json');
  writeFileSync(file, JSON.stringify(samples));
  const run = spawnSync(process.env.PYTHON ?? '/usr/bin/python3', ['scripts/elementary_accuracy.py', file], { stdio: 'inherit' });
  process.exitCode = run.status ?? 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
