import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { EXIT, runCli } from '../../src/cli/program.ts';
import { ONNXRUNTIME_INSTALL } from '../../src/onnx/oracle.ts';

const SEED = 'goldens/seed-3-4-2.json';

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

describe('gradparity eval', () => {
  // The exact dL/dx bits below are a regression pin of the output format and the TS model, not
  // evidence of parity with PyTorch (test/parity holds the TS model to torch and onnxruntime).
  it('prints the seed case\'s TS results as JSON (dL/dx: a regression pin of its bits)', async () => {
    const { code, out } = await cli('eval', SEED);
    expect(code).toBe(EXIT.ok);
    const json = JSON.parse(out);
    expect(json).toMatchObject({ case: 'seed-3-4-2', dtype: 'float32', tensors: { logits: { shape: [1, 2] } } });
    expect(json.tensors['grad.x']).toEqual({ shape: [1, 3], data: [-0.04542700573801994, 0.22713501751422882, -0.18170802295207977] });
    expect(Object.keys(json.tensors)).toEqual(['loss', 'logits', 'out.0', 'out.1', 'out.2', 'grad.x', 'grad.0.weight', 'grad.0.bias', 'grad.2.weight', 'grad.2.bias']);
  });

  it('evaluates in float64 on request', async () => {
    const json = JSON.parse((await cli('eval', SEED, '--dtype', 'float64')).out);
    expect(json.dtype).toBe('float64');
    expect(json.tensors['grad.x'].data[0]).toBeCloseTo(-0.04542700568720689, 16);
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
  it('prints the matrix, a row per case and a column per pair, and exits 0 when all pass', async () => {
    const { code, out } = await cli('check', SEED, '--no-reports');
    expect(code).toBe(EXIT.ok);
    expect(out).toMatch(/^case +TS↔torch f32 +TS↔torch f64 +TS f32↔torch f64 +golden f32↔f64 +TS↔onnxruntime +onnxruntime↔torch +FD↔analytic f32 +FD↔analytic f64 +verdict$/m);
    expect(out).toMatch(/^seed-3-4-2 +0% +3\.59% +12% +12% +0% +0% +\S+% +\S+% +pass$/m);
  });

  it('takes a directory, and skips files that are not goldens by their content', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gradparity-check-'));
    try {
      for (const f of ['seed-3-4-2.json', 'schema.json']) cpSync(`goldens/${f}`, join(dir, f));
      mkdirSync(join(dir, 'onnx'));
      for (const d of ['float32', 'float64']) cpSync(`goldens/onnx/seed-3-4-2.${d}.onnx`, join(dir, 'onnx', `seed-3-4-2.${d}.onnx`));
      writeFileSync(join(dir, 'notes.json'), '{"description": "a JSON file that is not a golden"}');
      const directory = await cli('check', dir, '--no-reports');
      expect([directory.code, directory.err]).toEqual([EXIT.ok, '']);
      expect(directory.out).toMatch(/^all 1 cases within their derived bounds$/m);
      // Files named one by one (as a shell expands *.json) are skipped with a word each.
      const files = await cli('check', join(dir, 'schema.json'), join(dir, 'seed-3-4-2.json'), join(dir, 'notes.json'), '--no-reports');
      expect(files.code, files.err).toBe(EXIT.ok);
      expect(files.out).toMatch(/^all 1 cases within their derived bounds$/m);
      expect(files.err).toBe(`gradparity: skipping ${join(dir, 'schema.json')}: not a golden (it has none of a golden's fields)\ngradparity: skipping ${join(dir, 'notes.json')}: not a golden (it has none of a golden's fields)\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to pass when there is nothing to check', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'gradparity-empty-'));
    try {
      const none = await cli('check', empty, '--no-reports');
      expect([none.code, none.err]).toEqual([EXIT.badInput, `gradparity: ${empty}: holds no golden files: nothing to check\n`]);
      expect(none.out).toBe('');
      const onlySchema = await cli('check', 'goldens/schema.json', '--no-reports');
      expect(onlySchema.code).toBe(EXIT.badInput);
      // In a folder without goldens/, the bare command says so instead of checking nothing.
      const run = spawnSync(process.execPath, [resolve('bin/gradparity.js'), 'check'], { cwd: empty, encoding: 'utf8' });
      expect(run.status).toBe(EXIT.badInput);
      expect(run.stderr).toBe('gradparity: goldens: no such directory here: nothing to check; name golden files or a directory, e.g. gradparity check path/to/goldens\n');
      expect(readdirSync(empty)).toEqual([]); // no reports/ written
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('gradparity check in GitHub Actions', () => {
  it('prints an annotation on the golden for each failing comparison', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gradparity-annotate-'));
    try {
      // A golden whose float64 gradient was edited and its digest forged: torch's side is wrong.
      const golden = JSON.parse(readFileSync(SEED, 'utf8'));
      const grad = golden.expected.float64.tensors['grad.0.bias'];
      grad.data[1] = grad.data[1] * (1 + 1e-6);
      grad.sha256 = createHash('sha256').update(new Uint8Array(new Float64Array(grad.data).buffer)).digest('hex');
      mkdirSync(join(dir, 'onnx'));
      writeFileSync(join(dir, 'seed-3-4-2.json'), JSON.stringify(golden));
      for (const d of ['float32', 'float64']) cpSync(`goldens/onnx/seed-3-4-2.${d}.onnx`, join(dir, 'onnx', `seed-3-4-2.${d}.onnx`));
      vi.stubEnv('GITHUB_ACTIONS', 'true');
      const { code, out } = await cli('check', dir, '--no-reports');
      expect(code).toBe(EXIT.parityFailure);
      const annotations = out.split('\n').filter((l) => l.startsWith('::error '));
      expect(annotations.length).toBeGreaterThan(0);
      expect(annotations[0]).toMatch(new RegExp(`^::error file=${join(dir, 'seed-3-4-2.json').replace(/[.]/g, '\\.')},line=1,title=gradparity%3A seed-3-4-2 grad\\.0\\.bias%3A .* out of bounds::seed-3-4-2: grad\\.0\\.bias: `));
    } finally {
      vi.unstubAllEnvs();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the command line itself', () => {
  it('refuses an unknown command, listing the commands, instead of taking it for a file', async () => {
    const { code, out, err } = await cli('frobnicate', SEED);
    expect([code, out]).toEqual([EXIT.badInput, '']);
    expect(err).toBe('gradparity: unknown command "frobnicate"; the commands are eval, check, gradcheck, capture, help (see gradparity --help)\n');
  });

  it('prints help and exits 2 when given nothing to do', async () => {
    const { code, out } = await cli();
    expect(code).toBe(EXIT.badInput);
    expect(out).toMatch(/^Usage: gradparity \[options\] \[command\]/);
    for (const command of ['eval', 'check', 'gradcheck']) expect(out).toContain(`  ${command} `);
  });

  it('prints its version', async () => {
    const { code, out } = await cli('--version');
    expect([code, out]).toEqual([EXIT.ok, `${JSON.parse(readFileSync('package.json', 'utf8')).version}\n`]);
  });
});

describe('without onnxruntime-node (an optional peer dependency)', () => {
  const withoutOrt = (...args: string[]) => spawnSync(process.execPath, ['--import', './test/fixtures/without-onnxruntime.mjs', 'bin/gradparity.js', ...args], { encoding: 'utf8' });

  it('check runs every other oracle and says, with the install command, that onnxruntime did not run', () => {
    const run = withoutOrt('check', SEED, '--no-reports');
    expect(run.status, run.stderr).toBe(EXIT.ok);
    expect(run.stderr).toBe(`gradparity: note: onnxruntime: not run: the ONNX oracle needs onnxruntime-node, which is not installed; install it with: ${ONNXRUNTIME_INSTALL}\n`);
    expect(run.stdout).toMatch(/^case +TS↔torch f32 +TS↔torch f64 +TS f32↔torch f64 +golden f32↔f64 +FD↔analytic f32 +FD↔analytic f64 +verdict$/m);
    expect(run.stdout).toMatch(/^seed-3-4-2 +.* pass$/m);
  });

  it('eval --oracle onnx is refused in one line naming the install command', () => {
    const run = withoutOrt('eval', SEED, '--oracle', 'onnx');
    expect([run.status, run.stdout]).toEqual([EXIT.badInput, '']);
    expect(run.stderr).toBe(`gradparity: the ONNX oracle needs onnxruntime-node, which is not installed; install it with: ${ONNXRUNTIME_INSTALL}\n`);
  });
});

describe('the installed bin', () => {
  it('runs the compiled JavaScript', () => {
    const run = spawnSync(process.execPath, ['bin/gradparity.js', 'eval', SEED], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
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

  it('runs in float64 unless told otherwise, and there puts every numeric value within 1e-8 × the largest gradient of the analytic one', async () => {
    const { code, out } = await cli('gradcheck', SEED, '--json');
    expect(code).toBe(EXIT.ok);
    const report = JSON.parse(out);
    expect([report.dtype, report.verdict]).toEqual(['float64', 'pass']);
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

describe('gradparity capture', () => {
  it('names a missing cases file and exits 2, leaving nothing behind', async () => {
    const { code, err } = await cli('capture', 'no-such-cases.py', '--out', 'no-such-goldens');
    expect(code).toBe(EXIT.badInput);
    expect(err).toBe('gradparity: no-such-cases.py: no such cases file\n');
    expect(existsSync('no-such-goldens')).toBe(false);
  });

  it('refuses an unknown option with exit 2', async () => {
    expect((await cli('capture', 'examples/models/cases.py', '--outdir', 'x')).code).toBe(EXIT.badInput);
  });
});

describe('gradparity check on goldens of your own models', () => {
  it('holds torch and onnxruntime to each model\'s graph bound, in the same matrix and reports', async () => {
    const { code, out } = await cli('check', 'examples/models/goldens', '--no-reports');
    expect(code).toBe(EXIT.ok);
    for (const name of ['residual-layernorm-gelu', 'embedding-bag-mean', 'tanh-rnn-unrolled', 'causal-self-attention', 'small-cnn', 'function-tanh-bilinear', 'maxpool-cnn']) expect(out).toMatch(new RegExp(`^${name} .* pass$`, 'm'));
    expect(out).toContain('all 8 cases within their derived bounds');
  });
});

