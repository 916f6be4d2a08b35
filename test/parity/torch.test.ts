import { describe, expect, it } from 'vitest';
import { loadGolden, type GoldenCase } from '../../src/golden/load.ts';
import { listGoldenFiles } from '../../src/golden/files.ts';
import type { ModelRun } from '../../src/model/sequential.ts';
import { compareWithTorch, referenceRuns } from '../../src/parity/compare.ts';
import { gradKey, outKey } from '../../src/results/keys.ts';
import type { DType } from '../../src/tensor/dtype.ts';
import { sideLabel } from '../../src/tolerance/compare.ts';

const goldens = listGoldenFiles().map(loadGolden);

/** The TS run with one gradient element multiplied by (1 + relError); traces untouched. */
function withPerturbedGradient(run: ModelRun, name: string, index: number, relError: number): ModelRun {
  const original = run.results.get(gradKey(name))!;
  const data = original.data.slice();
  data[index] = data[index]! * (1 + relError);
  return { ...run, results: new Map(run.results).set(gradKey(name), { shape: original.shape, data }) };
}

/**
 * The element of largest magnitude of the first parameter gradient that is not all zeros (an
 * all-zero last layer zeroes every gradient before it), so that the change is not swallowed by 0.
 */
function largestGradElement(golden: GoldenCase): { name: string; index: number } {
  for (const name of Object.keys(golden.inputs.params)) {
    const data = golden.expected.float64.results.get(gradKey(name))!.data;
    let index = 0;
    data.forEach((v, i) => (Math.abs(v) > Math.abs(data[index]!) ? (index = i) : 0));
    if (data[index] !== 0) return { name, index };
  }
  throw new Error(`${golden.name}: every parameter gradient is 0; nothing to perturb`);
}

describe('the bounds are tight enough to catch a real error', () => {
  const cases: [string, DType, number][] = goldens.flatMap((g) => [
    // Worst-case bounds lose the sign cancellations of real gradients, and more so with depth:
    // in float32 the four-hidden-layer case's first-layer bound is ~5e-4 of the largest gradient.
    [g.name, 'float32', 1e-2],
    [g.name, 'float64', 1e-3],
    [g.name, 'float64', 1e-9],
  ]);
  it.each(cases)('%s: one gradient element off by a relative %s error in %s is caught', (name, dtype, relError) => {
    const golden = goldens.find((g) => g.name === name)!;
    const ts = referenceRuns(golden);
    const { name: grad, index } = largestGradElement(golden);
    const records = compareWithTorch(golden, { ...ts, [dtype]: withPerturbedGradient(ts[dtype], grad, index, relError) });
    const failed = records.filter((r) => r.verdict === 'fail').map((r) => `${r.tensor} ${sideLabel(r.actual)}~${sideLabel(r.expected)}`);
    expect(failed).toContain(`grad.${grad} ts:${dtype}~torch:${dtype}`);
    expect(failed.every((f) => f.startsWith(`grad.${grad} ts:${dtype}`))).toBe(true);
  });
});

describe('the ReLU kink case', () => {
  const golden = goldens.find((g) => g.name === 'relu-kink')!;
  it('has ReLU inputs exactly 0 in TS and in torch, and lets no gradient through them', () => {
    const ts = referenceRuns(golden);
    // The two ReLUs (modules 1 and 3) take the outputs of the Linears at 0 and 2.
    const zerosIn = (get: (m: number) => { data: ArrayLike<number> }) => [0, 2].flatMap((m) => Array.from(get(m).data)).filter((v) => v === 0).length;
    for (const dtype of ['float32', 'float64'] as const) {
      const zeros = zerosIn((m) => ts[dtype].fwd.modules[m]!.out);
      const torchZeros = zerosIn((m) => golden.expected[dtype].results.get(outKey(m))!);
      expect([zeros, torchZeros]).toEqual([3, 3]);
      // Unit 1 of layer 0 and unit 0 of layer 1 sit at 0 for sample 0 and below 0 for sample 1,
      // so with relu'(0) = 0 their bias gradients are exactly 0; with relu'(0) = 1 they would not be.
      for (const [name, index] of [['0.bias', 1], ['2.bias', 0]] as const) {
        expect(golden.expected[dtype].results.get(gradKey(name))!.data[index], `torch ${name}[${index}]`).toBe(0);
        expect(ts[dtype].results.get(gradKey(name))!.data[index], `ts ${name}[${index}]`).toBe(0);
      }
    }
  });
});
