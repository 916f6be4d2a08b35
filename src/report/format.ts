/**
 * Number formats shared by every report, so the same value reads the same everywhere. Each one
 * prints a figure that parses back (with `parseFigure`) to the value it stands for, within its
 * printed precision: three significant digits for `sci` and `percent`.
 */

/** Three significant digits in exponent form, `1.23e-05`, as torch.testing prints differences. */
export function sci(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  if (v === 0) return '0';
  return v.toExponential(2).replace(/e([+-])(\d)$/, 'e$10$2');
}

/** Eight significant digits, `-0.045427006`, for values read beside each other (numeric against analytic). */
export function precise(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  return v === 0 ? '0' : v.toPrecision(8);
}

/** Drops trailing zeros after a decimal point, and the point itself if nothing follows it: `1.50` → `1.5`, `150` stays. */
function trimFraction(digits: string): string {
  return digits.includes('.') ? digits.replace(/0+$/, '').replace(/\.$/, '') : digits;
}

/**
 * A share of a bound as a percentage with three significant digits: `3.81%`, `150%`, `0.0123%`.
 * Below 0.01% and from 1e6% on it switches to exponent form, `1.2e-7%` and `5.05e+12%`, so that a
 * tiny or a huge share still reads as the number it is. The exponent is shifted by two instead of
 * multiplying by 100, which would overflow for shares above 1.8e306.
 */
export function percent(share: number): string {
  if (Number.isNaN(share)) return 'nan';
  if (!Number.isFinite(share)) return share > 0 ? 'inf' : '-inf';
  if (share === 0) return '0%';
  const [mantissa = '0', exponent = '0'] = share.toExponential(2).split('e');
  const e = Number(exponent) + 2;
  if (e >= -2 && e < 6) {
    // The mantissa is already rounded to three digits; toFixed only places the decimal point.
    return `${trimFraction(Number(`${mantissa}e${e}`).toFixed(Math.max(0, 2 - e)))}%`;
  }
  return `${trimFraction(mantissa)}e${e < 0 ? '-' : '+'}${Math.abs(e)}%`;
}

/**
 * The value a figure printed by `sci`, `percent` or `precise` stands for (a share, for a percentage):
 * `'150%'` → 1.5, `'1.00e-06'` → 1e-6, `'inf'` → Infinity, `'nan'` → NaN. Undefined for text
 * that is not such a figure.
 */
export function parseFigure(text: string): number | undefined {
  const special: Record<string, number> = { nan: Number.NaN, inf: Infinity, '-inf': -Infinity };
  if (text in special) return special[text];
  const match = /^(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)(%?)$/.exec(text);
  if (match === null) return undefined;
  // Shift a percentage's exponent back by two rather than dividing, as percent shifted it.
  const [digits = '', exponent] = match[1]!.split('e');
  const shift = match[2] === '%' ? 2 : 0;
  const value = exponent === undefined ? Number(digits) / 10 ** shift : Number(`${digits}e${Number(exponent) - shift}`);
  // Three digits can round a value just below the largest double to a figure just above it
  // (1.80e+308): the nearest double to that figure is the largest one, not infinity.
  return Number.isFinite(value) ? value : Math.sign(value) * Number.MAX_VALUE;
}

/** A plain-text table with left-aligned columns. */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
