import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Mutant } from './catalogue.ts';

export class MutantDoesNotApply extends Error {
  override name = 'MutantDoesNotApply';
}

/** The source with every edit made; each `find` must occur exactly once. */
export function mutatedSource(mutant: Mutant, source: string): string {
  let text = source;
  for (const { find, replace } of mutant.edits) {
    const count = text.split(find).length - 1;
    if (count !== 1) throw new MutantDoesNotApply(`${mutant.id}: ${JSON.stringify(find)} occurs ${count} times in ${mutant.file}; update the catalogue`);
    text = text.replace(find, () => replace);
  }
  return mutant.helper === undefined ? text : `${text}\n${mutant.helper}`;
}

/**
 * A throwaway copy of src/ and the mutant runner in the system's temporary directory, with the
 * mutant applied (or none, for the baseline). The working tree is only read: an interrupted run
 * cannot leave it changed. node_modules is linked, not copied.
 */
export function mutatedCopy(root: string, mutant: Mutant | null): string {
  const dir = mkdtempSync(join(tmpdir(), `gradparity-mutant-${mutant?.id ?? 'baseline'}-`));
  try {
    cpSync(join(root, 'src'), join(dir, 'src'), { recursive: true });
    cpSync(join(root, 'scripts', 'mutants'), join(dir, 'scripts', 'mutants'), { recursive: true });
    // The example models' TS implementations, which mutants may target too (their goldens are read from root).
    cpSync(join(root, 'examples', 'models'), join(dir, 'examples', 'models'), { recursive: true, filter: (path) => !path.includes(`${join('examples', 'models', 'goldens')}`) });
    cpSync(join(root, 'package.json'), join(dir, 'package.json'));
    symlinkSync(resolve(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
    if (mutant !== null) {
      const file = join(dir, mutant.file);
      writeFileSync(file, mutatedSource(mutant, readFileSync(file, 'utf8')));
    }
    return dir;
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
