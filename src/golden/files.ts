import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const GOLDENS_DIR = 'goldens';

/** File names of the goldens in a directory, sorted (schema.json is the format, not a case); [] if there is no directory. */
export function goldenFileNames(dir: string = GOLDENS_DIR): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && f !== 'schema.json')
    .sort();
}

/** Paths of the goldens in a directory. */
export function listGoldenFiles(dir: string = GOLDENS_DIR): string[] {
  return goldenFileNames(dir).map((f) => join(dir, f));
}
