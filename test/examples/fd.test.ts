import { describe, expect, it } from 'vitest';
import { EXAMPLE_MODELS } from '../../examples/models/index.ts';
import { finiteDifferenceCheck } from '../../src/fd/engine.ts';
import { moduleProblem } from '../../src/fd/moduleProblem.ts';
import { loadModuleGolden } from '../../src/golden/moduleGolden.ts';
import { tensor, type NamedTensors } from '../../src/tensor/tensor.ts';

// Finite differences of each example's own TS loss function, with ε_f and the gradients' error
// bounds taken from the model's graph (float64 against exact arithmetic): no hand derivation.
describe.each(EXAMPLE_MODELS.map((m) => [m.name, m] as const))('finite differences of %s\'s TS loss', (name, model) => {
  const golden = loadModuleGolden(`examples/models/goldens/${name}.json`);
  const pick = (point: NamedTensors, names: string[]) => Object.fromEntries(names.map((n) => [n, point[n]!]));
  const [inputNames, paramNames] = [Object.keys(golden.inputs), Object.keys(golden.params)];
  const run = (point: NamedTensors) => model.run({ ...golden, inputs: pick(point, inputNames), params: pick(point, paramNames) }, 'float64');
  const loss = (point: NamedTensors) => Number(run(point).loss!.data[0]);
  const mine = run({ ...golden.inputs, ...golden.params });
  const grads = Object.fromEntries([...inputNames, ...paramNames].map((p) => [p, tensor('float64', mine[`grad.${p}`]!.shape, Float64Array.from(mine[`grad.${p}`]!.data))]));

  it('agree with its analytic gradients, element by element, in float64', () => {
    const report = finiteDifferenceCheck(moduleProblem(golden, 'float64', loss, grads), { mode: 'full' });
    expect(report.elements.length).toBeGreaterThan(0);
    expect(report.elements.filter((e) => e.verdict === 'fail').map((e) => `${e.tensor}[${e.index.join(',')}]`)).toEqual([]);
  });

  it('catch one gradient element off by 1e-4', () => {
    const first = paramNames[0] ?? inputNames[0];
    const wrong = Float64Array.from(grads[first!]!.data);
    const i = wrong.reduce((best, v, k) => (Math.abs(v) > Math.abs(wrong[best]!) ? k : best), 0);
    wrong[i] = wrong[i]! * (1 + 1e-4);
    // A sample of each tensor keeps its largest gradient: the planted element is among those checked.
    const report = finiteDifferenceCheck(moduleProblem(golden, 'float64', loss, { ...grads, [first!]: tensor('float64', grads[first!]!.shape, wrong) }), { mode: 'full', maxElementsPerTensor: 4 });
    expect(report.elements.filter((e) => e.verdict === 'fail').map((e) => e.tensor)).toEqual([first]);
  });
});
