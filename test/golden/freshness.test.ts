import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { staleMessage, staleReasons } from '../../src/golden/freshness.ts';
import { loadGolden } from '../../src/golden/load.ts';
import { listGoldenFiles } from '../../src/golden/files.ts';

describe('golden provenance', () => {
  it.each(listGoldenFiles())('%s was generated from the current case spec and generator', (file) => {
    const golden = loadGolden(file);
    const reasons = staleReasons(golden);
    expect(reasons, staleMessage(golden, reasons)).toEqual([]);
  });

  const dir = mkdtempSync(join(tmpdir(), 'gradparity-fresh-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names the stale golden and the spec field that changed without regeneration', () => {
    const cases = JSON.parse(readFileSync('scripts/cases.json', 'utf8'));
    cases.cases.find((c: { name: string }) => c.name === 'batch7-class-mean').seed = 8;
    writeFileSync(join(dir, 'cases.json'), JSON.stringify(cases));
    const golden = loadGolden('goldens/batch7-class-mean.json');
    const reasons = staleReasons(golden, { cases: join(dir, 'cases.json') });
    expect(staleMessage(golden, reasons)).toBe(
      `goldens/batch7-class-mean.json is stale: its spec in ${join(dir, 'cases.json')} changed (seed) since it was generated; regenerate it with npm run goldens -- --case batch7-class-mean`,
    );
  });

  it('notices a changed generator', () => {
    writeFileSync(join(dir, 'generator.py'), `${readFileSync('scripts/generate_goldens.py', 'utf8')}\n# edited\n`);
    const reasons = staleReasons(loadGolden('goldens/seed-3-4-2.json'), { generator: join(dir, 'generator.py') });
    expect(reasons).toEqual([`${join(dir, 'generator.py')} changed since it was generated`]);
  });
});
