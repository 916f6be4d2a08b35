import { describe, expect, it } from 'vitest';
import { moduleGraphBounds } from '../../src/graph/moduleGraph.ts';
import { totals } from '../../src/tolerance/errorBound.ts';
import '../../src/vitest/matchers.ts';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { EXAMPLE_MODELS } from '../../examples/models/index.ts';
import { loadModuleGolden } from '../../src/golden/moduleGolden.ts';
import { checkModuleGolden, compareWithModuleGolden } from '../../src/parity/moduleParity.ts';
import { sideLabel, worstShare } from '../../src/tolerance/compare.ts';

// gradparity's own example models (examples/models/cases.py, captured with `npm run capture`),
// each with a hand-written TypeScript implementation, judged by the bounds of its own graph.
describe.each(EXAMPLE_MODELS.map((m) => [m.name, m] as const))('example model %s', (name, model) => {
  const golden = loadModuleGolden(`examples/models/goldens/${name}.json`);

  it('is consistent: torch float32 against float64 and onnxruntime against torch, within the graph bound', async () => {
    const records = await checkModuleGolden(golden);
    expect(records.length).toBeGreaterThan(0);
    expect(records.filter((r) => r.verdict === 'fail').map((r) => `${r.tensor} ${sideLabel(r.actual)}~${sideLabel(r.expected)} ${worstShare(r)}`)).toEqual([]);
  });

  it('its graph, evaluated by the bound engine, computes what torch computed (every rule indexes its inputs right)', () => {
    const graph = moduleGraphBounds(golden, ['float64', 'exact']);
    let compared = 0;
    for (const [key, torch] of golden.expected.float64) {
      const mine = graph.get(key)!;
      const bound = totals(mine.bound);
      // torch's float64 result and the engine's evaluation are both within the float64 bound of the exact value.
      const off = [...torch.data].findIndex((v, i) => !(Math.abs(v - mine.data[i]!) <= 2 * bound[i]! + 1e-300));
      expect(off, `${key}[${off}]: torch ${torch.data[off]}, the graph ${mine.data[off]}, bound ${bound[off]}`).toBe(-1);
      compared += torch.data.length;
    }
    expect(compared).toBeGreaterThan(0);
  });

  it.each(['float32', 'float64'] as const)('its TS implementation matches torch in %s, key by key', (dtype) => {
    const records = compareWithModuleGolden(golden, dtype, model.run(golden, dtype));
    expect(records.map((r) => r.tensor)).toEqual([...golden.expected[dtype].keys()]);
    expect(records.filter((r) => r.verdict === 'fail').map((r) => `${r.tensor}: ${worstShare(r)}`)).toEqual([]);
  });

  it.each([['float32', 1e-2], ['float64', 1e-9]] as const)('catches a %s gradient element off by %s', (dtype, rel) => {
    const mine = model.run(golden, dtype);
    const key = Object.keys(mine).find((k) => k.startsWith('grad.') && k !== 'grad.x')!;
    const data = Float64Array.from(mine[key]!.data);
    const i = data.reduce((best, v, k) => (Math.abs(v) > Math.abs(data[best]!) ? k : best), 0);
    data[i] = data[i]! * (1 + rel);
    const records = compareWithModuleGolden(golden, dtype, { ...mine, [key]: { shape: mine[key]!.shape, data } });
    expect(records.filter((r) => r.verdict === 'fail').map((r) => r.tensor)).toEqual([key]);
  });
});

describe('judging your tensors against a module golden', () => {
  const golden = loadModuleGolden('examples/models/goldens/residual-layernorm-gelu.json');
  const mine = EXAMPLE_MODELS[0]!.run(golden, 'float32');

  it('names a missing key, a key the golden does not have, and a wrong shape', () => {
    const { loss: _, ...withoutLoss } = mine;
    expect(() => compareWithModuleGolden(golden, 'float32', withoutLoss)).toThrow('your results have no loss');
    expect(() => compareWithModuleGolden(golden, 'float32', { ...mine, 'grad.typo': mine.loss! })).toThrow('no key grad.typo in the golden');
    expect(() => compareWithModuleGolden(golden, 'float32', { ...mine, output: { shape: [8, 4], data: mine.output!.data } })).toThrow('your output has shape [8, 4], the golden\'s is [4, 8]');
  });
});

describe('toMatchGolden on a module golden', () => {
  const golden = loadModuleGolden('examples/models/goldens/tanh-rnn-unrolled.json');
  const mine = EXAMPLE_MODELS.find((m) => m.name === 'tanh-rnn-unrolled')!.run(golden, 'float32');

  it('passes your float32 tensors key by key, against the graph bound', () => {
    for (const [key, t] of Object.entries(mine)) expect(Float32Array.from(t.data), key).toMatchGolden(golden, key, { report: false });
  });

  it('fails a gradient element off by 1e-2, and names the key', () => {
    const data = Float32Array.from(mine['grad.cell.weight_hh']!.data);
    data[0] = data[0]! * 1.01;
    expect(() => expect(data).toMatchGolden(golden, 'grad.cell.weight_hh', { report: false })).toThrow(/grad\.cell\.weight_hh/);
  });

  it('refuses a key the golden does not have, even negated', () => {
    expect(() => expect(new Float32Array(1)).not.toMatchGolden(golden, 'grad.typo', { report: false })).toThrow('no key grad.typo in the golden');
  });
});

describe('the example goldens are fresh', () => {
  it.each(EXAMPLE_MODELS.map((m) => [m.name] as const))('%s was captured by the current python/capture.py and python/export_graph.py', (name) => {
    const golden = loadModuleGolden(`examples/models/goldens/${name}.json`);
    const sources = createHash('sha256').update(Buffer.concat(['python/capture.py', 'python/export_graph.py', 'python/golden_json.py'].map((f) => readFileSync(f)))).digest('hex');
    expect(golden.provenance.captureSha256, 'stale: run npm run capture -- examples/models/cases.py').toBe(sources);
  });
});
