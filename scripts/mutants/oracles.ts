/**
 * What can catch a mutant: the three oracles, and the float32 semantics check, which sees what no
 * bound can (a float32 path that skips roundings is more accurate, not less).
 */
export const ORACLES = ['torch', 'onnx', 'fd', 'semantics'] as const;
export type Oracle = (typeof ORACLES)[number];

export const ORACLE_NAMES: Readonly<Record<Oracle, string>> = {
  torch: 'torch golden',
  onnx: 'onnxruntime',
  fd: 'finite differences',
  semantics: 'float32 semantics',
};

export interface OracleResult {
  caught: boolean;
  /** The largest share of its bound any compared element used (Infinity after a crash). */
  worstShare: number;
  /** Cases on which this oracle saw the mutant. */
  cases: string[];
  errors: string[];
}
