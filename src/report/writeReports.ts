import { appendFileSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { markdownReport } from './markdown.ts';
import { reportJsonSchema, toJson, type ParityReport, type SweepSection } from './parityReport.ts';
import { sweepFileName, sweepSvg } from './plots.ts';

export const REPORTS_DIR = 'reports';

/** Writes a file whole or not at all: a reader never sees half a report. */
function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/**
 * Writes parity-report.md, parity-report.json (with its JSON Schema) and one SVG per sweep into
 * `dir`, and appends the Markdown to $GITHUB_STEP_SUMMARY when that is set (without the plots,
 * which a job summary cannot show from files; they are in the uploaded artifact).
 */
export async function writeReports(
  report: ParityReport,
  dir: string = REPORTS_DIR,
  stepSummary: string | undefined = process.env.GITHUB_STEP_SUMMARY,
): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const plots = new Map<SweepSection, string>();
  const written: string[] = [];
  for (const sweep of report.sweeps) {
    const file = sweepFileName(sweep);
    writeAtomically(join(dir, file), await sweepSvg(sweep));
    plots.set(sweep, file);
    written.push(join(dir, file));
  }
  const files: [string, string][] = [
    ['parity-report.md', markdownReport(report, plots)],
    ['parity-report.json', `${toJson(report)}\n`],
    ['parity-report.schema.json', `${JSON.stringify(reportJsonSchema(), null, 2)}\n`],
  ];
  for (const [name, text] of files) {
    writeAtomically(join(dir, name), text);
    written.push(join(dir, name));
  }
  if (stepSummary) appendFileSync(stepSummary, `${markdownReport(report)}\n`);
  return written;
}
