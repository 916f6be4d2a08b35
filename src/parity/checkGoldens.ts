import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadGolden } from '../golden/load.ts';
import type { DType } from '../tensor/dtype.ts';
import type { ComparisonRecord } from '../tolerance/compare.ts';
import { compareWithTorch } from './torchParity.ts';

/** Everything the suite found for one golden. */
export interface CaseCheck {
  readonly case: string;
  readonly file: string;
  /** The precision the golden's inputs are stored in. */
  readonly dtype: DType;
  readonly records: readonly ComparisonRecord[];
}

export const GOLDENS_DIR = 'goldens';

/** Every golden file in a directory, sorted; schema.json is the format, not a case. */
export function listGoldenFiles(dir: string = GOLDENS_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && f !== 'schema.json')
    .sort()
    .map((f) => join(dir, f));
}

export function checkGoldenFile(file: string): CaseCheck {
  const golden = loadGolden(file);
  return { case: golden.name, file, dtype: golden.dtype, records: compareWithTorch(golden) };
}

export function passed(check: CaseCheck): boolean {
  return check.records.every((r) => r.verdict === 'pass');
}
