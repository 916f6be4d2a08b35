import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { errorCommand, failureAnnotations, MAX_ANNOTATIONS } from '../../src/report/annotations.ts';
import { COMPACT_LIMIT, compactMarkdownReport } from '../../src/report/compact.ts';
import { buildReport } from '../../src/report/parityReport.ts';
import { tensor } from '../../src/tensor/tensor.ts';
import { compareTensors, type ComparisonRecord } from '../../src/tolerance/compare.ts';
import { boundFrom } from '../../src/tolerance/errorBound.ts';

const PAIRS = [
  ['ts', 'float32', 'torch', 'float32'],
  ['ts', 'float64', 'torch', 'float64'],
  ['fd', 'float64', 'ts', 'float64'],
] as const;

/** A real comparison record of two elements, with the share and verdict asked for. */
function record(caseName: string, pair: number, share: number, tensorName = 'grad.0.weight'): ComparisonRecord {
  const [as, ad, es, ed] = PAIRS[pair % PAIRS.length]!;
  return compareTensors(
    { case: caseName, file: `goldens/${caseName}.json`, tensor: tensorName, actual: { source: as, dtype: ad }, expected: { source: es, dtype: ed } },
    tensor('float64', [2], [1 + share * 1e-6, 2]),
    tensor('float64', [2], [1, 2]),
    boundFrom([2], 'arithmetic', Float64Array.of(1e-6, 1e-6)),
  );
}

const bytes = (text: string) => Buffer.byteLength(text);

describe('the compact report', () => {
  it(`stays under ${COMPACT_LIMIT} bytes for any number of cases, names, failures and notes`, () => {
    const runs = fc.record({
      cases: fc.integer({ min: 1, max: 2000 }),
      nameLength: fc.integer({ min: 1, max: 300 }),
      failingEvery: fc.integer({ min: 0, max: 7 }),
      notes: fc.array(fc.string({ maxLength: 2000 }), { maxLength: 20 }),
      inputFailures: fc.integer({ min: 0, max: 50 }),
    });
    fc.assert(
      fc.property(runs, ({ cases, nameLength, failingEvery, notes, inputFailures }) => {
        const records = Array.from({ length: cases }, (_, c) => {
          const name = `case-${c}-`.padEnd(nameLength, 'x|');
          return [0, 1, 2].map((p) => record(name, p, failingEvery > 0 && c % failingEvery === 0 ? 1.5 + p : 0.3));
        }).flat();
        const failures = Array.from({ length: inputFailures }, (_, i) => ({ file: `goldens/bad-${i}.json`, message: `goldens/bad-${i}.json: ${'x'.repeat(500)}` }));
        const text = compactMarkdownReport(buildReport({ records, inputFailures: failures, notes }));
        expect(bytes(text)).toBeLessThan(COMPACT_LIMIT);
        expect(text).toMatch(/^## gradparity\n\n(✅|❌) \*\*gradparity: /);
        expect(text).toContain('Full report: ');
      }),
      { numRuns: 12 },
    );
  });

  it('puts the failing cases first and counts what it leaves out', () => {
    const records = Array.from({ length: 60 }, (_, c) => record(`case-${String(c).padStart(2, '0')}`, 0, c === 42 ? 3 : c / 100));
    const text = compactMarkdownReport(buildReport({ records }));
    const rows = text.split('\n').filter((l) => /^\| case-\d+ \| [✅❌]/.test(l));
    expect(rows[0]).toMatch(/^\| case-42 \| ❌ 300% \|/);
    expect(rows[1]).toMatch(/^\| case-59 \| ✅ 59% \|/); // then the passing cases, closest to their bounds first
    expect(rows).toHaveLength(25);
    expect(text).toContain('…and 35 more case(s), all within their bounds; see the full report.');
    expect(text).toContain('case-42: grad.0.weight: ts:float32 is not within its derived bound of torch:float32!');
  });

  it('holds a run of 12 cases with 66 comparisons each in a few kilobytes', () => {
    const names = Array.from({ length: 12 }, (_, i) => `some-case-of-twelve-${i}`);
    const records = names.flatMap((name) => Array.from({ length: 66 }, (_, i) => record(name, i, (i % 10) / 20, `grad.${i}.weight`)));
    const text = compactMarkdownReport(buildReport({ records }));
    expect(bytes(text)).toBeLessThan(8_000);
    expect(text.split('\n').filter((l) => /^\| [a-z0-9-]+ \| [✅❌]/.test(l))).toHaveLength(names.length);
  });
});

describe('GitHub annotations', () => {
  it('escape the workflow-command format', () => {
    expect(errorCommand({ file: 'goldens/a,b:c.json', line: 3, title: 'x: y, z' }, '50% off\nnext line\r')).toBe(
      '::error file=goldens/a%2Cb%3Ac.json,line=3,title=x%3A y%2C z::50%25 off%0Anext line%0D',
    );
  });

  it('point each failing comparison at its golden and its test, worst first, at most ten', () => {
    const records = [record('mild', 0, 1.2), record('fine', 0, 0.5), record('worst', 1, 9)];
    const lines = failureAnnotations(records.map((record) => ({ record, test: { file: 'test/mine.test.ts', line: 12 } })));
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^::error file=goldens\/worst\.json,line=1,title=gradparity%3A worst grad\.0\.weight%3A ts%3Afloat64 vs torch%3Afloat64 out of bounds::worst: grad\.0\.weight: ts:float64 is not within its derived bound of torch:float64!%0A/);
    expect(lines[1]).toMatch(/^::error file=test\/mine\.test\.ts,line=12,title=gradparity%3A worst /);
    expect(lines[2]).toMatch(/^::error file=goldens\/mild\.json,/);
    const many = Array.from({ length: 30 }, (_, i) => record(`c${i}`, 0, 2));
    expect(failureAnnotations(many.map((record) => ({ record })))).toHaveLength(MAX_ANNOTATIONS);
  });
});
