import { finiteDifferenceCheck, type FdReport } from '../fd/engine.ts';
import { explainDrift, sweepElement } from '../fd/explain.ts';
import { modelProblem } from '../fd/modelProblem.ts';
import type { GoldenCase } from '../golden/load.ts';
import type { DriftSection, SweepSection } from '../report/parityReport.ts';
import type { DType } from '../tensor/dtype.ts';

/** The notebook this project started from: its case, the element it got wrong, and how it checked. */
export const NOTEBOOK = {
  case: 'seed-3-4-2',
  tensor: 'x',
  index: [0, 0],
  dtype: 'float32',
  step: 1e-5,
  /** What the notebook printed for dL/dx[0] (numpy float32, dividing by 2h). */
  notebookNumeric: -0.04917383,
} as const;

/** The notebook's float32 check (h = 1e-5) of dL/dx[0] redone, explained, and swept over h. */
export function notebookDrift(golden: GoldenCase): { drift: DriftSection; sweeps: SweepSection[] } {
  // Explained by the worst case: the notebook's drift is what float32 rounding can do at most.
  const report = finiteDifferenceCheck(modelProblem(golden, NOTEBOOK.dtype), { step: NOTEBOOK.step, threshold: 'worst-case' });
  const explanation = explainDrift((dtype) => modelProblem(golden, dtype), report, NOTEBOOK);
  if (explanation === undefined) throw new Error(`${golden.name}: the notebook's element ${NOTEBOOK.tensor}[${NOTEBOOK.index}] did not drift at all`);
  const sweeps = (['float32', 'float64'] as const).map((dtype) => sweepSection(golden, dtype, NOTEBOOK.tensor, NOTEBOOK.index, "the notebook's dL/dx[0]"));
  const note = `the notebook's numpy float32 check printed ${NOTEBOOK.notebookNumeric}; numpy's float32 exp and log round differently, and the quotient moves in steps of ulp(L)/step`;
  return { drift: { case: golden.name, explanation, note }, sweeps };
}

export function sweepSection(golden: GoldenCase, dtype: DType, tensor: string, index: readonly number[], reason: string): SweepSection {
  return { case: golden.name, dtype, tensor, index, reason, ...sweepElement(golden, dtype, tensor, index) };
}

/** The worst failing element of a finite-difference check, swept over h: is it noise at any step? */
export function failingFdSweeps(golden: GoldenCase, report: FdReport): SweepSection[] {
  const failing = report.elements.filter((e) => e.verdict === 'fail');
  const worst = failing.reduce<(typeof failing)[number] | undefined>((w, e) => (w === undefined || e.share > w.share ? e : w), undefined);
  if (worst === undefined) return [];
  return [sweepSection(golden, report.dtype, worst.tensor, worst.index, `worst element of a failing ${report.dtype} finite-difference check`)];
}
