import { worstShare, type ComparisonRecord } from '../tolerance/compare.ts';
import { headline, matrix, matrixColumns, recordsByCase, worstElements } from './markdown.ts';
import { mismatchMessage } from './message.ts';
import type { ParityReport } from './parityReport.ts';

/**
 * The compact report's ceiling in bytes. GitHub refuses comments over 65,536 characters; a
 * summary people read in a pull request should fit on a screen or two, whatever the run's size.
 */
export const COMPACT_LIMIT = 20_000;

/** How much of each section the compact report shows at first; `shrink` halves these until it fits. */
interface Caps {
  readonly cases: number;
  readonly failures: number;
  readonly closest: number;
  readonly lines: number;
  /** Characters of any one name, message or note. */
  readonly text: number;
}

const FIRST_CAPS: Caps = { cases: 25, failures: 3, closest: 5, lines: 5, text: 1500 };

const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`);

/** Failing cases first, then the rest; each group from the largest share of its bound down. */
function casesByConcern(byCase: ReadonlyMap<string, readonly ComparisonRecord[]>): string[] {
  const concern = (name: string) => {
    const records = byCase.get(name) ?? [];
    return { name, failed: records.some((r) => r.verdict === 'fail'), worst: records.reduce((w, r) => Math.max(w, worstShare(r)), 0) };
  };
  return [...byCase.keys()].map(concern).sort((a, b) => Number(b.failed) - Number(a.failed) || b.worst - a.worst).map((c) => c.name);
}

function render(report: ParityReport, caps: Caps, fullReport: string): string {
  const byCase = recordsByCase(report);
  const ordered = casesByConcern(byCase);
  const shown = ordered.slice(0, caps.cases);
  const hidden = ordered.slice(caps.cases);
  const hiddenFailing = hidden.filter((c) => (byCase.get(c) ?? []).some((r) => r.verdict === 'fail')).length;
  const failures = report.records.filter((r) => r.verdict === 'fail').sort((a, b) => worstShare(b) - worstShare(a));
  const more = (n: number, what: string) => (n > 0 ? [`…and ${n} more ${what}; see the full report.`, ''] : []);
  const lines = ['## gradparity', '', headline(report), ''];
  for (const note of report.notes.slice(0, caps.lines)) lines.push(`> **Note:** ${clip(note, caps.text)}`, '');
  lines.push(...more(report.notes.length - caps.lines, 'note(s)'));
  if (report.inputFailures.length > 0) {
    lines.push('**Inputs that could not be checked**', '', ...report.inputFailures.slice(0, caps.lines).map((f) => `- ${clip(f.message, caps.text)}`), '', ...more(report.inputFailures.length - caps.lines, 'input failure(s)'));
  }
  if (shown.length > 0) lines.push(...matrix(matrixColumns(report.records), byCase, shown, (name) => clip(name, 80)), '');
  if (hidden.length > 0) lines.push(`…and ${hidden.length} ${shown.length > 0 ? 'more ' : ''}case(s)${hiddenFailing > 0 ? `, ${hiddenFailing} of them failing` : ', all within their bounds'}; see the full report.`, '');
  if (failures.length > 0) {
    lines.push('### Failures, worst first', '');
    for (const r of failures.slice(0, caps.failures)) lines.push('```text', clip(mismatchMessage(r), caps.text), '```', '');
    lines.push(...more(failures.length - caps.failures, 'failing comparison(s)'));
  }
  if (report.records.length > 0 && caps.closest > 0) {
    lines.push('### Closest to their bounds', '', ...worstElements(report, caps.closest).map((l) => clip(l, caps.text)), '');
  }
  lines.push(`Full report: ${fullReport}`, '');
  return lines.join('\n');
}

const shrink = (c: Caps): Caps => ({
  cases: Math.floor(c.cases / 2), failures: Math.floor(c.failures / 2), closest: Math.floor(c.closest / 2), lines: Math.floor(c.lines / 2), text: Math.floor(c.text / 2),
});

/**
 * The report for a pull request: the verdict, the case × oracle matrix (failing cases first, then
 * those closest to their bounds), the worst failures with their bound parts, the elements closest
 * to their bounds, and where the full report is. Sections are capped so that it stays under
 * COMPACT_LIMIT bytes for any number of cases; what is left out is counted, never dropped silently.
 */
export function compactMarkdownReport(report: ParityReport, fullReport = 'parity-report.md (with the JSON and the plots)'): string {
  let caps = FIRST_CAPS;
  let text = render(report, caps, fullReport);
  while (Buffer.byteLength(text) >= COMPACT_LIMIT && caps.text > 40) {
    caps = shrink(caps);
    text = render(report, caps, clip(fullReport, 500));
  }
  return text;
}
