import { z } from 'zod';
import type { DriftExplanation } from '../fd/explain.ts';
import type { SweepPoint } from '../fd/engine.ts';
import type { DType } from '../tensor/dtype.ts';
import { pairLabel, type ComparisonRecord } from '../tolerance/compare.ts';

/** The seed case's float32 finite-difference drift, explained (or any other element's). */
export interface DriftSection {
  readonly case: string;
  readonly explanation: DriftExplanation;
  /** Context for the reader, e.g. what the notebook itself printed. */
  readonly note?: string;
}

/** Data of one error-versus-step curve, for a plot. */
export interface SweepSection {
  readonly case: string;
  readonly dtype: DType;
  readonly tensor: string;
  readonly index: readonly number[];
  /** Why this curve is in the report. */
  readonly reason: string;
  readonly reference: number;
  readonly c2: number;
  readonly points: readonly SweepPoint[];
}

/** A golden or graph that could not be checked at all. */
export interface InputFailure {
  readonly file: string;
  readonly message: string;
}

/** What tests attach to `task.meta.gradparity` and what the main job collects: pieces of a report. */
export interface ReportInput {
  readonly records: readonly ComparisonRecord[];
  readonly drifts: readonly DriftSection[];
  readonly sweeps: readonly SweepSection[];
  readonly inputFailures: readonly InputFailure[];
  /** What did not run and why, e.g. an oracle whose optional dependency is missing. */
  readonly notes: readonly string[];
}

export const REPORT_SCHEMA_VERSION = 1;

/** A whole run's report: the collected pieces in canonical order, with the cases and a verdict. */
export interface ParityReport extends ReportInput {
  readonly schemaVersion: number;
  readonly verdict: 'pass' | 'fail';
  readonly cases: readonly string[];
}

export function mergeInputs(inputs: readonly Partial<ReportInput>[]): ReportInput {
  return {
    records: inputs.flatMap((i) => i.records ?? []),
    drifts: inputs.flatMap((i) => i.drifts ?? []),
    sweeps: inputs.flatMap((i) => i.sweeps ?? []),
    inputFailures: inputs.flatMap((i) => i.inputFailures ?? []),
    notes: [...new Set(inputs.flatMap((i) => i.notes ?? []))],
  };
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The report of everything collected, in a canonical order (by case, then pair; within a pair,
 * as compared), so that the same checks give the same report whatever order tests finished in.
 * A report with no comparison at all fails: a run that checked nothing proves nothing.
 */
export function buildReport(pieces: Partial<ReportInput>): ParityReport {
  const input = mergeInputs([pieces]);
  const records = [...input.records].sort((a, b) => byText(a.case, b.case) || byText(pairLabel(a), pairLabel(b)));
  const drifts = [...input.drifts].sort((a, b) => byText(a.case, b.case));
  const sweeps = [...input.sweeps].sort((a, b) => byText(a.case, b.case) || byText(a.dtype, b.dtype) || byText(`${a.tensor}${a.index}`, `${b.tensor}${b.index}`));
  const failed = records.length === 0 || records.some((r) => r.verdict === 'fail') || input.inputFailures.length > 0;
  const cases = [...new Set(records.map((r) => r.case))].sort(byText);
  return { schemaVersion: REPORT_SCHEMA_VERSION, verdict: failed ? 'fail' : 'pass', cases, records, drifts, sweeps, inputFailures: input.inputFailures, notes: input.notes };
}

// --- JSON: non-finite numbers (an Infinity share, a NaN difference) become strings, as JSON has
// no literal for them; `parseReportJson` turns them back. ---

const NON_FINITE = new Set(['Infinity', '-Infinity', 'NaN']);

export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, (_, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), indent);
}

export function fromJson<T>(text: string): T {
  return JSON.parse(text, (_, v: unknown) => (typeof v === 'string' && NON_FINITE.has(v) ? Number(v) : v)) as T;
}

// --- the JSON Schema of reports/parity-report.json ---

// Literals rather than z.enum: TypeScript 7 writes an enum keyed "-Infinity" into the declaration
// files as a computed property that consumers' compilers reject.
const JsonNumber = z.union([z.number(), z.literal('Infinity'), z.literal('-Infinity'), z.literal('NaN')]);
const SideJson = z.strictObject({ source: z.string(), dtype: z.enum(['float32', 'float64', 'exact']), arithmetic: z.string().optional() });
const ElementJson = z.strictObject({
  index: z.array(z.number().int()),
  actual: JsonNumber,
  expected: JsonNumber,
  absDiff: JsonNumber,
  relDiff: JsonNumber,
  bound: JsonNumber,
  boundParts: z.record(z.string(), JsonNumber),
  share: JsonNumber,
});
const RecordJson = z.strictObject({
  case: z.string(),
  file: z.string().optional(),
  tensor: z.string(),
  actual: SideJson,
  expected: SideJson,
  shape: z.array(z.number().int()),
  numel: z.number().int(),
  mismatched: z.number().int(),
  nonFinite: z.number().int(),
  greatestAbs: ElementJson.nullable(),
  greatestRel: ElementJson.nullable(),
  worst: ElementJson.nullable(),
  maxUlps: JsonNumber,
  kinks: z.number().int().optional(),
  undecided: z.number().int().optional(),
  verdict: z.enum(['pass', 'fail']),
});
const SweepPointJson = z.strictObject({
  step: z.number(),
  crossedKink: z.boolean(),
  numeric: JsonNumber,
  observed: JsonNumber,
  predicted: JsonNumber,
  rounding: JsonNumber,
  truncation: JsonNumber,
});

export const ParityReportJson = z.strictObject({
  schemaVersion: z.literal(REPORT_SCHEMA_VERSION),
  verdict: z.enum(['pass', 'fail']),
  cases: z.array(z.string()),
  records: z.array(RecordJson),
  drifts: z.array(z.strictObject({ case: z.string(), explanation: z.record(z.string(), z.unknown()), note: z.string().optional() })),
  sweeps: z.array(
    z.strictObject({
      case: z.string(),
      dtype: z.enum(['float32', 'float64']),
      tensor: z.string(),
      index: z.array(z.number().int()),
      reason: z.string(),
      reference: JsonNumber,
      c2: JsonNumber,
      points: z.array(SweepPointJson),
    }),
  ),
  inputFailures: z.array(z.strictObject({ file: z.string(), message: z.string() })),
  notes: z.array(z.string()),
});

export function reportJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(ParityReportJson, { target: 'draft-2020-12' }),
    title: 'gradparity parity report',
    description: 'Every comparison of a gradparity run, with its derived bound. Non-finite numbers are written as the strings "Infinity", "-Infinity" and "NaN".',
  };
}
