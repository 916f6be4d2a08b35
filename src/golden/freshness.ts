import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { InputError } from '../errors.ts';
import type { GoldenCase } from './load.ts';

export const CASES_FILE = 'scripts/cases.json';
export const GENERATOR_FILE = 'scripts/generate_goldens.py';
/**
 * Everything that decides what a golden holds: the generator and the torch-free modules it reads
 * the op table and the case specs from. The provenance's generatorSha256 is over their bytes,
 * concatenated in this order (GENERATOR_SOURCES in the generator).
 */
export const GENERATOR_SOURCES = [GENERATOR_FILE, 'scripts/op_table.py', 'scripts/case_specs.py', 'python/capture.py', 'python/export_graph.py', 'python/golden_json.py'] as const;

/** The SHA-256 the generator records for its sources (or for the given files, in order). */
export function generatorSha256(files: readonly string[] = GENERATOR_SOURCES): string {
  const hash = createHash('sha256');
  for (const file of files) hash.update(readFileSync(file));
  return hash.digest('hex');
}

/** The case specs of scripts/cases.json; a damaged file is bad input that names itself. */
export function readCaseSpecs(file: string = CASES_FILE): Record<string, unknown>[] {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new InputError(file, null, `cannot read the case specs: ${(err as Error).message}`);
  }
  const cases = (json as { cases?: unknown } | null)?.cases;
  if (!Array.isArray(cases)) throw new InputError(file, ['cases'], 'is missing or not a list of case specs');
  const bad = cases.findIndex((c) => typeof c !== 'object' || c === null || typeof (c as { name?: unknown }).name !== 'string');
  if (bad >= 0) throw new InputError(file, ['cases', bad, 'name'], 'every case spec needs a name');
  return cases as Record<string, unknown>[];
}

/** The top-level spec fields whose values differ, e.g. ['seed', 'values']. */
function changedFields(now: Record<string, unknown>, then: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(now), ...Object.keys(then)])];
  return keys.filter((k) => !isDeepStrictEqual(now[k], then[k])).sort();
}

/** Why a golden lags behind its sources, and the command that brings it up to date. */
export interface Staleness {
  readonly reasons: readonly string[];
  /** `npm run goldens -- --case x` when only its spec changed; the whole set otherwise. */
  readonly command: string;
}

/** The command that regenerates the whole set; it also drops goldens that no case generates any more. */
export const REGENERATE_ALL = 'npm run goldens';

/**
 * Why a golden no longer matches what the generator would write from the current sources: its
 * case spec changed, or the generator did, or its case is gone from the specs. Null when fresh.
 */
export function staleness(golden: GoldenCase, files: { cases?: string; generator?: readonly string[] } = {}): Staleness | null {
  const casesFile = files.cases ?? CASES_FILE;
  const generatorFiles = files.generator ?? GENERATOR_SOURCES;
  const reasons: string[] = [];
  // `--case x` needs x in the specs, and a changed generator makes every golden stale.
  let wholeSet = false;
  const spec = readCaseSpecs(casesFile).find((c) => c.name === golden.name);
  if (spec === undefined) {
    reasons.push(`case ${golden.name} is no longer in ${casesFile}`);
    wholeSet = true;
  } else {
    const fields = changedFields(spec, golden.provenance.spec);
    if (fields.length > 0) reasons.push(`its spec in ${casesFile} changed (${fields.join(', ')}) since it was generated`);
  }
  if (generatorSha256(generatorFiles) !== golden.provenance.generatorSha256) {
    reasons.push(`the generator (${generatorFiles.join(', ')}) changed since it was generated`);
    wholeSet = true;
  }
  if (reasons.length === 0) return null;
  return { reasons, command: wholeSet ? REGENERATE_ALL : `${REGENERATE_ALL} -- --case ${golden.name}` };
}

/** `goldens/x.json is stale: …; bring it up to date with npm run goldens -- --case x`. */
export function staleMessage(golden: GoldenCase, stale: Staleness): string {
  return `${golden.file} is stale: ${stale.reasons.join('; ')}; bring it up to date with ${stale.command}`;
}
