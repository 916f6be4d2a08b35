import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { staleMessage, staleness } from '../../src/golden/freshness.ts';
import { loadGolden } from '../../src/golden/load.ts';
import { listGoldenFiles } from '../../src/golden/files.ts';

describe('golden provenance', () => {
  it.each(listGoldenFiles())('%s was generated from the current case spec and generator', (file) => {
    const golden = loadGolden(file);
    const stale = staleness(golden);
    expect(stale === null ? '' : staleMessage(golden, stale)).toBe('');
  });

  const dir = mkdtempSync(join(tmpdir(), 'gradparity-fresh-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names the stale golden and the spec field that changed without regeneration', () => {
    const cases = JSON.parse(readFileSync('scripts/cases.json', 'utf8'));
    cases.cases.find((c: { name: string }) => c.name === 'batch7-class-mean').seed = 8;
    writeFileSync(join(dir, 'cases.json'), JSON.stringify(cases));
    const golden = loadGolden('goldens/batch7-class-mean.json');
    const stale = staleness(golden, { cases: join(dir, 'cases.json') })!;
    expect(staleMessage(golden, stale)).toBe(
      `goldens/batch7-class-mean.json is stale: its spec in ${join(dir, 'cases.json')} changed (seed) since it was generated; bring it up to date with npm run goldens -- --case batch7-class-mean`,
    );
  });

  it('notices a changed generator', () => {
    // An edit to any of the generator's sources, the op table here.
    writeFileSync(join(dir, 'op_table.py'), `${readFileSync('scripts/op_table.py', 'utf8')}\n# edited\n`);
    const files = ['scripts/generate_goldens.py', join(dir, 'op_table.py'), 'scripts/case_specs.py'];
    const stale = staleness(loadGolden('goldens/seed-3-4-2.json'), { generator: files });
    // Every golden is stale then: the command regenerates the whole set.
    expect(stale).toEqual({ reasons: [`the generator (${files.join(', ')}) changed since it was generated`], command: 'npm run goldens' });
  });

  it('suggests regenerating the whole set, not `--case`, for a case removed from the specs', () => {
    const cases = JSON.parse(readFileSync('scripts/cases.json', 'utf8'));
    cases.cases = cases.cases.filter((c: { name: string }) => c.name !== 'relu-kink');
    writeFileSync(join(dir, 'cases-without-relu-kink.json'), JSON.stringify(cases));
    const stale = staleness(loadGolden('goldens/relu-kink.json'), { cases: join(dir, 'cases-without-relu-kink.json') });
    // `--case relu-kink` would be refused, since no spec has that name; the driver test runs the
    // whole-set command against such a set and sees the golden go.
    expect(stale?.command).toBe('npm run goldens');
  });
});
