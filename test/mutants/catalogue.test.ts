import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mutatedSource } from '../../scripts/mutants/apply.ts';
import { MUTANTS } from '../../scripts/mutants/catalogue.ts';
import { EXAMPLE_MODELS } from '../../examples/models/index.ts';
import { listGoldenFiles } from '../../src/golden/files.ts';
import { loadGolden } from '../../src/golden/load.ts';

// npm run mutants takes minutes; a catalogue entry that no longer matches its source should fail
// here, in npm test, the moment the source moves.
describe('the mutant catalogue', () => {
  it('has mutants, each with a unique id', () => {
    expect(MUTANTS.length).toBeGreaterThan(0);
    expect(new Set(MUTANTS.map((m) => m.id)).size).toBe(MUTANTS.length);
  });

  it('names committed cases as the corners that close its bug classes', () => {
    const cases = new Set([...listGoldenFiles().map((file) => loadGolden(file).name), ...EXAMPLE_MODELS.map((m) => m.name)]);
    const corners = MUTANTS.flatMap((m) => (m.closedBy === undefined ? [] : [m.closedBy]));
    expect(corners.length).toBeGreaterThan(0);
    expect(corners.filter((c) => !cases.has(c))).toEqual([]);
  });

  it.each(MUTANTS.map((m) => [m.id, m] as const))('%s applies to the current source and changes it', (_, mutant) => {
    const source = readFileSync(mutant.file, 'utf8');
    expect(mutatedSource(mutant, source)).not.toBe(source);
  });
});
