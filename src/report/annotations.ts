import { sideLabel, worstShare, type ComparisonRecord } from '../tolerance/compare.ts';
import { mismatchMessage } from './message.ts';

// GitHub Actions reads workflow commands from a step's output: `::error file=…,line=…,title=…::…`
// becomes an annotation on that file in the pull request's diff view. Data is escaped (%, CR, LF)
// and so are property values (also : and ,), as the workflow-command format requires:
// https://docs.github.com/actions/reference/workflow-commands-for-github-actions

/** GitHub shows at most ten error annotations per step; the worst failures come first. */
export const MAX_ANNOTATIONS = 10;

const escapeData = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const escapeProperty = (s: string) => escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');

/** One `::error` line. */
export function errorCommand(properties: { file: string; line?: number; title: string }, message: string): string {
  const props = [`file=${escapeProperty(properties.file)}`, ...(properties.line === undefined ? [] : [`line=${properties.line}`]), `title=${escapeProperty(properties.title)}`];
  return `::error ${props.join(',')}::${escapeData(message)}`;
}

/** A comparison, and the test that made it when there is one. */
export interface Made {
  readonly record: ComparisonRecord;
  readonly test?: { readonly file: string; readonly line?: number };
}

/**
 * Annotations for the failing comparisons of a whole run, worst first: one on the golden each
 * failure is about (when the record knows its file) and one on the test that made it (when
 * known). At most MAX_ANNOTATIONS lines, so the worst five failures show with both.
 */
export function failureAnnotations(made: readonly Made[]): string[] {
  const failing = made.filter((m) => m.record.verdict === 'fail').sort((a, b) => worstShare(b.record) - worstShare(a.record));
  return failing.flatMap(({ record: r, test }) => {
    const title = `gradparity: ${r.case} ${r.tensor}: ${sideLabel(r.actual)} vs ${sideLabel(r.expected)} out of bounds`;
    const message = mismatchMessage(r);
    return [
      ...(r.file === undefined ? [] : [errorCommand({ file: r.file, line: 1, title }, message)]),
      ...(test === undefined ? [] : [errorCommand({ ...test, title }, message)]),
    ];
  }).slice(0, MAX_ANNOTATIONS);
}
