import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import type { GoldenCase } from './load.ts';

export const CASES_FILE = 'scripts/cases.json';
export const GENERATOR_FILE = 'scripts/generate_goldens.py';

/** The top-level spec fields whose values differ, e.g. ['seed', 'values']. */
function changedFields(now: Record<string, unknown>, then: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(now), ...Object.keys(then)])];
  return keys.filter((k) => !isDeepStrictEqual(now[k], then[k])).sort();
}

/**
 * Why a golden no longer matches what the generator would write from the current sources: its
 * case spec changed, or the generator did, since it was generated. Empty when it is fresh.
 */
export function staleReasons(golden: GoldenCase, files: { cases?: string; generator?: string } = {}): string[] {
  const casesFile = files.cases ?? CASES_FILE;
  const generatorFile = files.generator ?? GENERATOR_FILE;
  const reasons: string[] = [];
  const cases = (JSON.parse(readFileSync(casesFile, 'utf8')) as { cases: Record<string, unknown>[] }).cases;
  const spec = cases.find((c) => c.name === golden.name);
  if (spec === undefined) {
    reasons.push(`case ${golden.name} is no longer in ${casesFile}`);
  } else {
    const fields = changedFields(spec, golden.provenance.spec);
    if (fields.length > 0) reasons.push(`its spec in ${casesFile} changed (${fields.join(', ')}) since it was generated`);
  }
  const generatorSha = createHash('sha256').update(readFileSync(generatorFile)).digest('hex');
  if (generatorSha !== golden.provenance.generatorSha256) reasons.push(`${generatorFile} changed since it was generated`);
  return reasons;
}

/** `goldens/x.json is stale: …; run npm run goldens -- --case x`. */
export function staleMessage(golden: GoldenCase, reasons: readonly string[]): string {
  return `${golden.file} is stale: ${reasons.join('; ')}; regenerate it with npm run goldens -- --case ${golden.name}`;
}
