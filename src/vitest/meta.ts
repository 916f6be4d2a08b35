import type { TaskMeta } from 'vitest';
import { fromJson, mergeInputs, toJson, type ReportInput } from '../report/parityReport.ts';

declare module '@vitest/runner' {
  interface TaskMeta {
    /** Report pieces this test produced, as JSON (non-finite numbers spelled out). */
    gradparity?: string;
  }
}

/**
 * Attaches comparison records (and drift explanations, sweeps) to the running test, for the
 * parity reporter to collect. Data travels with the test result: no files, no globals.
 */
export function attachReport(task: { readonly meta: TaskMeta }, input: Partial<ReportInput>): void {
  const previous = task.meta.gradparity === undefined ? [] : [fromJson<ReportInput>(task.meta.gradparity)];
  task.meta.gradparity = toJson(mergeInputs([...previous, input]));
}

/** The report pieces a test attached, every list present (empty when the test attached none of it). */
export function readReport(meta: TaskMeta): ReportInput | undefined {
  return meta.gradparity === undefined ? undefined : mergeInputs([fromJson<Partial<ReportInput>>(meta.gradparity)]);
}
