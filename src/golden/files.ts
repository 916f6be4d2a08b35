import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseJsonc, type ParseError } from 'jsonc-parser';
import { InputError } from '../errors.ts';
import { GoldenJson } from './schema.ts';

export const GOLDENS_DIR = 'goldens';

/**
 * The folder of goldens gradparity ships: the reference MLP's cases, as torch computed them. Use
 * it rather than a path through node_modules, which a workspace may hoist elsewhere.
 */
export function referenceGoldensDir(): string {
  // Two folders up from this file, in src/ and in the compiled dist/ alike.
  return fileURLToPath(new URL('../../goldens', import.meta.url));
}

// A golden's own top-level fields; `description` and `dtype` are left out, since a JSON Schema
// (and many other documents) has a `description` too.
const GOLDEN_FIELDS = new Set(Object.keys(GoldenJson.shape).filter((k) => k !== 'description' && k !== 'dtype'));

/**
 * Whether a JSON file is meant as a golden, judged by its content rather than its name: an object
 * with at least two fields only goldens have (`schemaVersion`, `case`, `expected`, …), so that a
 * damaged golden still counts while goldens/schema.json, a parity report (which has a
 * `schemaVersion` of its own) or a tsconfig.json do not. Comments and trailing commas are
 * tolerated for this judgement; text that is not even that may be a damaged golden, so it counts
 * as one and the loader says what is wrong with it.
 */
export function isGoldenFile(file: string): boolean {
  const errors: ParseError[] = [];
  const json: unknown = parseJsonc(readFileSync(file, 'utf8'), errors, { allowTrailingComma: true });
  if (errors.length > 0) return true;
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return false;
  return Object.keys(json).filter((k) => GOLDEN_FIELDS.has(k)).length >= 2;
}

/** The .json files of a directory, sorted; [] if there is no directory. */
function jsonFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => join(dir, f));
}

/** Paths of the goldens in a directory (by content), sorted; [] if there is no directory. */
export function listGoldenFiles(dir: string = GOLDENS_DIR): string[] {
  return jsonFiles(dir).filter(isGoldenFile);
}

/** File names (not paths) of the goldens in a directory. */
export function goldenFileNames(dir: string = GOLDENS_DIR): string[] {
  return listGoldenFiles(dir).map((f) => basename(f));
}

/**
 * The goldens that command-line arguments name: each directory stands for the goldens in it,
 * each file for itself. Files that are not goldens by content are passed over, so that
 * `check goldens/*.json` skips schema.json; `skipped` lists those that were named explicitly (a
 * directory's other JSON files are not news). A path that does not exist is bad input.
 */
export function expandGoldenArgs(args: readonly string[]): { goldens: string[]; skipped: string[] } {
  const goldens: string[] = [];
  const skipped: string[] = [];
  for (const arg of args) {
    if (!existsSync(arg)) throw new InputError(arg, null, 'no such file or directory');
    if (statSync(arg).isDirectory()) goldens.push(...listGoldenFiles(arg));
    else (isGoldenFile(arg) ? goldens : skipped).push(arg);
  }
  return { goldens, skipped };
}
