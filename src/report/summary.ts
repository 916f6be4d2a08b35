import { sideLabel, worstShare, type ComparisonRecord } from '../tolerance/compare.ts';
import { percent, textTable } from './format.ts';
import { matrixColumns } from './markdown.ts';

/**
 * `3.8%`, `FAIL 150%`, `-` when the pair was not compared, or `undecided` when finite
 * differences could decide none of the elements (each on a piece narrower than the step): a
 * matrix cell in plain text.
 */
function cell(records: readonly ComparisonRecord[]): string {
  if (records.length === 0) return '-';
  if (records.every((r) => r.undecided !== undefined && r.undecided === r.numel)) return 'undecided';
  const worst = records.reduce((w, r) => Math.max(w, worstShare(r)), 0);
  return `${records.some((r) => r.verdict === 'fail') ? 'FAIL ' : ''}${percent(worst)}`;
}

/**
 * The table `npm start` prints: the Markdown report's case × oracle matrix in plain text, one
 * column per pair the records hold (the same columns, derived the same way), each cell the worst
 * share of its bound any element used, and a verdict per case.
 */
export function summaryTable(records: readonly ComparisonRecord[]): string {
  const columns = matrixColumns(records);
  const cases = [...new Set(records.map((r) => r.case))];
  const rows = cases.map((name) => {
    const mine = records.filter((r) => r.case === name);
    const failed = mine.filter((r) => r.verdict === 'fail');
    return [name, ...columns.map((c) => cell(mine.filter(c.matches))), failed.length === 0 ? 'pass' : `FAIL (${failed.length} comparison${failed.length === 1 ? '' : 's'})`];
  });
  return textTable(['case', ...columns.map((c) => c.title), 'verdict'], rows);
}

/** The largest share of its bound any element used, per pair of sides (labelled `actual~expected`, or by `label`). */
export function worstShareByPair(records: readonly ComparisonRecord[], label = (r: ComparisonRecord) => `${sideLabel(r.actual)}~${sideLabel(r.expected)}`): Map<string, number> {
  const worst = new Map<string, number>();
  for (const r of records) worst.set(label(r), Math.max(worst.get(label(r)) ?? 0, worstShare(r)));
  return worst;
}
