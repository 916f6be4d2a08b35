import { describe, expect, it } from 'vitest';
import { finiteDifferenceCheck } from '../../src/fd/engine.ts';
import { modelProblem } from '../../src/fd/modelProblem.ts';
import { differenceTableNoise, lossRounding, normalQuantile, twoSidedTail } from '../../src/fd/noise.ts';
import { gaussian, seededRandom } from '../../src/fd/random.ts';
import { loadGolden } from '../../src/golden/load.ts';
import { gradcheckText } from '../../src/report/gradcheckText.ts';

describe('the normal quantile of a false-alarm probability', () => {
  it('matches the textbook values and inverts its own tail', () => {
    expect(normalQuantile(0.05)).toBeCloseTo(1.959964, 5);
    expect(normalQuantile(1e-3)).toBeCloseTo(3.290527, 5);
    expect(normalQuantile(1e-6)).toBeCloseTo(4.891638, 5);
    for (const alpha of [0.3, 1e-4, 1e-9, 1e-14]) expect(twoSidedTail(normalQuantile(alpha)) / alpha).toBeCloseTo(1, 6);
  });

  it('refuses a probability outside (0, 1)', () => {
    for (const bad of [0, 1, -0.1, Number.NaN]) expect(() => normalQuantile(bad)).toThrow(RangeError);
  });
});

describe('the difference-table noise estimate (Moré and Wild)', () => {
  const random = seededRandom(7);
  const table = (sigma: number) => Array.from({ length: 9 }, (_, j) => Math.sin(1 + j * 1e-3) + sigma * gaussian(random));

  it('finds the noise added to a smooth function: its median within 30%, none below a tenth, over 400 tables', () => {
    for (const sigma of [1e-9, 1e-6, 1e-3]) {
      const ratios = Array.from({ length: 400 }, () => (differenceTableNoise(table(sigma)) ?? Number.NaN) / sigma).sort((a, b) => a - b);
      expect(ratios.every(Number.isFinite)).toBe(true);
      expect(ratios[200]).toBeGreaterThan(0.7);
      expect(ratios[200]).toBeLessThan(1.3);
      // One table's estimate can come out several times low: why a threshold also takes its tensor's pooled level.
      expect(ratios[0]).toBeGreaterThan(0.1);
    }
  });

  it('finds none where a smooth trend dominates every order, and stays at float64\'s own level without added noise', () => {
    expect(differenceTableNoise([0, 1, 8, 27, 64, 125, 216, 343, 512])).toBeNull();
    expect(differenceTableNoise(table(0)) ?? 0).toBeLessThan(1e-15);
  });

  it('floors at half an ulp of the loss', () => {
    expect(lossRounding(1, 'float32')).toBe(2 ** -24);
    expect(lossRounding(0, 'float32')).toBe(0);
  });
});

/** The float32 problem of a golden with the largest-magnitude element of one gradient tensor scaled by `factor`. */
function largestTimes(golden: ReturnType<typeof loadGolden>, name: string, factor: number) {
  const base = modelProblem(golden, 'float32');
  const g = Float64Array.from(base.analytic[name]!.data);
  const i = g.reduce((best, v, k) => (Math.abs(v) > Math.abs(g[best]!) ? k : best), 0);
  g[i] = g[i]! * factor;
  return modelProblem(golden, 'float32', { ...base.analytic, [name]: { shape: base.analytic[name]!.shape, data: g } });
}

describe('float32 finite differences by measured noise (Note [Measured noise instead of its worst case])', () => {
  const golden = loadGolden('goldens/batch7-class-mean.json');

  it('judge every element by a threshold far below the worst case, and say so', () => {
    const measured = finiteDifferenceCheck(modelProblem(golden, 'float32'), {});
    const worst = finiteDifferenceCheck(modelProblem(golden, 'float32'), { threshold: 'worst-case' });
    expect(measured.verdict).toBe('pass');
    const models = measured.elements.map((e) => e.threshold?.model ?? 'worst-case');
    expect(models.filter((m) => m === 'measured').length).toBeGreaterThan(measured.elements.length * 0.9);
    const ratio = measured.elements.map((e, k) => e.bound.total / worst.elements[k]!.bound.total).sort((a, b) => a - b);
    expect(ratio[Math.floor(ratio.length / 2)]).toBeLessThan(0.2);
    const t = measured.elements.find((e) => e.threshold?.model === 'measured')!.threshold!;
    if (t.model !== 'measured') throw new Error('unreachable');
    expect(t.perRun).toBe(1e-3);
    expect(t.perCheck).toBeCloseTo(1e-3 / measured.elements.length, 15);
  });

  it('catch a ×1.1 error on the largest first-layer gradient of a wide network, which the worst case lets through', () => {
    const planted = largestTimes(loadGolden('goldens/wide256-class-mean.json'), '0.weight', 1.1);
    // One element per tensor: the sample keeps each tensor's largest gradient, the planted one among them.
    const at = (r: ReturnType<typeof finiteDifferenceCheck>) => r.elements.find((e) => e.tensor === '0.weight')!;
    expect(at(finiteDifferenceCheck(planted, { maxElementsPerTensor: 1 })).verdict).toBe('fail');
    expect(at(finiteDifferenceCheck(planted, { maxElementsPerTensor: 1, threshold: 'worst-case' })).verdict).toBe('pass');
  });

  it('take directions within each tensor, the gradient\'s own first, and so catch what directions over the whole model miss', () => {
    const wide = loadGolden('goldens/wide256-class-mean.json');
    const base = modelProblem(wide, 'float32');
    const planted = largestTimes(wide, '2.weight', 1.1);
    const withinTensors = finiteDifferenceCheck(planted, { mode: 'directional', fallBack: false });
    expect(withinTensors.directions.length).toBe(8 * Object.keys(base.point).length);
    expect(withinTensors.directions.filter((d) => d.verdict === 'fail').every((d) => d.tensor === '2.weight')).toBe(true);
    expect(withinTensors.verdict).toBe('fail');
    expect(finiteDifferenceCheck(planted, { mode: 'directional', fallBack: false, directionsPer: 'model' }).verdict).toBe('pass');
    // And the unmodified gradient passes every direction.
    expect(finiteDifferenceCheck(base, { mode: 'directional', fallBack: false }).verdict).toBe('pass');
  });

  it('call a check whose noise alone is as large as its gradient undecided, not a pass', () => {
    // batch32-four-hidden's mean over 32 rows leaves some input gradients of 1e-5 under float32 noise.
    const report = finiteDifferenceCheck(modelProblem(loadGolden('goldens/batch32-four-hidden.json'), 'float32'), { maxElementsPerTensor: 8 });
    const undecided = report.elements.filter((e) => e.verdict === 'undecided');
    expect(undecided.length).toBeGreaterThan(0);
    for (const e of undecided) {
      expect(e.undecided).toBe(true);
      expect(e.threshold?.model).toBe('measured');
      expect(e.bound.rounding).toBeGreaterThanOrEqual(Math.abs(e.analytic));
      expect(e.absDiff).toBeLessThanOrEqual(e.bound.total);
    }
    // Nothing failed, so the run passes; the undecided checks are said in the tally.
    expect(report.verdict).toBe('pass');
    expect(gradcheckText('batch32-four-hidden', { report, recheck: undefined, explanation: undefined, verdict: 'pass' })).toContain(`${undecided.length} undecided`);
  });

  it('keep the worst case in float64 under auto', () => {
    const report = finiteDifferenceCheck(modelProblem(golden, 'float64'), { maxElementsPerTensor: 4 });
    expect(report.elements.every((e) => e.threshold === undefined)).toBe(true);
  });
});
