import { dominantPart, largestDrift, type DriftExplanation, type GradcheckOutcome, type Remedy } from '../fd/explain.ts';
import type { FdElementCheck, FdReport, SweepPoint } from '../fd/engine.ts';
import { percent, precise as num, sci, textTable } from './format.ts';

/** Which model each threshold's rounding part came from, and its false-alarm probability (Note [Measured noise instead of its worst case]). */
function thresholdLine(report: FdReport): string {
  const checks = [...report.elements, ...report.directions];
  const measured = checks.flatMap((c) => (c.threshold?.model === 'measured' ? [c.threshold] : []));
  if (measured.length === 0) return 'thresholds: the worst case (rounding part 2ε_f over the step)';
  const { z, perCheck, perRun } = measured[0]!;
  const noises = measured.map((t) => t.noise);
  return (
    `thresholds: measured noise for ${measured.length} of ${checks.length} checks (σ ${sci(Math.min(...noises))} to ${sci(Math.max(...noises))}, z = ${z.toFixed(2)}: ` +
    `false-alarm probability ≤ ${sci(perCheck)} per check, ≤ ${sci(perRun)} per run, under independent noise); the worst case for the rest`
  );
}

/** The per-element table of `gradparity gradcheck`, a direction table in directional mode, the float64 re-check, and the verdict. */
export function gradcheckText(caseName: string, outcome: GradcheckOutcome): string {
  const { report, recheck, explanation } = outcome;
  const o = report.options;
  const lines = [
    `${caseName}: central differences in ${report.dtype}, step ${o.step === 'auto' ? 'auto (∛u·max(1, |θ|))' : sci(o.step)}, ` +
      `${o.mode} mode${o.richardson ? ', Richardson-extrapolated' : ''}, dividing by ${o.divideBy === 'actual' ? 'the step actually taken' : 'the nominal 2h'}`,
    `loss ${num(report.loss)}, its error bound ε_f = ${sci(report.lossError)}`,
    thresholdLine(report),
    '',
  ];
  if (report.directions.length > 0) {
    lines.push(
      textTable(
        ['direction', 'within', 'numeric', '<g, v>', '|diff|', 'bound', 'rounding', 'truncation', 'analytic', 'share', 'verdict'],
        report.directions.map((d) => [String(d.direction), d.tensor ?? 'the model', num(d.numeric), num(d.analytic), sci(d.absDiff), sci(d.bound.total), sci(d.bound.rounding), d.truncationEstimated === false ? 'not needed' : sci(d.bound.truncation), sci(d.bound.analytic), percent(d.share), d.verdict]),
      ),
      '',
    );
    if (report.fellBack) lines.push('A direction did not pass: falling back to every element to say where.', '');
  }
  if (report.elements.length > 0) {
    lines.push(
      textTable(
        ['tensor', 'index', 'analytic', 'numeric', '|diff|', 'bound', 'rounding', 'truncation', 'step repr.', 'analytic err', 'share', 'bound mostly', 'verdict'],
        report.elements.map((e) => [
          e.tensor, e.index.join(','), num(e.analytic),
          e.oneSided ? `[${num(Math.min(e.oneSided.left, e.oneSided.right))}, ${num(Math.max(e.oneSided.left, e.oneSided.right))}]` : num(e.numeric),
          sci(e.absDiff), sci(e.bound.total), sci(e.bound.rounding), e.truncationEstimated === false ? 'not needed' : sci(e.bound.truncation), sci(e.bound.stepRepresentation), sci(e.bound.analytic),
          percent(e.share), dominantPart(e), e.verdict === 'undecided' ? 'undecided: the noise alone is as large as the gradient' : e.undecided ? 'undecided: a piece narrower than the step' : e.verdict === 'kink' ? 'kink: non-differentiable within the step' : e.verdict,
        ]),
      ),
      '',
    );
  }
  const drifts = driftPerTensor(report);
  if (drifts.length > 0) {
    lines.push('Largest drift per tensor (relative to the analytic value):');
    for (const e of drifts) {
      lines.push(`  ${e.tensor}[${e.index.join(',')}]: off by ${sci(e.absDiff)} (${percent(e.absDiff / Math.abs(e.analytic))}), ${percent(e.share)} of its bound, which is mostly ${dominantPart(e)}`);
    }
    lines.push('');
  }
  if (recheck !== undefined) lines.push(recheckText(recheck), '');
  if (explanation) lines.push(`Drift explained: ${driftText(explanation)}`, '');
  const count = (v: string) => report.elements.filter((e) => e.verdict === v).length;
  const tally = report.elements.length > 0 ? `${report.elements.length} elements: ${count('pass')} pass, ${count('kink')} kink, ${count('undecided') > 0 ? `${count('undecided')} undecided, ` : ''}${count('fail')} fail; ` : '';
  const why = report.verdict === 'pass' && outcome.verdict === 'fail' ? (recheck?.verdict === 'fail' ? '; the float64 re-check fails' : '; the explanation\'s re-check fails') : '';
  lines.push(`verdict: ${outcome.verdict} (${tally}${report.evaluations} evaluations${why})`);
  return `${lines.join('\n')}\n`;
}

/** The float64 re-check of a float32 run, in one or a few lines. */
function recheckText(recheck: FdReport): string {
  const checks = recheck.elements.length > 0 ? recheck.elements : recheck.directions;
  const failing = recheck.elements.filter((e) => e.verdict === 'fail');
  const head = `float64 re-check (same options, ${checks.length} ${recheck.elements.length > 0 ? 'elements' : 'directions'}): ${recheck.verdict}`;
  if (recheck.verdict === 'pass') return `${head}, every one within its float64 bound: the float32 drift above is float32 noise.`;
  const worst = [...failing].sort((a, b) => b.share - a.share).slice(0, 5);
  return [
    `${head}: ${failing.length} element(s) outside their float64 bounds, which float32's wider bounds let through. A bug:`,
    ...worst.map((e) => `  ${e.tensor}[${e.index.join(',')}]: numeric ${num(e.numeric)} against analytic ${num(e.analytic)}, off by ${sci(e.absDiff)}, bound ${sci(e.bound.total)} (${percent(e.share)})`),
  ].join('\n');
}

/** For each tensor, the passing element furthest from its analytic value, relatively. */
function driftPerTensor(report: FdReport): FdElementCheck[] {
  const tensors = [...new Set(report.elements.map((e) => e.tensor))];
  return tensors.flatMap((t) => largestDrift(report.elements.filter((e) => e.tensor === t)) ?? []);
}

/** How a remedy's re-check came out, e.g. `off by 5.02e-12, within its bound 3.1e-10 (1.6%)`. */
function remedyLine(r: Remedy): string {
  const c = r.check;
  const where = c.verdict === 'fail' ? `OUTSIDE its bound ${sci(c.bound.total)} (${percent(c.share)})` : `within its bound ${sci(c.bound.total)} (${percent(c.share)})`;
  return `  ${r.label} (h = ${sci(c.step.nominal / 2)}): off by ${sci(c.absDiff)}, ${where}`;
}

/** The explanation of one element's drift, in words and numbers; its last sentence is the conclusion. */
export function driftText(x: DriftExplanation): string {
  const e = x.element;
  const where = `${e.tensor}[${e.index.join(',')}]`;
  const relative = e.analytic === 0 ? '' : ` (${percent(e.absDiff / Math.abs(e.analytic))} of it)`;
  const h = e.step.nominal / 2;
  const cause = {
    rounding: `${x.dtype} rounding noise: the loss's own error bound ε_f = ${sci(x.lossError)} amplified by 1/step = ${sci(1 / Math.abs(e.step.actual))}; the quotient moves in steps of ulp(L)/step = ${sci(x.resolution)}`,
    truncation: `truncation: the step h = ${sci(h)} is large enough for the h² term of the Taylor series to show`,
    stepRepresentation: 'step representation: x ± h was rounded, so the step taken is not the 2h divided by',
    analytic: 'the analytic gradient\'s own rounding',
  }[x.dominant];
  const persisting = x.remedies.filter((r) => r.check.verdict === 'fail');
  let finding: string;
  if (e.verdict === 'fail') {
    finding = `OUTSIDE its bound ${sci(e.bound.total)} (${percent(e.share)} of it), of which ${cause} explains only ${sci(e.bound[x.dominant])}: a real disagreement. A bug.`;
  } else if (persisting.length > 0) {
    // The wide bound let it through, but the re-checks with less noise did not make it vanish.
    finding = `inside its ${x.dtype} bound ${sci(e.bound.total)} (${percent(e.share)} used), which is mostly ${x.dominant} and too wide to decide; ` +
      `but ${persisting.map((r) => r.label).join(' and ')} does not make the discrepancy vanish (see below): not noise. A bug.`;
  } else if (e.undecided) {
    finding = `the step crosses kinks on both sides: this point lies on a piece narrower than the step, whose slope the one-sided differences [${num(Math.min(e.oneSided?.left ?? 0, e.oneSided?.right ?? 0))}, ${num(Math.max(e.oneSided?.left ?? 0, e.oneSided?.right ?? 0))}] do not measure. Finite differences cannot decide this element; the goldens and onnxruntime can.`;
  } else if (e.verdict === 'kink') {
    finding = `the step crosses a ReLU kink; the analytic value lies within ${sci(e.bound.total)} of the one-sided slopes [${num(Math.min(e.oneSided?.left ?? 0, e.oneSided?.right ?? 0))}, ${num(Math.max(e.oneSided?.left ?? 0, e.oneSided?.right ?? 0))}]. Not a bug.`;
  } else {
    finding = `inside its bound ${sci(e.bound.total)} (${percent(e.share)} used): within ${cause}${x.remedies.length > 0 ? ', and each re-check below stays within its own bound' : ''}. Not a bug.`;
  }
  return [
    `${where}: ${e.verdict === 'kink' ? 'nearest one-sided slope' : 'numeric'} ${num(e.numeric)} against analytic ${num(e.analytic)}: off by ${sci(e.absDiff)}${relative},`,
    finding,
    ...x.remedies.map(remedyLine),
  ].join('\n');
}

export function sweepText(where: string, dtype: string, sweep: { reference: number; c2: number; points: readonly SweepPoint[] }): string {
  return [
    `${where} in ${dtype}: error of the central difference against the float64 analytic value ${num(sweep.reference)}`,
    `predicted = rounding 2ε_f/step + truncation |c₂|·h², with c₂ = f‴/6 = ${sci(sweep.c2)} measured in float64`,
    '',
    textTable(
      ['h', 'numeric', 'observed', 'predicted', 'rounding', 'truncation'],
      sweep.points.map((p) => [sci(p.step), num(p.numeric), sci(p.observed), sci(p.predicted), sci(p.rounding), sci(p.truncation)]),
    ),
    '',
  ].join('\n');
}
