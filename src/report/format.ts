/** Number formats shared by every report, so the same value reads the same everywhere. */

/** Three significant digits in exponent form, `1.23e-05`, as torch.testing prints differences. */
export function sci(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  if (v === 0) return '0';
  return v.toExponential(2).replace(/e([+-])(\d)$/, 'e$10$2');
}

/** A share of a bound as a percentage: `3.1%`, `<0.1%`, `1500%`, `inf`. */
export function percent(share: number): string {
  if (Number.isNaN(share)) return 'nan';
  if (!Number.isFinite(share)) return 'inf';
  if (share === 0) return '0%';
  if (share < 0.001) return '<0.1%';
  return `${(share * 100).toPrecision(share < 0.1 ? 2 : 3).replace(/\.?0+$/, '')}%`;
}

/** A plain-text table with left-aligned columns. */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
