import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { EXIT, runCli } from '../../src/cli/program.ts';

const SEED = 'goldens/seed-3-4-2.json';

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

describe('gradparity eval', () => {
  it('prints the seed case\'s TS results as JSON, dL/dx as in the notebook', async () => {
    const { code, out } = await cli('eval', SEED);
    expect(code).toBe(EXIT.ok);
    const json = JSON.parse(out);
    expect(json).toMatchObject({ case: 'seed-3-4-2', dtype: 'float32', logits: { shape: [1, 2] } });
    expect(json.grads.x).toEqual({ shape: [1, 3], data: [-0.04542700573801994, 0.22713501751422882, -0.18170802295207977] });
    expect(Object.keys(json.grads)).toEqual(['x', '0.weight', '0.bias', '2.weight', '2.bias']);
  });

  it('evaluates in float64 on request', async () => {
    const json = JSON.parse((await cli('eval', SEED, '--dtype', 'float64')).out);
    expect(json.dtype).toBe('float64');
    expect(json.grads.x.data[0]).toBeCloseTo(-0.04542700568720689, 16);
  });

  it('exits 2 with a one-line reason for a missing file', async () => {
    const { code, err } = await cli('eval', 'goldens/missing.json');
    expect(code).toBe(EXIT.badInput);
    expect(err).toBe('gradparity: goldens/missing.json: cannot read golden file (ENOENT)\n');
  });

  it('exits 2 for an unknown option or dtype', async () => {
    expect((await cli('eval', SEED, '--dtype', 'float16')).code).toBe(EXIT.badInput);
    expect((await cli('eval', SEED, '--frobnicate')).code).toBe(EXIT.badInput);
  });
});

describe('gradparity check', () => {
  it('prints a table row per case and precision and exits 0 when all pass', async () => {
    const { code, out } = await cli('check', SEED, '--no-reports');
    expect(code).toBe(EXIT.ok);
    expect(out).toMatch(/^seed-3-4-2 +float32 .* pass$/m);
    expect(out).toMatch(/^seed-3-4-2 +float64 .* pass$/m);
  });
});

describe('the installed bin', () => {
  it('runs through node without a build step', () => {
    const run = spawnSync(process.execPath, ['bin/gradparity.js', 'eval', SEED], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout).case).toBe('seed-3-4-2');
  });
});

describe('gradparity gradcheck', () => {
  it('shows the notebook\'s float32 drift on dL/dx[0], explains it, and exits 0', async () => {
    const { code, out } = await cli('gradcheck', SEED, '--dtype', 'float32', '--step', '1e-5', '--explain', 'x[0,0]');
    expect(code).toBe(EXIT.ok);
    expect(out).toMatch(/^x +0,0 +-0\.045427006 +-0\.04464\d+ +7\.84e-04 .* rounding +pass$/m);
    expect(out).toContain('Drift explained: x[0,0]');
    expect(out).toContain('within float32 rounding noise');
    expect(out).toMatch(/--step auto \(h = 3\.91e-03\): off by 2\.22e-06/);
    expect(out).toMatch(/--dtype float64 \(same step\) \(h = 1\.00e-05\): off by 5\.0\de-12/);
    expect(out).toMatch(/verdict: pass \(29 elements/);
  });

  it('in float64 puts every numeric value within 1e-8 × the largest gradient of the analytic one', async () => {
    const { code, out } = await cli('gradcheck', SEED, '--dtype', 'float64', '--json');
    expect(code).toBe(EXIT.ok);
    const report = JSON.parse(out);
    const largest = Math.max(...report.elements.map((e: { analytic: number }) => Math.abs(e.analytic)));
    for (const e of report.elements) expect(Math.abs(e.numeric - e.analytic)).toBeLessThan(1e-8 * largest);
    expect(report.elements[0].bound).toHaveProperty('rounding');
  });

  it('accepts directional mode and Richardson extrapolation', async () => {
    const { code, out } = await cli('gradcheck', SEED, '--mode', 'directional', '--directions', '3', '--richardson');
    expect(code).toBe(EXIT.ok);
    expect(out).toContain('directional mode, Richardson-extrapolated');
  });

  it('prints a step sweep as data', async () => {
    const { code, out } = await cli('gradcheck', SEED, '--sweep', 'x[0,0]', '--json');
    expect(code).toBe(EXIT.ok);
    const sweep = JSON.parse(out);
    expect(sweep.points[0]).toMatchObject({ step: 0.1 });
    expect(sweep.points[0]).toHaveProperty('predicted');
  });

  it('rejects a bad step, a bad element and an out-of-range element with exit 2', async () => {
    expect((await cli('gradcheck', SEED, '--step', '-1')).code).toBe(EXIT.badInput);
    expect((await cli('gradcheck', SEED, '--sweep', 'x(0)')).code).toBe(EXIT.badInput);
    const outOfRange = await cli('gradcheck', SEED, '--sweep', 'x[0,7]');
    expect(outOfRange.code).toBe(EXIT.badInput);
    expect(outOfRange.err).toBe('gradparity: goldens/seed-3-4-2.json: --sweep: x[0,7] is outside its shape [1, 3]\n');
  });
});
