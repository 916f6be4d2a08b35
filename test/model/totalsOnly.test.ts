import { describe, expect, it } from 'vitest';
import { listGoldenFiles } from '../../src/golden/files.ts';
import { loadGolden } from '../../src/golden/load.ts';
import { modelBounds } from '../../src/model/bounds.ts';
import { runModel } from '../../src/model/sequential.ts';
import { widths } from '../../src/model/spec.ts';
import { isZero, sharedZeros, totals } from '../../src/tolerance/errorBound.ts';
import { gamma } from '../../src/tolerance/roundoff.ts';

// Note [Totals only]: finite differences carry each bound as its total. Over every committed
// golden, in both precisions, the totals must be the split bounds' totals to the rounding of the
// bound arithmetic: a part dropped or counted twice anywhere would be off by far more.

const GOLDENS = listGoldenFiles('goldens').map((f) => loadGolden(f));

describe('bounds carried as totals (Note [Totals only])', () => {
  it.each(GOLDENS.flatMap((g) => (['float64', 'float32'] as const).map((dtype) => [g.name, dtype, g] as const)))('%s in %s: every total as the split bounds give it', (_name, dtype, golden) => {
    const run = runModel(golden.spec, golden.inputs, dtype);
    const request = { fwd: run.fwd, bwd: run.bwd, stored: run.fwd.inputs, sides: [dtype, 'exact'] as const };
    const split = modelBounds(request);
    const carried = modelBounds({ ...request, totalsOnly: true });
    // Both are float64 sums of nonnegative terms; a term's path through the model takes at most
    // one rounding per term of every reduction it passes (twice over: forward and backward, each
    // layer's widths and the batch) plus a few dozen per module and for the loss: each result is
    // within γ_K of the exact value, so the two within 2γ_K of each other.
    const w = widths(golden.spec);
    const batch = golden.inputs.x.shape[0]!;
    const roundings = 2 * (w.reduce((s, v) => s + v, 0) + batch * golden.spec.modules.length) + 64 * (golden.spec.modules.length + 1);
    const slack = 2 * gamma(roundings, 2 ** -53);
    let compared = 0;
    for (const [key, bound] of split) {
      const want = totals(bound);
      const got = carried.get(key)!;
      expect(got.parts.elementary.every((v) => v === 0) && got.parts.branch.every((v) => v === 0)).toBe(true);
      totals(got).forEach((v, i) => {
        expect(Number.isFinite(v)).toBe(Number.isFinite(want[i]!));
        if (Number.isFinite(v)) expect(Math.abs(v - want[i]!)).toBeLessThanOrEqual(slack * want[i]!);
        compared++;
      });
    }
    expect(compared).toBeGreaterThan(0);
    // No rule wrote into the zeros that bounds carried as totals share.
    for (const bound of carried.values()) expect(isZero(sharedZeros(bound.parts.arithmetic.length))).toBe(true);
  });
});
