import type { Reporter, TestCase, TestModule } from 'vitest/node';
import { buildReport, mergeInputs, type ReportInput } from '../report/parityReport.ts';
import { REPORTS_DIR, writeReports } from '../report/writeReports.ts';
import { readReport } from './meta.ts';
import { failureAnnotations, type Made } from '../report/annotations.ts';
import { relative } from 'node:path';

/**
 * Collects the comparison records tests attach to `task.meta` and, when the run ends, writes the
 * parity reports (Markdown, JSON, SVG plots) to reports/. Register it in vitest.config.ts next
 * to the reporters you read in the terminal.
 */
export default class ParityReporter implements Reporter {
  private inputs: ReportInput[] = [];
  /** Failing comparisons with the test that made each, for the annotations. */
  private failures: Made[] = [];
  private readonly dir: string;
  private readonly stepSummary: string | undefined;
  private readonly annotate: boolean;

  /**
   * `dir`: where reports go; `stepSummary`: a file to append the compact Markdown to (default
   * $GITHUB_STEP_SUMMARY; null for none); `annotations`: print GitHub annotations for failures
   * (default: when running in GitHub Actions).
   */
  constructor(options: { dir?: string; stepSummary?: string | null; annotations?: boolean } = {}) {
    this.dir = options.dir ?? REPORTS_DIR;
    this.stepSummary = options.stepSummary === null ? undefined : (options.stepSummary ?? process.env.GITHUB_STEP_SUMMARY);
    this.annotate = options.annotations ?? process.env.GITHUB_ACTIONS === 'true';
  }

  onTestRunStart(): void {
    this.inputs = [];
    this.failures = [];
  }

  onTestCaseResult(testCase: TestCase): void {
    const input = readReport(testCase.meta());
    if (input === undefined) return;
    this.inputs.push(input);
    const test = { file: relative(process.cwd(), testCase.module.moduleId), ...(testCase.location ? { line: testCase.location.line } : {}) };
    for (const record of input.records) if (record.verdict === 'fail') this.failures.push({ record, test });
  }

  async onTestRunEnd(_modules: ReadonlyArray<TestModule>): Promise<void> {
    if (this.inputs.length === 0) return;
    // In GitHub Actions, the run's worst failures become annotations on their goldens and tests.
    if (this.annotate) for (const line of failureAnnotations(this.failures)) process.stdout.write(`${line}\n`);
    const report = buildReport(mergeInputs(this.inputs));
    const files = await writeReports(report, this.dir, this.stepSummary);
    const failed = report.records.filter((r) => r.verdict === 'fail').length;
    process.stdout.write(
      `\ngradparity: ${report.records.length} comparisons, ${failed} out of bounds; report in ${files.find((f) => f.endsWith('.md'))}\n`,
    );
  }
}
