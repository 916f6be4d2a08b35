import { FD_BOUND_PARTS } from '../fd/engine.ts';
import { pairLabel, sideLabel, worstShare, type ComparisonRecord } from '../tolerance/compare.ts';
import { percent, precise, sci } from './format.ts';
import { boundDerivation, mismatchMessage } from './message.ts';
import type { ParityReport, SweepSection } from './parityReport.ts';
import { driftText } from './gradcheckText.ts';

/** One column of the case × oracle matrix: the comparisons of one pair of sides. */
export interface MatrixColumn {
  readonly title: string;
  readonly matches: (r: ComparisonRecord) => boolean;
}

const short = (dtype: string) => (dtype === 'float32' ? 'f32' : dtype === 'float64' ? 'f64' : dtype);
const NAMES: Readonly<Record<string, string>> = { ts: 'TS', torch: 'torch', onnx: 'onnxruntime', fd: 'FD' };

/** A column title: `TS↔torch f32`, `TS f32↔torch f64`, `FD↔analytic f64`, `yours↔torch f32`. */
function columnTitle(r: Pick<ComparisonRecord, 'actual' | 'expected'>): string {
  const [a, e] = [r.actual, r.expected];
  if (a.source === 'torch' && e.source === 'torch') return `golden ${short(a.dtype)}↔${short(e.dtype)}`;
  if (a.source === 'fd') return `FD↔analytic ${short(a.dtype)}`;
  const [an, en] = [NAMES[a.source] ?? a.source, NAMES[e.source] ?? e.source];
  return a.dtype === e.dtype ? `${an}↔${en} ${short(a.dtype)}` : `${an} ${short(a.dtype)}↔${en} ${short(e.dtype)}`;
}

/** The main job's pairs, in the order its matrix has always shown them. */
const MAIN_JOB_ORDER = [
  'ts:float32 torch:float32', 'ts:float64 torch:float64', 'ts:float32 torch:float64', 'torch:float32 torch:float64',
  'ts:float32 onnx:float32', 'ts:float64 onnx:float64', 'onnx:float32 torch:float32', 'onnx:float64 torch:float64',
  'fd:float32 ts:float32', 'fd:float64 ts:float64',
];

/**
 * The matrix's columns, derived from the pairs the records hold: the main job's pairs in their
 * usual order (ts↔onnxruntime and onnxruntime↔torch each merge both precisions, since a case has
 * one graph), then any other pair (your implementation against torch, …) in order of appearance.
 */
export function matrixColumns(records: readonly ComparisonRecord[]): MatrixColumn[] {
  const present = [...new Set(records.map(pairLabel))];
  const rank = (key: string) => (MAIN_JOB_ORDER.includes(key) ? MAIN_JOB_ORDER.indexOf(key) : MAIN_JOB_ORDER.length + present.indexOf(key));
  const columns = new Map<string, MatrixColumn>();
  for (const key of present.sort((a, b) => rank(a) - rank(b))) {
    const example = records.find((r) => pairLabel(r) === key)!;
    const onnx = example.actual.source === 'onnx' || example.expected.source === 'onnx';
    // onnxruntime runs each case's graph in that case's precision: one column per direction.
    const title = onnx ? (example.actual.source === 'onnx' ? 'onnxruntime↔torch' : `${NAMES[example.actual.source] ?? example.actual.source}↔onnxruntime`) : columnTitle(example);
    const matches = onnx ? (r: ComparisonRecord) => r.actual.source === example.actual.source && r.expected.source === example.expected.source : (r: ComparisonRecord) => pairLabel(r) === key;
    if (!columns.has(title)) columns.set(title, { title, matches });
  }
  return [...columns.values()];
}

/** `✅ 3.1%`, `❌ 150%` or `–` when the pair was not run: the worst share of the bound in a cell. */
function cell(records: readonly ComparisonRecord[]): string {
  if (records.length === 0) return '–';
  const failed = records.some((r) => r.verdict === 'fail');
  const worst = records.reduce((w, r) => Math.max(w, worstShare(r)), 0);
  return `${failed ? '❌' : '✅'} ${percent(worst)}`;
}

export const escapeCell = (text: string) => text.replace(/\|/g, '\\|');
const where = (r: ComparisonRecord) => `${r.tensor}${r.worst ? `(${r.worst.index.join(', ')})` : ''}`;

/** The largest share any record used (0 for none); a loop, since spreading a long list into Math.max overflows the stack. */
function largestShare(records: readonly ComparisonRecord[]): number {
  return records.reduce((w, r) => Math.max(w, worstShare(r)), 0);
}

/** The one-line verdict both reports open with. */
export function headline(report: ParityReport): string {
  const records = report.records.length;
  const failed = report.records.filter((r) => r.verdict === 'fail');
  const failedCases = new Set(failed.map((r) => r.case));
  if (report.verdict === 'pass') {
    return `✅ **gradparity: all ${report.cases.length} cases within their derived bounds** (${records} comparisons, worst ${percent(largestShare(report.records))} of its bound).`;
  }
  if (records === 0) return `❌ **gradparity: nothing was checked (0 comparisons${report.inputFailures.length > 0 ? `; ${report.inputFailures.length} input(s) could not be read` : ''}).**`;
  const inputs = report.inputFailures.length > 0 ? `, ${report.inputFailures.length} input(s) could not be checked` : '';
  return `❌ **gradparity: ${failed.length} of ${records} comparisons out of bounds in ${failedCases.size} case(s)${inputs}.**`;
}

/** Each case's records, in the report's order. */
export function recordsByCase(report: ParityReport): Map<string, ComparisonRecord[]> {
  const byCase = new Map<string, ComparisonRecord[]>(report.cases.map((c) => [c, []]));
  for (const r of report.records) byCase.get(r.case)?.push(r);
  return byCase;
}

/** The case × oracle matrix for the given cases (`label` shortens a name for the compact report). */
export function matrix(columns: readonly MatrixColumn[], byCase: ReadonlyMap<string, readonly ComparisonRecord[]>, cases: readonly string[], label = (name: string) => name): string[] {
  const lines = [`| case | ${columns.map((c) => c.title).join(' | ')} |`, `| --- |${columns.map(() => ' :-: |').join('')}`];
  for (const name of cases) {
    const mine = byCase.get(name) ?? [];
    lines.push(`| ${escapeCell(label(name))} | ${columns.map((c) => cell(mine.filter(c.matches))).join(' | ')} |`);
  }
  return lines;
}

/** The `count` records whose worst element came closest to its bound, with the bound's parts. */
export function worstElements(report: ParityReport, count: number): string[] {
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

function caseDetails(name: string, mine: readonly ComparisonRecord[]): string[] {
  const failed = mine.filter((r) => r.verdict === 'fail').length;
  const worst = largestShare(mine);
  const rows = mine.map((r) => {
    const abs = r.greatestAbs ? `${sci(r.greatestAbs.absDiff)} at (${r.greatestAbs.index.join(', ')}) (up to ${sci(r.greatestAbs.bound)})` : '–';
    const rel = r.greatestRel ? `${sci(r.greatestRel.relDiff)} at (${r.greatestRel.index.join(', ')})` : '–';
    const kinks = r.kinks ? ` (${r.kinks} kink${r.undecided ? `, ${r.undecided} undecided` : ''})` : '';
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
    ...matrix(matrixColumns(report.records), recordsByCase(report), report.cases),
    '',
  ];
  if (report.notes.length > 0) lines.push(...report.notes.map((n) => `> **Note:** ${n}`), '');
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
  const byCase = recordsByCase(report);
  lines.push('## Every comparison, by case', '', ...report.cases.flatMap((name) => caseDetails(name, byCase.get(name) ?? [])));
  lines.push('Bounds are derived, not tuned: see docs/tolerance-policy.md in the gradparity repository.', '');
  return lines.join('\n');
}
