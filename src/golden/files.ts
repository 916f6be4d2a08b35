import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../errors.ts';
import { GoldenJson } from './schema.ts';

export const GOLDENS_DIR = 'goldens';

// A golden's own top-level fields; `description` and `dtype` are left out, since a JSON Schema
// (and many other documents) has a `description` too.
const GOLDEN_FIELDS = new Set(Object.keys(GoldenJson.shape).filter((k) => k !== 'description' && k !== 'dtype'));

/**
 * Whether a JSON file is meant as a golden, judged by its content rather than its name: an object
 * with at least one field only goldens have (`schemaVersion`, `case`, `expected`, …). goldens/schema.json (a JSON Schema) and other
 * JSON documents are not; text that is not JSON at all may be a damaged golden, so it counts as
 * one and the loader says what is wrong with it.
 */
export function isGoldenFile(file: string): boolean {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return true;
  }
  return typeof json === 'object' && json !== null && !Array.isArray(json) && Object.keys(json).some((k) => GOLDEN_FIELDS.has(k));
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
  return listGoldenFiles(dir).map((f) => f.slice(dir.length + 1));
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
