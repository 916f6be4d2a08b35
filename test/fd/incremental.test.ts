import { describe, expect, it } from 'vitest';
import { autoStep, finiteDifferenceCheck, StepTooSmall, type FdProblem } from '../../src/fd/engine.ts';
import { modelProblem } from '../../src/fd/modelProblem.ts';
import { backgroundStart, goldenCheck, idleWorkers } from '../../src/fd/parallel.ts';
import { listGoldenFiles } from '../../src/golden/files.ts';
import { loadGolden } from '../../src/golden/load.ts';
import { ShapeError } from '../../src/model/sequential.ts';
import { DTYPES } from '../../src/tensor/dtype.ts';
import { cast, type NamedTensors } from '../../src/tensor/tensor.ts';

const goldens = listGoldenFiles().map(loadGolden);
const byName = (name: string) => goldens.find((g) => g.name === name)!;

/** The full objective at the point with element i of `name` at `value`. */
function fullAt(problem: FdProblem, name: string, i: number, value: number) {
  const point: NamedTensors = Object.fromEntries(Object.entries(problem.point).map(([k, t]) => [k, cast(t, problem.dtype)]));
  point[name]!.data[i] = value;
  return problem.objective(point);
}

describe('one-element steps re-evaluate only what they reach (Note [Re-evaluating only what a perturbation changes])', () => {
  // Every golden (every op, loss, target kind and corner), both precisions, a spread of elements
  // of every tensor, steps of the auto size and far smaller ones, both directions.
  it.each(goldens.map((g) => [g.name, g] as const))('%s: bit-identical to a full forward pass, kinks recognised alike', (_name, golden) => {
    const base = { float32: modelProblem(golden, 'float32'), float64: modelProblem(golden, 'float64') };
    let compared = 0;
    for (const dtype of DTYPES) {
      const problem = base[dtype];
      const unperturbed = problem.objective(problem.point).branches;
      for (const [name, t] of Object.entries(problem.point)) {
        const n = t.data.length;
        for (const i of new Set([0, n - 1, n >> 1])) {
          for (const scale of [1, -1 / 64]) {
            const moved = cast(t, dtype);
            moved.data[i] = t.data[i]! + scale * autoStep(dtype, t.data[i]!);
            const value = moved.data[i]!;
            const full = fullAt(problem, name, i, value);
            const fast = problem.perturbed!(name, i, value);
            expect(Object.is(fast.value, full.value), `${dtype} ${name}[${i}] ×${scale}: ${fast.value} vs ${full.value}`).toBe(true);
            expect(fast.branches === unperturbed).toBe(full.branches === unperturbed);
            compared++;
          }
        }
      }
    }
    expect(compared).toBeGreaterThan(0);
  });
});

describe('the second step only when needed (Note [The second step only when needed])', () => {
  const cases = ['seed-3-4-2', 'relu-kink', 'batch7-class-mean', 'near-kink-subnormal', 'l1-values-mean'].filter((n) => goldens.some((g) => g.name === n));

  it.each(cases)('%s: every verdict is the one `always` gives, with fewer evaluations', (name) => {
    for (const dtype of DTYPES) {
      const problem = modelProblem(byName(name), dtype);
      // The worst case: a measured threshold takes every point anyway (its noise table needs them).
      const always = finiteDifferenceCheck(problem, { truncation: 'always', threshold: 'worst-case' });
      const lazy = finiteDifferenceCheck(problem, { truncation: 'when-needed', threshold: 'worst-case' });
      expect(lazy.elements.map((e) => e.verdict + (e.undecided ? '?' : ''))).toEqual(always.elements.map((e) => e.verdict + (e.undecided ? '?' : '')));
      expect(lazy.evaluations).toBeLessThan(always.evaluations);
      // Where the second step was skipped, the element passed on a bound without its truncation part.
      for (const e of lazy.elements.filter((e) => e.truncationEstimated === false)) {
        expect(e.verdict).toBe('pass');
        expect(e.bound.truncation).toBe(0);
        expect(e.absDiff).toBeLessThanOrEqual(e.bound.total);
      }
    }
  });

  it('a planted error still fails, on the second step', () => {
    const golden = byName('batch7-class-mean');
    const good = modelProblem(golden, 'float64');
    const analytic = Object.fromEntries(Object.entries(good.analytic).map(([k, t]) => [k, cast(t, 'float64')]));
    analytic['0.weight']!.data[3] = analytic['0.weight']!.data[3]! * 1.01;
    const report = finiteDifferenceCheck(modelProblem(golden, 'float64', analytic), { truncation: 'when-needed', threshold: 'worst-case' });
    const planted = report.elements.find((e) => e.tensor === '0.weight' && e.index.join() === '0,3')!;
    expect(planted.verdict).toBe('fail');
    expect(planted.truncationEstimated).toBeUndefined();
  });
});

describe('full mode on every core (Note [Full mode on every core])', () => {
  it('gives the report a single thread gives, element for element', async () => {
    const golden = byName('batch7-class-mean');
    const parallel = await goldenCheck(golden, 'float32', {}, 2);
    const single = finiteDifferenceCheck(modelProblem(golden, 'float32'), {});
    expect(parallel.elements.length).toBeGreaterThan(64); // more than two chunks: both threads take some
    expect(JSON.parse(JSON.stringify(parallel))).toEqual(JSON.parse(JSON.stringify(single)));
  });

  it('throws a step too small to take as one thread does, and its workers stay usable (Note [Warm workers])', async () => {
    const golden = byName('batch7-class-mean');
    await expect(goldenCheck(golden, 'float64', { step: 1e-300 }, 2)).rejects.toThrow(StepTooSmall);
    const again = await goldenCheck(golden, 'float64', {}, 2);
    expect(JSON.parse(JSON.stringify(again))).toEqual(JSON.parse(JSON.stringify(finiteDifferenceCheck(modelProblem(golden, 'float64'), {}))));
  });
});

/** Makes sure a warm worker is idle, for the directional check to take (Note [Warm workers]). */
async function withIdleWorker(): Promise<void> {
  // With none idle, a directional check runs alone and starts one in the background.
  if (idleWorkers() === 0) await goldenCheck(byName('batch7-class-mean'), 'float64', { mode: 'directional' }, 2);
  await backgroundStart();
  expect(idleWorkers()).toBeGreaterThan(0);
}

describe('directional mode on two threads (Note [Directions on two threads])', () => {
  it.each([['batch7-class-mean'], ['wide256-class-mean'], ['tanh-mlp-f64']])('%s: the report a single thread gives, in both precisions', async (name) => {
    const golden = byName(name);
    await withIdleWorker();
    for (const dtype of DTYPES) {
      const parallel = await goldenCheck(golden, dtype, { mode: 'directional' }, 2);
      const single = finiteDifferenceCheck(modelProblem(golden, dtype), { mode: 'directional' });
      expect(parallel.directions.length).toBeGreaterThan(0);
      expect(JSON.parse(JSON.stringify(parallel))).toEqual(JSON.parse(JSON.stringify(single)));
    }
  });

  it('throws bad input as one thread does, and its worker stays usable', async () => {
    const golden = byName('batch7-class-mean');
    await withIdleWorker();
    const x = golden.inputs.x;
    const bad = { ...golden, inputs: { ...golden.inputs, x: { shape: [x.shape[0]!, x.shape[1]! + 1], data: new Float64Array(x.data.length + x.shape[0]!) } } };
    await expect(goldenCheck(bad, 'float64', { mode: 'directional' }, 2)).rejects.toThrow(ShapeError);
    const again = await goldenCheck(golden, 'float64', { mode: 'directional' }, 2);
    expect(JSON.parse(JSON.stringify(again))).toEqual(JSON.parse(JSON.stringify(finiteDifferenceCheck(modelProblem(golden, 'float64'), { mode: 'directional' }))));
  });
});
