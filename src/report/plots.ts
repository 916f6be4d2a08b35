import type * as VegaLite from 'vega-lite';
import type { SweepSection } from './parityReport.ts';

const SERIES = ['observed |D(h) − g|', 'predicted: rounding + truncation', 'rounding 2ε_f/step', 'truncation |c₂|·h²'];

/**
 * The error-versus-step curve of one element as an SVG: observed |D(h) − g| and the predicted
 * error (rounding 2ε_f/step + truncation |c₂|h²) with its two arms, on log–log axes. On a log scale
 * an error of exactly 0 has no place; such points are left out and counted in the subtitle.
 * Vega-Lite renders it headless (no browser, no canvas).
 */
export async function sweepSvg(sweep: SweepSection): Promise<string> {
  const rows = sweep.points.flatMap((p) => [
    { h: p.step, error: p.observed, series: 'observed |D(h) − g|', kink: p.crossedKink },
    { h: p.step, error: p.predicted, series: 'predicted: rounding + truncation', kink: false },
    { h: p.step, error: p.rounding, series: 'rounding 2ε_f/step', kink: false },
    { h: p.step, error: p.truncation, series: 'truncation |c₂|·h²', kink: false },
  ]);
  const plotted = rows.filter((r) => r.error > 0 && Number.isFinite(r.error));
  // The y range follows what matters: from below the smallest observed error to the largest
  // prediction. The arms of the prediction run on far below that and are clipped.
  const observed = plotted.filter((r) => r.series.startsWith('observed')).map((r) => r.error);
  const predicted = plotted.filter((r) => r.series.startsWith('predicted')).map((r) => r.error);
  const yLow = 10 ** Math.floor(Math.log10(Math.min(...observed, ...predicted)) - 1);
  const yHigh = 10 ** Math.ceil(Math.log10(Math.max(...observed, ...predicted)));
  const hs = sweep.points.map((p) => p.step);
  // Tick marks at whole decades inside [lo, hi] (the 1e-9 guards against log10 rounding).
  const decades = (lo: number, hi: number, every = 1) => {
    const [first, last] = [Math.ceil(Math.log10(lo) - 1e-9), Math.floor(Math.log10(hi) + 1e-9)];
    return Array.from({ length: Math.floor((last - first) / every) + 1 }, (_, k) => 10 ** (first + k * every));
  };
  const zeros = rows.filter((r) => r.series.startsWith('observed') && r.error === 0).length;
  const where = `${sweep.tensor}[${sweep.index.join(',')}]`;
  const subtitle = [
    `central differences in ${sweep.dtype}, against the float64 analytic value ${sweep.reference.toPrecision(6)}`,
    ...(zeros > 0 ? [`${zeros} step(s) with an observed error of exactly 0 are not drawn`] : []),
    ...(sweep.points.some((p) => p.crossedKink) ? ['crosses: steps that reached across a ReLU kink'] : []),
    ...flatSteps(sweep),
  ];
  const spec: VegaLite.TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `${sweep.case}: error of ∂L/∂${where} against the step`, subtitle },
    width: 620,
    height: 360,
    background: 'white',
    data: { values: plotted },
    layer: [
      {
        mark: { type: 'line', clip: true },
        encoding: {
          x: {
            field: 'h', type: 'quantitative', title: 'step h (log scale)',
            scale: { type: 'log', domain: [Math.min(...hs), Math.max(...hs)] },
            axis: { format: '.0e', values: decades(Math.min(...hs), Math.max(...hs)) },
          },
          y: {
            field: 'error', type: 'quantitative', title: 'absolute error (log scale)',
            scale: { type: 'log', domain: [yLow, yHigh] },
            axis: { format: '.0e', values: decades(yLow, yHigh, Math.log10(yHigh / yLow) > 12 ? 2 : 1) },
          },
          color: {
            field: 'series', type: 'nominal', title: null,
            scale: { domain: SERIES, range: ['#1f5fa8', '#d62728', '#e39b2d', '#3a9a4a'] },
            legend: { orient: 'bottom', columns: 2 },
          },
          strokeDash: { field: 'series', type: 'nominal', title: null, scale: { domain: SERIES, range: [[1, 0], [7, 3], [2, 3], [2, 3]] } },
          strokeWidth: { condition: { test: "datum.series === 'observed |D(h) − g|' || indexof(datum.series, 'predicted') === 0", value: 2.2 }, value: 1 },
        },
      },
      {
        transform: [{ filter: "datum.series === 'observed |D(h) − g|'" }],
        mark: { type: 'point', filled: true, size: 36 },
        encoding: {
          x: { field: 'h', type: 'quantitative', scale: { type: 'log' } },
          y: { field: 'error', type: 'quantitative', scale: { type: 'log' } },
          shape: { field: 'kink', type: 'nominal', scale: { domain: [false, true], range: ['circle', 'cross'] }, legend: null },
          color: { value: '#1f5fa8' },
        },
      },
    ],
    config: { font: 'DejaVu Sans, Helvetica, Arial, sans-serif', axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelFontSize: 11, labelLimit: 320 } },
  };
  // Loaded here, not at the top: vega takes longer to load than most runs need it for.
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Below some step the two loss values round to the same number and D(h) = 0: say where. */
function flatSteps(sweep: SweepSection): string[] {
  const flat = sweep.points.filter((p) => p.numeric === 0 && sweep.reference !== 0);
  if (flat.length === 0) return [];
  const largest = Math.max(...flat.map((p) => p.step));
  return [`for h ≤ ${largest.toExponential(1)} the two loss values are the same ${sweep.dtype} number: D(h) = 0`];
}

/** A file name for a sweep's plot: `sweep-seed-3-4-2-x-0-0-float32.svg`. */
export function sweepFileName(sweep: SweepSection): string {
  return `sweep-${sweep.case}-${sweep.tensor}-${sweep.index.join('-')}-${sweep.dtype}.svg`.replace(/[^\w.-]/g, '_');
}
