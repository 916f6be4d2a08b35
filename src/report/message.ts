import { sideLabel, type ComparisonRecord, type ElementReport } from '../tolerance/compare.ts';
import { percent, sci } from './format.ts';

const at = (e: ElementReport) => `(${e.index.join(', ')})`;

/** `1.2e-08 = arithmetic 1.1e-08 + elementary 1.0e-09` (parts that are 0 are left out). */
export function boundDerivation(e: ElementReport): string {
  const parts = Object.entries(e.boundParts).filter(([, v]) => v !== 0).map(([p, v]) => `${p} ${sci(v)}`);
  return `${sci(e.bound)}${parts.length > 0 ? ` = ${parts.join(' + ')}` : ''}`;
}

/**
 * A failing comparison in the words torch.testing.assert_close uses, plus the derivation of the
 * bound where it was exceeded the most.
 */
export function mismatchMessage(r: ComparisonRecord): string {
  const lines = [`${r.case}: ${r.tensor}: ${sideLabel(r.actual)} is not within its derived bound of ${sideLabel(r.expected)}!`, ''];
  lines.push(`Mismatched elements: ${r.mismatched} / ${r.numel} (${percent(r.mismatched / r.numel)})`);
  if (r.nonFinite > 0) lines.push(`Non-finite elements: ${r.nonFinite} (NaN and ±Inf never match)`);
  if (r.greatestAbs) {
    const e = r.greatestAbs;
    lines.push(`Greatest absolute difference: ${sci(e.absDiff)} at index ${at(e)} (up to ${sci(e.bound)} allowed)`);
  }
  if (r.greatestRel) {
    const e = r.greatestRel;
    const allowedRel = e.expected === 0 ? Infinity : e.bound / Math.abs(e.expected);
    lines.push(`Greatest relative difference: ${sci(e.relDiff)} at index ${at(e)} (up to ${sci(allowedRel)} allowed)`);
  }
  if (r.worst) {
    const e = r.worst;
    lines.push(`Closest to failing: index ${at(e)}, actual ${e.actual}, expected ${e.expected}, ${percent(e.share)} of its bound`);
    lines.push(`Bound at ${at(e)}: ${boundDerivation(e)}`);
  }
  return lines.join('\n');
}
