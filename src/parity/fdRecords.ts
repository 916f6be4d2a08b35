import type { FdElementCheck, FdReport } from '../fd/engine.ts';
import { gradKey } from '../results/keys.ts';
import { ulpDistance } from '../tensor/ulp.ts';
import type { ComparisonRecord, ElementReport } from '../tolerance/compare.ts';

function elementReport(e: { index: readonly number[]; numeric: number; analytic: number; absDiff: number; bound: FdElementCheck['bound']; share: number }): ElementReport {
  const { total, ...parts } = e.bound;
  return {
    index: e.index,
    actual: e.numeric,
    expected: e.analytic,
    absDiff: e.absDiff,
    relDiff: e.absDiff === 0 ? 0 : e.absDiff / Math.abs(e.analytic),
    bound: total,
    boundParts: parts,
    share: e.share,
  };
}

const largestBy = <T>(items: readonly T[], key: (t: T) => number): T | undefined =>
  items.reduce<T | undefined>((best, t) => (best === undefined || key(t) > key(best) ? t : best), undefined);

/**
 * A finite-difference report as comparison records, one per tensor and one for the directions:
 * `fd:<dtype>` is the numeric derivative,
 * `ts:<dtype>` the analytic gradient it is held against.
 */
export function fdRecords(caseName: string, report: FdReport, file?: string): ComparisonRecord[] {
  const actual = { source: 'fd', dtype: report.dtype };
  const expected = { source: 'ts', dtype: report.dtype };
  const groups = new Map<string, { index: readonly number[]; numeric: number; analytic: number; absDiff: number; bound: FdElementCheck['bound']; share: number; verdict: string; undecided?: true }[]>();
  for (const e of report.elements) groups.set(gradKey(e.tensor), [...(groups.get(gradKey(e.tensor)) ?? []), e]);
  // Directions are kept after a fallback too: a failed direction is evidence in its own right.
  if (report.directions.length > 0) {
    groups.set('directional', report.directions.map((d) => ({ ...d, index: [d.direction] })));
  }
  return [...groups].map(([tensor, checks]) => {
    const rel = (c: (typeof checks)[number]) => (c.absDiff === 0 ? 0 : c.absDiff / Math.abs(c.analytic));
    const mismatched = checks.filter((c) => c.verdict === 'fail').length;
    const maxUlps = checks.reduce((m, c) => Math.max(m, ulpDistance(c.numeric, c.analytic, report.dtype)), 0);
    const pick = (c: (typeof checks)[number] | undefined) => (c === undefined ? null : elementReport(c));
    return {
      case: caseName,
      ...(file === undefined ? {} : { file }),
      tensor,
      actual,
      expected,
      shape: [checks.length],
      numel: checks.length,
      mismatched,
      nonFinite: checks.filter((c) => !Number.isFinite(c.numeric) || !Number.isFinite(c.analytic)).length,
      greatestAbs: pick(largestBy(checks, (c) => c.absDiff)),
      greatestRel: pick(largestBy(checks, rel)),
      worst: pick(largestBy(checks, (c) => c.share)),
      maxUlps,
      kinks: checks.filter((c) => c.verdict === 'kink').length,
      ...(checks.some((c) => c.undecided) ? { undecided: checks.filter((c) => c.undecided).length } : {}),
      verdict: mismatched === 0 ? 'pass' : 'fail',
    };
  });
}
