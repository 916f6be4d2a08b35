import { describe, expect, it } from 'vitest';
import { finiteDifferenceCheck, type FdProblem } from '../../src/fd/engine.ts';
import { tensor, type NamedTensors } from '../../src/tensor/tensor.ts';

// The engine knows nothing about MLPs: here it checks a plain smooth function,
// f(a, b) = Σ_i a_i² · b_0 + sin(b_1), whose gradient is known in closed form.

function problem(analytic: (a: number[], b: number[]) => { a: number[]; b: number[] }): FdProblem {
  const a = [0.3, -1.2, 2.0];
  const b = [0.7, 0.4];
  const point: NamedTensors = { a: tensor('float64', [3], a), b: tensor('float64', [2], b) };
  const g = analytic(a, b);
  return {
    dtype: 'float64',
    point,
    objective: (p) => {
      const [x, y] = [p.a!.data, p.b!.data];
      return { value: Array.from(x).reduce((s, v) => s + v * v, 0) * y[0]! + Math.sin(y[1]!), branches: '' };
    },
    // About ten operations on values of order 5: a generous hand bound for this toy.
    lossError: 10 * 2 ** -53 * 10,
    analytic: { a: tensor('float64', [3], g.a), b: tensor('float64', [2], g.b) },
    analyticError: { a: new Float64Array(3).fill(1e-15), b: new Float64Array(2).fill(1e-15) },
  };
}

const exact = (a: number[], b: number[]) => ({
  a: a.map((v) => 2 * v * b[0]!),
  b: [a.reduce((s, v) => s + v * v, 0), Math.cos(b[1]!)],
});

describe('the finite-difference engine on a non-MLP function', () => {
  it('refuses a step that one side of x rounds away (x = 2, a power of two: spacing 4.4e-16 above, 2.2e-16 below)', () => {
    // 2 + 1.5e-16 rounds back to 2, 2 − 1.5e-16 does not: a one-sided difference would divide by 0.
    expect(() => finiteDifferenceCheck(problem(exact), { mode: 'full', step: 1.5e-16 })).toThrow(/a\[2\] = 2: x ± h rounds back to x/);
  });

  it('fails, never passes, a check with a NaN or an infinity in it: the loss, or the analytic gradient', () => {
    const lossOf = (value: number): FdProblem => ({ ...problem(exact), objective: () => ({ value, branches: '' }) });
    const nanGradient = (a: number[], b: number[]) => ({ ...exact(a, b), a: [Number.NaN, ...exact(a, b).a.slice(1)] });
    // NaN at the point itself, finite at every step around it.
    const good = problem(exact);
    const atThePoint = (p: NamedTensors) => [...p.a!.data, ...p.b!.data].join() === [0.3, -1.2, 2.0, 0.7, 0.4].join();
    const nanAtThePoint: FdProblem = { ...good, objective: (p) => (atThePoint(p) ? { value: Number.NaN, branches: '' } : good.objective(p)) };
    for (const broken of [lossOf(Number.NaN), lossOf(Infinity), problem(nanGradient), nanAtThePoint]) {
      for (const threshold of ['worst-case', 'measured'] as const) {
        const full = finiteDifferenceCheck(broken, { mode: 'full', threshold });
        expect(full.verdict).toBe('fail');
        expect(full.elements.filter((e) => e.verdict === 'pass').every((e) => Number.isFinite(e.numeric) && Number.isFinite(e.analytic))).toBe(true);
        expect(finiteDifferenceCheck(broken, { mode: 'directional', directions: 4, fallBack: false, threshold }).verdict).toBe('fail');
      }
    }
  });

  it('passes the exact gradient in full and directional mode', () => {
    expect(finiteDifferenceCheck(problem(exact), { mode: 'full' }).verdict).toBe('pass');
    expect(finiteDifferenceCheck(problem(exact), { mode: 'directional', directions: 4 }).verdict).toBe('pass');
  });

  it('fails a gradient off by 1e-6 relative in one element, and says which', () => {
    const wrong = (a: number[], b: number[]) => {
      const g = exact(a, b);
      g.b[1] = g.b[1]! * (1 + 1e-6);
      return g;
    };
    const full = finiteDifferenceCheck(problem(wrong), { mode: 'full' });
    expect(full.verdict).toBe('fail');
    expect(full.elements.filter((e) => e.verdict === 'fail').map((e) => `${e.tensor}[${e.index}]`)).toEqual(['b[1]']);
  });

  it('falls back from a failing direction to the element that is wrong', () => {
    const wrong = (a: number[], b: number[]) => {
      const g = exact(a, b);
      g.a[2] = -g.a[2]!;
      return g;
    };
    const report = finiteDifferenceCheck(problem(wrong), { mode: 'directional', directions: 3 });
    expect(report.directions.some((d) => d.verdict === 'fail')).toBe(true);
    expect(report.fellBack).toBe(true);
    expect(report.elements.filter((e) => e.verdict === 'fail').map((e) => `${e.tensor}[${e.index}]`)).toEqual(['a[2]']);
  });

  it('divides by the step actually taken unless asked to divide by 2h', () => {
    const actual = finiteDifferenceCheck(problem(exact), { step: 1e-3 });
    const nominal = finiteDifferenceCheck(problem(exact), { step: 1e-3, divideBy: 'nominal' });
    expect(actual.elements.every((e) => e.bound.stepRepresentation === 0)).toBe(true);
    expect(nominal.elements.some((e) => e.bound.stepRepresentation > 0)).toBe(true);
  });

  it('Richardson extrapolation shrinks the error of a coarse step', () => {
    const plain = finiteDifferenceCheck(problem(exact), { step: 1e-2 });
    const extrapolated = finiteDifferenceCheck(problem(exact), { step: 1e-2, richardson: true });
    const worst = (r: typeof plain) => Math.max(...r.elements.map((e) => e.absDiff));
    expect(worst(extrapolated)).toBeLessThan(worst(plain) / 100);
    expect(extrapolated.verdict).toBe('pass');
  });

  it('leaves the caller\'s tensors untouched', () => {
    const p = problem(exact);
    const before = Array.from(p.point.a!.data);
    finiteDifferenceCheck(p, { mode: 'directional' });
    expect(Array.from(p.point.a!.data)).toEqual(before);
  });
});

describe('a problem with nothing to perturb', () => {
  it('is refused rather than passed', () => {
    const empty: FdProblem = { ...problem(exact), point: { a: tensor('float64', [0]) }, analytic: { a: tensor('float64', [0]) }, analyticError: { a: new Float64Array(0) } };
    expect(() => finiteDifferenceCheck(empty)).toThrow('nothing to check');
  });
});

describe('a point on a piece narrower than the step', () => {
  // f(x) = relu(x + d) − relu(x − d), d = 1e-30: slope 1 on (−d, d), 0 outside. At x = 0 every
  // usable step crosses both kinks, so the one-sided differences (≈ 0) say nothing of the slope 1
  // there: the element is undecided, not failed, and not passed as a bracketed kink either.
  const problemAt = (slope: number, d = 1e-30, at = 0): FdProblem => ({
    dtype: 'float64',
    point: { x: tensor('float64', [1], [at]) },
    objective: (p) => {
      const x = p.x!.data[0]!;
      return { value: Math.max(x + d, 0) - Math.max(x - d, 0), branches: `${x + d > 0}${x - d > 0}` };
    },
    lossError: 2 ** -53,
    analytic: { x: tensor('float64', [1], [slope]) },
    analyticError: { x: new Float64Array(1) },
  });

  it.each(['full', 'directional'] as const)('is reported as undecided in %s mode', (mode) => {
    const report = finiteDifferenceCheck(problemAt(1), { mode, directions: 1 });
    const [check] = mode === 'full' ? report.elements : report.directions;
    expect(check).toMatchObject({ verdict: 'kink', undecided: true });
    expect(report.verdict).not.toBe('fail');
  });

  it('still holds a one-sided kink to its bracket', () => {
    // With d = 1, at x = 1 only the upper kink is within the step: the slope there (PyTorch's
    // choice at a kink is either side's) must lie between 0 and 1, so 2 fails.
    const [check] = finiteDifferenceCheck(problemAt(2, 1, 1), { mode: 'full' }).elements;
    expect(check!.undecided).toBeUndefined();
    expect(check!.verdict).toBe('fail');
  });
});
