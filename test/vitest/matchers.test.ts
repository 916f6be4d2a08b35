import { describe, expect, it } from 'vitest';
import '../../src/vitest/matchers.ts';
import { loadGolden } from '../../src/golden/load.ts';
import { lossAndGrads } from '../../src/model/sequential.ts';
import { tensor } from '../../src/tensor/tensor.ts';
import { readReport } from '../../src/vitest/meta.ts';

const golden = loadGolden('goldens/batch7-class-mean.json');

describe('toMatchGolden', () => {
  it.each(['float32', 'float64'] as const)('passes an implementation that matches torch (%s)', (dtype) => {
    const { loss, logits, grads } = lossAndGrads(golden.spec, golden.inputs, dtype);
    // report: false keeps these out of the suite's report, which is the main job's alone.
    expect(grads['0.weight']).toMatchGolden(golden, '0.weight', { report: false });
    expect(grads.x).toMatchGolden(golden, 'x', { report: false });
    expect(logits).toMatchGolden(golden, 'logits', { report: false });
    expect(loss).toMatchGolden(golden, 'loss', { dtype, report: false });
  });

  it('fails one wrong element with assert_close\'s wording: case, tensor, index, allowed bound', () => {
    const { grads } = lossAndGrads(golden.spec, golden.inputs, 'float32');
    const data = grads['2.weight']!.data.slice();
    data[7] = data[7]! * 1.01;
    expect(() => expect({ shape: grads['2.weight']!.shape, data }).toMatchGolden(golden, '2.weight', { report: false })).toThrowError(
      /batch7-class-mean: grad\.2\.weight: yours:float32 is not within its derived bound of torch:float32![\s\S]*Mismatched elements: 1 \/ 80 \(1\.25%\)[\s\S]*Greatest absolute difference: .* at index \(0, 7\) \(up to .* allowed\)/,
    );
  });

  it('attaches what it compared to the running test for the parity reporter, unless negated or told not to', ({ task }) => {
    const { grads } = lossAndGrads(golden.spec, golden.inputs, 'float64');
    expect(grads.x).toMatchGolden(golden, 'x');
    expect(grads['0.bias']).toMatchGolden(golden, '0.bias', { report: false });
    expect(tensor('float64', grads.x!.shape, grads.x!.data.map((v) => v + 1))).not.toMatchGolden(golden, 'x');
    const attached = readReport(task.meta)?.records ?? [];
    // This test checks the matcher, not the model: its record stays out of the suite's report.
    delete task.meta.gradparity;
    expect(attached.map((r) => `${r.tensor} ${r.actual.source}:${r.actual.dtype} ${r.verdict}`)).toEqual(['grad.x yours:float64 pass']);
  });

  it('names the tensors a golden has when asked for one it does not', () => {
    expect(() => expect(tensor('float32', [1], [0])).toMatchGolden(golden, '9.weight')).toThrowError(/has no tensor 9\.weight; use loss, logits, out\.<module>, x or one of 0\.weight/);
  });
});

describe('toBeWithinBound', () => {
  it('holds each element to its own bound', () => {
    expect(tensor('float64', [3], [1, 2, 3.1])).toBeWithinBound([1, 2, 3], [0, 0, 0.1 + 1e-12]);
    expect(() => expect(tensor('float64', [3], [1, 2, 3.2])).toBeWithinBound([1, 2, 3], [0, 0, 0.1])).toThrowError(/Mismatched elements: 1 \/ 3/);
  });

  it('never lets NaN through', () => {
    expect(() => expect(tensor('float64', [1], [Number.NaN])).toBeWithinBound([Number.NaN], 1)).toThrowError(/Non-finite elements: 1/);
  });
});
