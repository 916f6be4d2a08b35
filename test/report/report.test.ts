import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { loadGolden } from '../../src/golden/load.ts';
import { compareWithTorch, referenceRuns } from '../../src/parity/compare.ts';
import { notebookDrift } from '../../src/parity/notebook.ts';
import { markdownReport } from '../../src/report/markdown.ts';
import { buildReport, fromJson, ParityReportJson, toJson } from '../../src/report/parityReport.ts';
import { sweepSvg } from '../../src/report/plots.ts';
import type { ModelRun } from '../../src/model/sequential.ts';
import { gradKey } from '../../src/results/keys.ts';
import { tensor } from '../../src/tensor/tensor.ts';
import { compareTensors } from '../../src/tolerance/compare.ts';
import { boundFrom } from '../../src/tolerance/errorBound.ts';
import ParityReporter from '../../src/vitest/reporter.ts';

const seed = loadGolden('goldens/seed-3-4-2.json');
const passing = compareWithTorch(seed);

/** The seed's records with the TS float64 gradient of 2.weight broken in one element. */
function brokenRecords() {
  const ts = referenceRuns(seed);
  const weight = ts.float64.results.get(gradKey('2.weight'))!;
  const data = weight.data.slice();
  data[1] = data[1]! + 1e-6;
  const broken: ModelRun = { ...ts.float64, results: new Map(ts.float64.results).set(gradKey('2.weight'), { shape: weight.shape, data }) };
  return compareWithTorch(seed, { ...ts, float64: broken });
}

describe('the JSON report', () => {
  it('keeps an Infinity share through JSON and validates against its schema', () => {
    // A nonzero difference where the bound is 0 (an exactly-zero gradient element) has share Infinity.
    const infinite = compareTensors(
      { case: 'c', tensor: 'grad.x', actual: { source: 'ts', dtype: 'float64' }, expected: { source: 'torch', dtype: 'float64' } },
      tensor('float64', [2], [0, 1e-300]), tensor('float64', [2], [0, 0]), boundFrom([2], 'arithmetic', new Float64Array(2)),
    );
    expect(infinite.worst?.share).toBe(Infinity);
    const records = [...brokenRecords(), infinite];
    const report = buildReport({ records, drifts: [], sweeps: [], inputFailures: [] });
    const text = toJson(report);
    expect(ParityReportJson.safeParse(JSON.parse(text)).success).toBe(true);
    const back = fromJson<typeof report>(text);
    expect(back.records.map((r) => r.worst?.share)).toEqual(report.records.map((r) => r.worst?.share));
  });
});

describe('the Markdown report', () => {
  it('fails a report of nothing: zero comparisons prove nothing', () => {
    const report = buildReport({ records: [], drifts: [], sweeps: [], inputFailures: [] });
    expect(report.verdict).toBe('fail');
    expect(markdownReport(report)).toMatch(/^❌ \*\*gradparity: nothing was checked \(0 comparisons\)\.\*\*$/m);
  });

  it('says pass in one line and shows a matrix row per case', () => {
    const md = markdownReport(buildReport({ records: passing, drifts: [], sweeps: [], inputFailures: [] }));
    expect(md).toMatch(/^✅ \*\*gradparity: all 1 cases within their derived bounds\*\*/m);
    expect(md).toMatch(/^\| case \| TS↔torch f32 \| TS↔torch f64 \| TS f32↔torch f64 \| golden f32↔f64 \|$/m);
    expect(md).toMatch(/^\| seed-3-4-2 \| ✅ 0% \| ✅ 3\.59% \| ✅ 12% \| ✅ 12% \|$/m);
  });

  it('gives every pair the records hold a column of its own, your implementation\'s too', () => {
    const yours = passing.filter((r) => r.actual.source === 'ts' && r.expected.dtype === 'float32').map((r) => ({ ...r, actual: { source: 'yours', dtype: 'float32' as const } }));
    const md = markdownReport(buildReport({ records: yours }));
    expect(md).toMatch(/^\| case \| yours↔torch f32 \|$/m);
    expect(md).toMatch(/^\| seed-3-4-2 \| ✅ 0% \|$/m);
  });

  it('marks exactly the pairs a broken float64 gradient turns red, with assert_close\'s message', () => {
    const md = markdownReport(buildReport({ records: brokenRecords(), drifts: [], sweeps: [], inputFailures: [] }));
    expect(md).toMatch(/^❌ \*\*gradparity: 1 of \d+ comparisons out of bounds in 1 case\(s\)\.\*\*/m);
    expect(md).toMatch(/^\| seed-3-4-2 \| ✅ [^|]+ \| ❌ [^|]+ \| ✅ [^|]+ \| ✅ [^|]+ \|/m);
    expect(md).toContain('seed-3-4-2: grad.2.weight: ts:float64 is not within its derived bound of torch:float64!');
    expect(md).toContain('Mismatched elements: 1 / 8 (12.5%)');
    expect(md).toMatch(/Closest to failing: index \(0, 1\), .*, (\d+(\.\d+)?|\d\.\d+e\+\d+)% of its bound/);
    expect(md).toMatch(/Greatest absolute difference: 1\.00e-06 at index \(0, 1\) \(up to \S+ allowed\)/);
  });
});

describe('the plots', () => {
  it('draw the seed\'s V-curve as an SVG with labelled log axes', async () => {
    const { sweeps } = notebookDrift(seed);
    const svg = await sweepSvg(sweeps[1]!);
    expect(svg).toMatch(/^<svg /);
    for (const label of ['step h (log scale)', 'absolute error (log scale)', 'observed |D(h) − g|', 'predicted: rounding + truncation']) expect(svg).toContain(label);
  });
});

describe('the vitest reporter', () => {
  it('in GitHub Actions, annotates the run\'s worst failures once it ends, on their goldens and tests', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gradparity-annotate-'));
    const printed: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (printed.push(String(chunk)), true));
    try {
      const reporter = new ParityReporter({ dir, stepSummary: null, annotations: true });
      const testCase = (records: object[], file: string, line: number) => ({ meta: () => ({ gradparity: toJson({ records }) }), module: { moduleId: join(process.cwd(), file) }, location: { line, column: 1 } }) as never;
      reporter.onTestRunStart();
      reporter.onTestCaseResult(testCase(brokenRecords(), 'test/first.test.ts', 7));
      expect(printed.filter((p) => p.startsWith('::error'))).toEqual([]); // nothing before the run ends
      await reporter.onTestRunEnd([]);
      const annotations = printed.filter((p) => p.startsWith('::error'));
      expect(annotations).toHaveLength(2);
      expect(annotations[0]).toMatch(/^::error file=goldens\/seed-3-4-2\.json,line=1,title=gradparity%3A seed-3-4-2 grad\.2\.weight%3A ts%3Afloat64 vs torch%3Afloat64 out of bounds::/);
      expect(annotations[1]).toMatch(/^::error file=test\/first\.test\.ts,line=7,title=gradparity%3A seed-3-4-2 grad\.2\.weight/);
    } finally {
      write.mockRestore();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const dir = mkdtempSync(join(tmpdir(), 'gradparity-reports-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('collects records from task meta and writes Markdown, JSON, schema and plots', async () => {
    const reporter = new ParityReporter({ dir, stepSummary: null });
    const { drift, sweeps } = notebookDrift(seed);
    const testCase = (input: object) => ({ meta: () => ({ gradparity: toJson(input) }), module: { moduleId: join(process.cwd(), 'test/x.test.ts') } }) as never;
    reporter.onTestRunStart();
    reporter.onTestCaseResult(testCase({ records: passing }));
    reporter.onTestCaseResult(testCase({ drifts: [drift], sweeps }));
    reporter.onTestCaseResult({ meta: () => ({}) } as never);
    await reporter.onTestRunEnd([]);
    expect(readdirSync(dir).sort()).toEqual([
      'parity-report.compact.md', 'parity-report.json', 'parity-report.md', 'parity-report.schema.json',
      'sweep-seed-3-4-2-x-0-0-float32.svg', 'sweep-seed-3-4-2-x-0-0-float64.svg',
    ]);
    const md = readFileSync(join(dir, 'parity-report.md'), 'utf8');
    expect(md).toContain('### Finite-difference drift of `seed-3-4-2`, explained');
    expect(md).toContain('![error against step for seed-3-4-2 x[0,0] in float32](sweep-seed-3-4-2-x-0-0-float32.svg)');
    expect(JSON.parse(readFileSync(join(dir, 'parity-report.json'), 'utf8')).records).toHaveLength(passing.length);
  });
});
