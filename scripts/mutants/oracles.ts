import { FD_PAIRS, onnxPairs, TORCH_PAIRS, type Pair } from '../../src/parity/pairs.ts';

/**
 * What can catch a mutant, derived from the main job's pairs: each pair that holds the TS model to
 * another side names that side (torch golden, onnxruntime, finite differences); and the float32
 * semantics check, which sees what no bound can (a float32 path that skips roundings is more
 * accurate, not less).
 */
const NAMES = {
  torch: 'torch golden',
  onnx: 'onnxruntime',
  fd: 'finite differences',
  semantics: 'float32 semantics',
} as const;
export type Oracle = keyof typeof NAMES;

const isOracle = (source: string): source is Oracle => source in NAMES;

export function oracleOf(pair: Pair): Oracle | undefined {
  const other = pair.actual.source === 'ts' ? pair.expected.source : pair.expected.source === 'ts' ? pair.actual.source : undefined;
  if (other === undefined) return undefined;
  if (!isOracle(other)) throw new RangeError(`the main job compares TS with ${other}, which the mutant runner does not know`);
  return other;
}

export const ORACLES: readonly Oracle[] = [...new Set([...TORCH_PAIRS, ...onnxPairs('float32'), ...FD_PAIRS].flatMap((p) => oracleOf(p) ?? [])), 'semantics'];

export const oracleName = (oracle: Oracle): string => NAMES[oracle];

export interface OracleResult {
  caught: boolean;
  /** The largest share of its bound any compared element used (Infinity after a crash). */
  worstShare: number;
  /** Cases on which this oracle saw the mutant. */
  cases: string[];
  errors: string[];
}
