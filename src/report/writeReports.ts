import { appendFileSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compactMarkdownReport } from './compact.ts';
import { markdownReport } from './markdown.ts';
import { reportJsonSchema, toJson, type ParityReport, type SweepSection } from './parityReport.ts';
import { sweepFileName, sweepSvg } from './plots.ts';

export const REPORTS_DIR = 'reports';

/**
 * Where a reader of the compact report finds the full one: in GitHub Actions, the run's page (whose
 * artifacts hold reports/); elsewhere, the file.
 */
function fullReportPointer(dir: string, env: NodeJS.ProcessEnv = process.env): string {
  const file = `\`${join(dir, 'parity-report.md')}\``;
  if (env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID) {
    return `${file} in the artifacts of [this run](${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID})`;
  }
  return file;
}

/** Writes a file whole or not at all: a reader never sees half a report. */
function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/**
 * Writes parity-report.md, parity-report.json (with its JSON Schema), parity-report.compact.md
 * (under 20 KB, for a pull request) and one SVG per sweep into `dir`, and appends the compact
 * report to $GITHUB_STEP_SUMMARY when that is set. Each file is written whole or not at all.
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
    ['parity-report.compact.md', compactMarkdownReport(report, fullReportPointer(dir))],
    ['parity-report.json', `${toJson(report)}\n`],
    ['parity-report.schema.json', `${JSON.stringify(reportJsonSchema(), null, 2)}\n`],
  ];
  for (const [name, text] of files) {
    writeAtomically(join(dir, name), text);
    written.push(join(dir, name));
  }
  if (stepSummary) appendFileSync(stepSummary, `${compactMarkdownReport(report, fullReportPointer(dir))}\n`);
  return written;
}
