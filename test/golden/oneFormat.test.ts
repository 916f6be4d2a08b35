import { describe, expect, it } from 'vitest';
import { loadGolden } from '../../src/golden/load.ts';
import { isModuleGoldenFile, loadModuleGolden } from '../../src/golden/moduleGolden.ts';
import { runModel } from '../../src/model/sequential.ts';
import { compareWithModuleGolden } from '../../src/parity/moduleParity.ts';
import { DTYPES } from '../../src/tensor/dtype.ts';
import type { Tensor } from '../../src/tensor/tensor.ts';

// The MLP goldens are written by python/capture.py like any model's (scripts/generate_goldens.py
// hands it the Sequential): one format, with the model spec in an `mlp` section. So the generic
// loader reads them, and the graph-derived bounds judge the TS reference MLP through the same path
// as a model of your own.

const CASES = ['seed-3-4-2', 'relu-kink', 'ce-none-f64', 'ce-prob-edge-rows', 'bce-pos-weight', 'mse-none'];

describe.each(CASES)('%s, read as a golden of any model', (name) => {
  const file = `goldens/${name}.json`;
  const mlp = loadGolden(file);
  const generic = loadModuleGolden(file);

  it('holds the same tensors under the same keys as the MLP loader reads', () => {
    for (const dtype of DTYPES) {
      const a = mlp.expected[dtype].results;
      const b = generic.expected[dtype];
      expect([...b.keys()]).toEqual([...a.keys()]);
      for (const [key, t] of a) expect(b.get(key)!.data, `${dtype} ${key}`).toEqual(t.data);
    }
    expect(generic.inputs.x!.data).toEqual(mlp.inputs.x.data);
    for (const [n, t] of Object.entries(mlp.inputs.params)) expect(generic.params[n]!.data).toEqual(t.data);
    // Its graph in the case's precision is the one the MLP's onnxruntime oracle runs.
    expect(generic.graphs[mlp.dtype].path).toBe(mlp.onnx.path);
    // Dispatch still sends it to the MLP loader, which knows the model.
    expect(isModuleGoldenFile(file)).toBe(false);
  });

  it('judges the TS reference within the bounds of its own graph, and catches a planted error', () => {
    for (const dtype of DTYPES) {
      const results = runModel(mlp.spec, mlp.inputs, dtype).results;
      const yours: Record<string, Tensor> = Object.fromEntries(results);
      const records = compareWithModuleGolden(generic, dtype, yours);
      expect(records.length).toBe(results.size);
      expect(records.filter((r) => r.verdict !== 'pass').map((r) => r.tensor)).toEqual([]);
      const grad = { ...yours['grad.0.weight']!, data: yours['grad.0.weight']!.data.slice() };
      const magnitudes = Array.from(grad.data, Math.abs);
      const i = magnitudes.indexOf(Math.max(...magnitudes));
      grad.data[i] = grad.data[i]! * (1 + (dtype === 'float32' ? 1e-2 : 1e-9));
      const planted = compareWithModuleGolden(generic, dtype, { ...yours, 'grad.0.weight': grad }).find((r) => r.tensor === 'grad.0.weight')!;
      if (name === 'relu-kink') {
        // Its pre-activations are exactly 0. The hand-derived MLP bound knows both sides compute
        // them exactly; the graph's bound only knows they are within rounding of 0, so it keeps
        // both of ReLU's branches open and carries a branch part as large as the gradient.
        expect(planted.worst!.boundParts.branch).toBeGreaterThan(0.1);
        continue;
      }
      expect(planted.verdict).toBe('fail');
    }
  });
});
