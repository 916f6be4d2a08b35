import type { FdReport } from '../fd/engine.ts';
import type { CaseCheck } from '../parity/checkGoldens.ts';
import { DTYPES, type DType } from '../tensor/dtype.ts';
import { sideLabel, worstShare, type ComparisonRecord } from '../tolerance/compare.ts';
import { percent, sci, textTable } from './format.ts';

/** One row of the main job's table: a case evaluated in one precision. */
export interface SummaryRow {
  readonly case: string;
  readonly dtype: DType;
  readonly loss: ComparisonRecord | undefined;
  readonly worstGrad: ComparisonRecord | undefined;
  /** The onnxruntime comparisons (ts~onnx, onnx~torch) in this precision; none when the graph is in the other one. */
  readonly onnx: readonly ComparisonRecord[];
  readonly onnxRan: boolean;
  readonly fd: FdReport;
  readonly failures: readonly ComparisonRecord[];
}

const worstOf = (records: readonly ComparisonRecord[]) =>
  records.reduce<ComparisonRecord | undefined>((w, r) => (w === undefined || worstShare(r) > worstShare(w) ? r : w), undefined);

const involvesOnnx = (r: ComparisonRecord) => r.actual.source === 'onnx' || r.expected.source === 'onnx';

const isTsVsTorch = (r: ComparisonRecord, d: DType) =>
  r.actual.source === 'ts' && r.actual.dtype === d && r.expected.source === 'torch' && r.expected.dtype === d;

/** Rows per case and precision; a row fails when any comparison involving that run fails. */
export function summaryRows(checks: readonly CaseCheck[]): SummaryRow[] {
  return checks.flatMap((check) =>
    DTYPES.map((dtype) => {
      const own = check.records.filter((r) => r.actual.dtype === dtype);
      const grads = check.records.filter((r) => isTsVsTorch(r, dtype) && r.tensor.startsWith('grad['));
      return {
        case: check.case,
        dtype,
        loss: check.records.find((r) => isTsVsTorch(r, dtype) && r.tensor === 'loss'),
        worstGrad: worstOf(grads),
        onnx: own.filter(involvesOnnx),
        onnxRan: check.onnxRan,
        fd: check.fd[dtype],
        failures: own.filter((r) => r.verdict === 'fail'),
      };
    }),
  );
}

function describeWorst(r: ComparisonRecord | undefined): string {
  if (r?.worst === null || r === undefined) return '-';
  return `${percent(r.worst.share)} ${r.tensor.replace(/^grad\[(.*)\]$/, '$1')}[${r.worst.index.join(',')}]`;
}

/** The onnxruntime column: the worst share over ts~onnx and onnx~torch, and which pair it was. */
function describeOnnx(records: readonly ComparisonRecord[], ran: boolean): string {
  if (!ran) return '- (onnxruntime-node not installed)';
  const worst = worstOf(records);
  // Each case has one graph, exported in the case's precision.
  if (worst === undefined) return '- (other-precision graph)';
  const pair = worst.actual.source === 'onnx' ? 'onnx~torch' : 'ts~onnx';
  return `${describeWorst(worst).replace(/^(\S+) /, `$1 ${pair} `)}`;
}

/** The finite-difference column: worst share over the directions (or elements, after a fallback). */
function describeFd(fd: FdReport): string {
  const checks = fd.elements.length > 0 ? fd.elements : fd.directions;
  const worst = checks.reduce((w, c) => Math.max(w, c.share), 0);
  const kinks = checks.filter((c) => c.verdict === 'kink').length;
  return `${percent(worst)}${kinks > 0 ? ` (${kinks} kink)` : ''}${fd.verdict === 'fail' ? ' FAIL' : ''}`;
}

/** The per-case table `npm start` prints. */
export function summaryTable(rows: readonly SummaryRow[]): string {
  const body = rows.map((row) => [
    row.case,
    row.dtype,
    row.loss?.worst ? `${sci(row.loss.worst.absDiff)} (${percent(row.loss.worst.share)})` : '-',
    describeWorst(row.worstGrad),
    describeOnnx(row.onnx, row.onnxRan),
    describeFd(row.fd),
    row.failures.length === 0 && row.fd.verdict === 'pass' ? 'pass' : row.failures.length === 0 ? 'FAIL: finite differences' : `FAIL: ${row.failures.map((f) => `${f.tensor} ${sideLabel(f.actual)}~${sideLabel(f.expected)}`).join('; ')}`,
  ]);
  return textTable(['case', 'dtype', 'loss |ts-torch| (of bound)', 'worst grad, share of bound', 'onnxruntime, worst share', 'finite diff., worst share', 'verdict'], body);
}
