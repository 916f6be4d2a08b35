import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadGolden } from '../golden/load.ts';
import type { DType } from '../tensor/dtype.ts';
import type { ComparisonRecord } from '../tolerance/compare.ts';
import { compareWithOnnx } from './onnxParity.ts';
import { compareWithTorch, runTsOnGolden } from './torchParity.ts';

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

/** Every comparison the suite makes for one golden: against torch's numbers and against onnxruntime. */
export async function checkGoldenFile(file: string): Promise<CaseCheck> {
  const golden = loadGolden(file);
  const ts = runTsOnGolden(golden);
  const records = [...compareWithTorch(golden, ts), ...(await compareWithOnnx(golden, ts))];
  return { case: golden.name, file, dtype: golden.dtype, records };
}

export function passed(check: CaseCheck): boolean {
  return check.records.every((r) => r.verdict === 'pass');
}
