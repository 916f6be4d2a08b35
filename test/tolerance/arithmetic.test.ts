import { describe, expect, it } from 'vitest';
import '../../src/vitest/index.ts';
import { InputError } from '../../src/errors.ts';
import { loadGolden, type GoldenCase } from '../../src/golden/load.ts';
import { runModel } from '../../src/model/sequential.ts';
import { compareWithGolden } from '../../src/parity/yours.ts';
import { compareWithModuleGolden } from '../../src/parity/moduleParity.ts';
import { loadModuleGolden } from '../../src/golden/moduleGolden.ts';
import { EXAMPLE_MODELS } from '../../examples/models/index.ts';
import { mismatchMessage } from '../../src/report/message.ts';
import type { TensorKey } from '../../src/results/keys.ts';
import { arithmeticModel, IEEE, WEBGPU } from '../../src/tolerance/arithmetic.ts';
import { Roundoffs } from '../../src/tolerance/roundoff.ts';

// Note [Arithmetic models]: a correct implementation outside IEEE's assumptions passes under the
// model of the arithmetic it runs on, and a real bug fails under every model.

const nameOf = (key: TensorKey) => (key.startsWith('grad.') ? key.slice(5) : key);

/** Every key of a float32 run, held to torch under `arithmetic`: the keys that fail. */
function failing(golden: GoldenCase, results: ReadonlyMap<TensorKey, { data: Float32Array | Float64Array }>, arithmetic: string): string[] {
  return [...results].filter(([key, t]) => compareWithGolden(golden, nameOf(key), t.data, { arithmetic }).verdict === 'fail').map(([key]) => key);
}

const ulp32 = (v: number) => (v === 0 ? 2 ** -149 : 2 ** (Math.floor(Math.log2(Math.abs(v))) - 23));

/** A run whose exp and log are off by `fraction` of what WGSL allows them (§15.7.4), all in one direction. */
function withWgslFunctions<T>(fraction: number, run: () => T): T {
  const [exp, log] = [Math.exp, Math.log];
  Math.exp = (x: number) => exp(x) + fraction * (3 + 2 * Math.abs(x)) * ulp32(exp(x));
  Math.log = (x: number) => (x >= 0.5 && x <= 2 ? log(x) + fraction * 2 ** -21 : log(x) + fraction * 3 * ulp32(log(x)));
  try {
    return run();
  } finally {
    Math.exp = exp;
    Math.log = log;
  }
}

describe('an implementation that flushes subnormals to zero', () => {
  const golden = loadGolden('goldens/large-logits.json');
  const run = runModel(golden.spec, golden.inputs, 'float32');
  const flushed = new Map([...run.results].map(([key, t]) => [key, { data: Float32Array.from(t.data, (v) => (v !== 0 && Math.abs(v) < 2 ** -126 ? 0 : v)) }] as const));

  it('flushes something on large-logits, fails under ieee there, and passes under webgpu', () => {
    expect([...flushed].some(([key, t]) => t.data.some((v, i) => v !== run.results.get(key)!.data[i]))).toBe(true);
    expect(failing(golden, flushed, 'ieee')).toEqual(['grad.2.weight']);
    expect(failing(golden, flushed, 'webgpu')).toEqual([]);
  });

  it('says which model the verdict used', () => {
    const record = compareWithGolden(golden, '2.weight', flushed.get('grad.2.weight')!.data, { arithmetic: 'ieee' });
    expect(record.actual.arithmetic).toBeUndefined();
    const webgpu = compareWithGolden(golden, '2.weight', flushed.get('grad.2.weight')!.data, { arithmetic: 'webgpu' });
    expect(webgpu.actual.arithmetic).toBe('webgpu');
    expect(mismatchMessage({ ...webgpu, verdict: 'fail' })).toContain('yours:float32(webgpu)');
  });
});

describe('exp and log at WGSL accuracy', () => {
  it.each(['seed-3-4-2', 'sigmoid-tails', 'elu-mlp', 'softmax-exp-range', 'bce-extreme-logits'])('%s: off by 0.99 of what WGSL allows, every key passes under webgpu', (name) => {
    const golden = loadGolden(`goldens/${name}.json`);
    const run = withWgslFunctions(0.99, () => runModel(golden.spec, golden.inputs, 'float32'));
    expect(run.results.size).toBeGreaterThan(3);
    expect(failing(golden, run.results, 'webgpu')).toEqual([]);
  });

  it('the webgpu bound of exp grows with |x| and holds log to 2^-21 on [0.5, 2]', () => {
    const [ieee, webgpu] = [new Roundoffs(['float32', 'exact'], [IEEE, IEEE]), new Roundoffs(['float32', 'exact'], [WEBGPU, IEEE])];
    expect(webgpu.elementary('exp', 10, 1) / ieee.elementary('exp', 10, 1)).toBeCloseTo(23 / 1.5, 10);
    expect(webgpu.elementary('log', 1.5, Math.log(1.5))).toBe(2 ** -21);
    expect(webgpu.underflow(1) / ieee.underflow(1)).toBe(2 ** 23);
  });
});

describe('a real bug', () => {
  it('fails under every model', () => {
    const golden = loadGolden('goldens/seed-3-4-2.json');
    const run = runModel(golden.spec, golden.inputs, 'float32');
    // The largest first-layer weight gradient 1% off.
    const grad = Float32Array.from(run.results.get('grad.0.weight')!.data);
    const magnitudes = Array.from(grad, Math.abs);
    const i = magnitudes.indexOf(Math.max(...magnitudes));
    grad[i] = grad[i]! * 1.01;
    for (const arithmetic of ['ieee', 'webgpu']) expect(compareWithGolden(golden, '0.weight', grad, { arithmetic }).verdict).toBe('fail');
    expect(grad).not.toMatchGolden(golden, '0.weight', { arithmetic: 'webgpu' });
  });
});

describe('a model of your own kind (a captured golden), judged by its graph', () => {
  it('takes the arithmetic too, and a WGSL-accurate exp and log pass under it', () => {
    const golden = loadModuleGolden('examples/models/goldens/causal-self-attention.json');
    const attention = EXAMPLE_MODELS.find((m) => m.name === 'causal-self-attention')!;
    const run = withWgslFunctions(0.99, () => attention.run(golden, 'float32'));
    const records = compareWithModuleGolden(golden, 'float32', run, { arithmetic: 'webgpu' });
    expect(records.map((r) => [r.tensor, r.verdict, r.actual.arithmetic]).filter(([, v]) => v !== 'pass')).toEqual([]);
    expect(records.every((r) => r.actual.arithmetic === 'webgpu')).toBe(true);
    expect(run.output!.data).not.toEqual(attention.run(golden, 'float32').output!.data);
  });
});

describe('models by name, and your own', () => {
  it('refuses an unknown name and a malformed model, naming the field', () => {
    expect(() => arithmeticModel('cuda')).toThrow(InputError);
    expect(() => arithmeticModel('cuda')).toThrow('no arithmetic model named cuda (presets: ieee, webgpu)');
    expect(() => arithmeticModel({ ...WEBGPU, divisionUlps: 0.1 }, 'model.json')).toThrow(/^model\.json: divisionUlps: /);
    expect(() => arithmeticModel({ ...WEBGPU, functions: { ...WEBGPU.functions, exp: { ulps: -1 } } }, 'model.json')).toThrow(/^model\.json: functions\.exp\.ulps: /);
  });

  it('takes one of your own, and names it in the verdict', () => {
    const mine = arithmeticModel({ ...WEBGPU, name: 'my-wasm', description: 'flushes subnormals' });
    const golden = loadGolden('goldens/large-logits.json');
    const run = runModel(golden.spec, golden.inputs, 'float32');
    const flushed = Float32Array.from(run.results.get('grad.2.weight')!.data, (v) => (Math.abs(v) < 2 ** -126 ? 0 : v));
    const record = compareWithGolden(golden, '2.weight', flushed, { arithmetic: mine });
    expect([record.verdict, record.actual.arithmetic]).toEqual(['pass', 'my-wasm']);
  });
});
