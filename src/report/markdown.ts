import { FD_BOUND_PARTS } from '../fd/engine.ts';
import { sideLabel, worstShare, type ComparisonRecord } from '../tolerance/compare.ts';
import { percent, precise, sci } from './format.ts';
import { boundDerivation, mismatchMessage } from './message.ts';
import type { ParityReport, SweepSection } from './parityReport.ts';
import { driftText } from './gradcheckText.ts';

/** The matrix's columns: which oracle pairs a record belongs to. */
export const MATRIX_COLUMNS: readonly { readonly title: string; readonly matches: (r: ComparisonRecord) => boolean }[] = [
  { title: 'TS↔torch f32', matches: (r) => pair(r, 'ts:float32', 'torch:float32') },
  { title: 'TS↔torch f64', matches: (r) => pair(r, 'ts:float64', 'torch:float64') },
  { title: 'TS f32↔torch f64', matches: (r) => pair(r, 'ts:float32', 'torch:float64') },
  { title: 'golden f32↔f64', matches: (r) => pair(r, 'torch:float32', 'torch:float64') },
  { title: 'TS↔onnxruntime', matches: (r) => r.actual.source === 'ts' && r.expected.source === 'onnx' },
  { title: 'onnxruntime↔torch', matches: (r) => r.actual.source === 'onnx' && r.expected.source === 'torch' },
  { title: 'FD↔analytic f32', matches: (r) => pair(r, 'fd:float32', 'ts:float32') },
  { title: 'FD↔analytic f64', matches: (r) => pair(r, 'fd:float64', 'ts:float64') },
];

function pair(r: ComparisonRecord, actual: string, expected: string): boolean {
  return sideLabel(r.actual) === actual && sideLabel(r.expected) === expected;
}

/** `✅ 3.1%`, `❌ 150%` or `–` when the pair was not run: the worst share of the bound in a cell. */
function cell(records: readonly ComparisonRecord[]): string {
  if (records.length === 0) return '–';
  const failed = records.some((r) => r.verdict === 'fail');
  const worst = records.reduce((w, r) => Math.max(w, worstShare(r)), 0);
  return `${failed ? '❌' : '✅'} ${percent(worst)}`;
}

const escapeCell = (text: string) => text.replace(/\|/g, '\\|');
const where = (r: ComparisonRecord) => `${r.tensor}${r.worst ? `(${r.worst.index.join(', ')})` : ''}`;

function headline(report: ParityReport): string {
  const records = report.records.length;
  const failed = report.records.filter((r) => r.verdict === 'fail');
  const failedCases = [...new Set(failed.map((r) => r.case))];
  if (report.verdict === 'pass') {
    return `✅ **gradparity: all ${report.cases.length} cases within their derived bounds** (${records} comparisons, worst ${percent(Math.max(0, ...report.records.map(worstShare)))} of its bound).`;
  }
  if (records === 0) return `❌ **gradparity: nothing was checked (0 comparisons${report.inputFailures.length > 0 ? `; ${report.inputFailures.length} input(s) could not be read` : ''}).**`;
  const inputs = report.inputFailures.length > 0 ? `, ${report.inputFailures.length} input(s) could not be checked` : '';
  return `❌ **gradparity: ${failed.length} of ${records} comparisons out of bounds in ${failedCases.length} case(s)${inputs}.**`;
}

function matrix(report: ParityReport): string[] {
  const lines = [`| case | ${MATRIX_COLUMNS.map((c) => c.title).join(' | ')} |`, `| --- |${MATRIX_COLUMNS.map(() => ' :-: |').join('')}`];
  for (const name of report.cases) {
    const mine = report.records.filter((r) => r.case === name);
    lines.push(`| ${name} | ${MATRIX_COLUMNS.map((c) => cell(mine.filter(c.matches))).join(' | ')} |`);
  }
  return lines;
}

function worstElements(report: ParityReport, count: number): string[] {
  const worst = [...report.records].filter((r) => r.worst !== null).sort((a, b) => worstShare(b) - worstShare(a)).slice(0, count);
  return [
    '| case | pair | element | actual | expected | \\|diff\\| | bound = parts | share |',
    '| --- | --- | --- | --: | --: | --: | --- | --: |',
    ...worst.map((r) => {
      const e = r.worst!;
      return `| ${r.case} | ${sideLabel(r.actual)} ~ ${sideLabel(r.expected)} | ${escapeCell(where(r))} | ${precise(e.actual)} | ${precise(e.expected)} | ${sci(e.absDiff)} | ${boundDerivation(e)} | ${r.verdict === 'fail' ? '❌' : ''} ${percent(e.share)} |`;
    }),
  ];
}

function driftSection(report: ParityReport, plots: ReadonlyMap<SweepSection, string>): string[] {
  const lines: string[] = [];
  for (const d of report.drifts) {
    const x = d.explanation;
    const e = x.element;
    lines.push(
      `### Finite-difference drift of \`${d.case}\`, explained`,
      '',
      `Central differences in ${x.dtype} with h = ${sci(e.step.nominal / 2)} give ∂L/∂${e.tensor}[${e.index.join(',')}] = ` +
        `**${e.numeric.toPrecision(6)}** against the analytic **${e.analytic.toPrecision(6)}**${d.note ? ` (${d.note})` : ''}.`,
      '',
      '```text',
      driftText(x),
      '```',
      '',
      `| part of the bound | value |`,
      `| --- | --: |`,
      ...FD_BOUND_PARTS.map((p) => `| ${p} | ${sci(e.bound[p])} |`),
      `| **total** | **${sci(e.bound.total)}** |`,
      '',
    );
  }
  for (const sweep of report.sweeps) {
    const file = plots.get(sweep);
    if (file === undefined) continue;
    lines.push(`![error against step for ${sweep.case} ${sweep.tensor}[${sweep.index.join(',')}] in ${sweep.dtype}](${file})`, '', `*${sweep.reason}, ${sweep.dtype}: observed error and predicted bound against the step, log–log.*`, '');
  }
  return lines;
}

function caseDetails(report: ParityReport, name: string): string[] {
  const mine = report.records.filter((r) => r.case === name);
  const failed = mine.filter((r) => r.verdict === 'fail').length;
  const worst = Math.max(0, ...mine.map(worstShare));
  const rows = mine.map((r) => {
    const abs = r.greatestAbs ? `${sci(r.greatestAbs.absDiff)} at (${r.greatestAbs.index.join(', ')}) (up to ${sci(r.greatestAbs.bound)})` : '–';
    const rel = r.greatestRel ? `${sci(r.greatestRel.relDiff)} at (${r.greatestRel.index.join(', ')})` : '–';
    const kinks = r.kinks ? ` (${r.kinks} kink)` : '';
    return `| ${sideLabel(r.actual)} ~ ${sideLabel(r.expected)} | ${escapeCell(r.tensor)} | ${r.mismatched} / ${r.numel}${kinks} | ${abs} | ${rel} | ${r.maxUlps} | ${percent(worstShare(r))} | ${r.verdict === 'pass' ? '✅' : '❌'} |`;
  });
  return [
    `<details><summary>${failed > 0 ? '❌' : '✅'} <b>${name}</b>: ${mine.length} comparisons, ${failed} failed, worst ${percent(worst)} of its bound</summary>`,
    '',
    '| pair | tensor | mismatched | greatest abs. difference | greatest rel. difference | max ULPs | share | |',
    '| --- | --- | --: | --- | --- | --: | --: | :-: |',
    ...rows,
    '',
    '</details>',
    '',
  ];
}

/**
 * The report people read in a pull request: a verdict line, the case × oracle matrix, the worst
 * elements with their bounds' parts, the seed drift explained, failures in assert_close's words,
 * and every case's comparisons folded away.
 */
export function markdownReport(report: ParityReport, plots: ReadonlyMap<SweepSection, string> = new Map()): string {
  const failures = report.records.filter((r) => r.verdict === 'fail');
  const lines = [
    '# gradparity parity report',
    '',
    headline(report),
    '',
    'Each cell is the largest share of its derived bound any element used (100% is the edge); ❌ marks a pair with an element outside its bound.',
    '',
    ...matrix(report),
    '',
  ];
  if (report.inputFailures.length > 0) {
    lines.push('## Inputs that could not be checked', '', ...report.inputFailures.map((f) => `- \`${f.file}\`: ${f.message}`), '');
  }
  if (failures.length > 0) {
    lines.push('## Failures', '');
    for (const r of failures.slice(0, 20)) lines.push('```text', mismatchMessage(r), '```', '');
    if (failures.length > 20) lines.push(`…and ${failures.length - 20} more; every one is in parity-report.json.`, '');
  }
  lines.push('## Closest to their bounds', '', ...worstElements(report, 10), '');
  if (report.drifts.length > 0 || report.sweeps.length > 0) lines.push('## Finite differences: noise or bug?', '', ...driftSection(report, plots));
  lines.push('## Every comparison, by case', '', ...report.cases.flatMap((name) => caseDetails(report, name)));
  lines.push('Bounds are derived, not tuned: see docs/tolerance-policy.md in the gradparity repository.', '');
  return lines.join('\n');
}
