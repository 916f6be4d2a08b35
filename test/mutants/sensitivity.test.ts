import { describe, expect, it } from 'vitest';
import { loadGolden } from '../../src/golden/load.ts';
import { relativeThreshold, thresholds } from '../../scripts/mutants/sensitivity.ts';

// The smallest relative error in one gradient element that each oracle detects, per precision.
// npm run mutants measures every case and prints the table of docs/tolerance-policy.md §6; here,
// the deepest case, a float64 case with a float64 graph, and the notebook's.
const CASES = ['batch32-four-hidden', 'wide256-soft-sum-f64', 'seed-3-4-2'];

describe('detection thresholds', () => {
  it('are the distance to the edge of the allowed interval, relative to the element', () => {
    expect(relativeThreshold(2, 1, 3)).toBe(0.5);
    expect(relativeThreshold(-2, -3, -1)).toBe(0.5);
    expect(relativeThreshold(0, -1, 1)).toBe(Infinity);
  });

  it.each(CASES)('%s: every oracle detects a 1e-3 relative error in float64, and the threshold is confirmed end to end', async (name) => {
    const measured = await thresholds(loadGolden(`goldens/${name}.json`));
    for (const t of measured) expect(t.confirmed, `${t.oracle} ${t.dtype}`).toBe(true);
    for (const t of measured.filter((m) => m.dtype === 'float64')) expect(t.threshold, `${t.oracle} float64`).toBeLessThan(1e-3);
    // Comparing with torch in float64 resolves differences near the float64 rounding level.
    expect(measured.find((m) => m.oracle === 'torch' && m.dtype === 'float64')!.threshold).toBeLessThan(1e-10);
  });
});
