import { describe, expect, it } from 'vitest';
import { crossEntropyForward, type CrossEntropyTrace } from '../../src/ops/crossEntropy.ts';
import { backward, forward, lossAndGrads, ShapeError } from '../../src/model/sequential.ts';
import { describeModel, gradientNames, parameterShapes, type ModelSpec } from '../../src/model/spec.ts';
import { reluBackward, reluForward } from '../../src/ops/relu.ts';
import { tensor } from '../../src/tensor/tensor.ts';
import { notebookInputs, notebookSpec } from '../helpers.ts';

describe('the notebook network', () => {
  // A regression pin: it holds the TS model's float32 bits on the seed to what they were, so that
  // any change to them is noticed. It is not evidence of parity with PyTorch (the golden
  // comparisons, onnxruntime, finite differences and the float32-semantics check are), and no
  // catalogued mutant counts as caught because of it.
  it('regression pin (not parity evidence): the seed\'s float32 gradients keep their bits, and the notebook\'s printout', () => {
    const { loss, grads } = lossAndGrads(notebookSpec, notebookInputs(), 'float32');
    // The notebook's numpy printout (float32, 8 significant digits).
    expect(loss.data[0]).toBeCloseTo(0.29085004, 7);
    expect(Array.from(grads.x!.data)).toEqual([-0.04542700573801994, 0.22713501751422882, -0.18170802295207977]);
    expect(Array.from(grads['2.bias']!.data).map((v) => v.toPrecision(8))).toEqual(['0.25237226', '-0.25237221']);
    expect(Array.from(grads['2.weight']!.data.slice(0, 4)).map((v) => v.toPrecision(8))).toEqual(['0.0000000', '0.38865328', '0.0000000', '0.0000000']);
  });

  it('names tensors as the equivalent torch.nn.Sequential\'s state_dict', () => {
    expect(gradientNames(notebookSpec)).toEqual(['x', '0.weight', '0.bias', '2.weight', '2.bias']);
    expect(describeModel(notebookSpec)).toBe('Linear(3, 4) → ReLU → Linear(4, 2) → cross_entropy(probabilities, reduction=sum)');
  });

  it('keeps float32 and float64 apart', () => {
    const f32 = forward(notebookSpec, notebookInputs(), 'float32');
    const f64 = forward(notebookSpec, notebookInputs(), 'float64');
    expect((f32.lossSaved as CrossEntropyTrace).softmax.data).toBeInstanceOf(Float32Array);
    expect((f64.lossSaved as CrossEntropyTrace).softmax.data).toBeInstanceOf(Float64Array);
    expect(f32.objective).not.toBe(f64.objective);
    expect(Math.abs(f32.objective - f64.objective)).toBeLessThan(1e-6);
  });

  it('rounds every input of a float32 run to float32, probability targets included', () => {
    const inputs = notebookInputs();
    const probs = tensor('float64', [1, 2], [0.1, 0.9]); // neither is a float32 value
    const fwd = forward(notebookSpec, { ...inputs, target: { kind: 'probabilities', probs } }, 'float32');
    expect(fwd.inputs.target.kind === 'probabilities' && Array.from(fwd.inputs.target.probs.data)).toEqual([Math.fround(0.1), Math.fround(0.9)]);
  });
});

describe('ReLU', () => {
  it('has derivative 0 at exactly 0, as PyTorch', () => {
    const z = tensor('float64', [1, 3], [-1, 0, 2]);
    const dh = tensor('float64', [1, 3], [5, 5, 5]);
    expect(Array.from(reluBackward(dh, z).data)).toEqual([0, 0, 5]);
  });

  it('propagates NaN forward and backward, float64', () => {
    const z = tensor('float64', [2], [Number.NaN, -1]);
    expect(Number.isNaN(reluForward(z).data[0]!)).toBe(true);
    expect(Number.isNaN(reluBackward(tensor('float64', [2], [Number.NaN, 1]), z).data[0]!)).toBe(true);
  });
});

describe('cross-entropy', () => {
  const spec = (target: 'class_indices' | 'probabilities', reduction: 'mean' | 'sum'): ModelSpec => ({
    inputSize: 2,
    modules: [{ op: 'linear', out: 3, bias: false }],
    loss: { op: 'cross_entropy', target, reduction },
  });
  const params = { '0.weight': tensor('float64', [3, 2], [1, 0, 0, 1, 1, 1]) };
  const x = tensor('float64', [2, 2], [0.5, -0.25, 2, 1]);

  it('mean divides the sum by the batch size, for index and probability targets alike', () => {
    for (const target of ['class_indices', 'probabilities'] as const) {
      const t = target === 'class_indices'
        ? { kind: target, indices: Int32Array.from([2, 0]) }
        : { kind: target, probs: tensor('float64', [2, 3], [0, 0, 1, 1, 0, 0]) };
      const sum = lossAndGrads(spec(target, 'sum'), { x, target: t, params }, 'float64');
      const mean = lossAndGrads(spec(target, 'mean'), { x, target: t, params }, 'float64');
      expect(mean.loss.data[0]).toBeCloseTo(sum.loss.data[0]! / 2, 15);
      expect(mean.grads.x!.data[0]).toBeCloseTo(sum.grads.x!.data[0]! / 2, 15);
    }
  });

  it('a one-hot probability target gives the same loss as its class index', () => {
    const byIndex = lossAndGrads(spec('class_indices', 'sum'), { x, target: { kind: 'class_indices', indices: Int32Array.from([2, 0]) }, params }, 'float64');
    const byProbs = lossAndGrads(spec('probabilities', 'sum'), { x, target: { kind: 'probabilities', probs: tensor('float64', [2, 3], [0, 0, 1, 1, 0, 0]) }, params }, 'float64');
    expect(byProbs.loss.data[0]).toBeCloseTo(byIndex.loss.data[0]!, 14);
    expect(Array.from(byProbs.grads['0.weight']!.data)).toEqual(Array.from(byIndex.grads['0.weight']!.data));
  });

  it('stays finite for logits of ±1000, float32', () => {
    const logits = tensor('float32', [1, 3], [1000, -1000, 0]);
    const trace = crossEntropyForward(logits, { kind: 'class_indices', indices: Int32Array.from([1]) }, { op: 'cross_entropy', target: 'class_indices', reduction: 'sum' }, 'float32');
    expect(trace.loss.data[0]).toBe(2000);
    expect(Array.from(trace.softmax.data)).toEqual([1, 0, 0]);
  });

  it('keeps Σp for soft targets that do not sum to 1, as PyTorch', () => {
    const target = { kind: 'probabilities' as const, probs: tensor('float64', [2, 3], [0.5, 0.5, 0.5, 0, 0, 0]) };
    const fwd = forward(spec('probabilities', 'sum'), { x, target, params }, 'float64');
    const dLogits = backward(fwd).dLogits;
    // Row 1 has Σp = 0, so its gradient is exactly 0: −p + softmax·Σp.
    expect(Array.from(dLogits.data.slice(3))).toEqual([0, 0, 0]);
    const s = (fwd.lossSaved as CrossEntropyTrace).softmax.data;
    expect(dLogits.data[0]).toBeCloseTo(1.5 * s[0]! - 0.5, 15);
  });
});

describe('bad input', () => {
  const classSpec: ModelSpec = { ...notebookSpec, loss: { op: 'cross_entropy', target: 'class_indices', reduction: 'sum' } };

  it('names a missing parameter and the shape it needs, as a ShapeError', () => {
    const inputs = notebookInputs();
    const { '2.bias': _, ...params } = inputs.params;
    const err = (() => { try { forward(notebookSpec, { ...inputs, params }, 'float32'); } catch (e) { return e as Error; } })();
    expect(err?.name).toBe('ShapeError');
    expect(err?.message).toBe('parameter 2.bias is missing (expected shape [2])');
    const { '2.weight': __, ...noWeight } = inputs.params;
    expect(() => forward(notebookSpec, { ...inputs, params: noWeight }, 'float32')).toThrow('parameter 2.weight is missing (expected shape [2, 4])');
  });

  it('names x when its width is wrong', () => {
    expect(() => forward(notebookSpec, { ...notebookInputs(), x: tensor('float32', [1, 4]) }, 'float32')).toThrow('x has shape [1, 4], expected [1, 3]');
  });

  it('rejects a target of the other kind, a target of the wrong shape, and a wrong number of indices', () => {
    const inputs = notebookInputs();
    expect(() => forward(classSpec, inputs, 'float32')).toThrow('target holds probabilities, the loss expects class_indices');
    expect(() => forward(notebookSpec, { ...inputs, target: { kind: 'probabilities', probs: tensor('float32', [1, 3]) } }, 'float32')).toThrow('target has shape [1, 3], expected [1, 2]');
    expect(() => forward(classSpec, { ...inputs, target: { kind: 'class_indices', indices: Int32Array.from([0, 1]) } }, 'float32')).toThrow('target has 2 class indices for a batch of 1');
    expect(() => forward(classSpec, { ...inputs, target: { kind: 'class_indices', indices: Int32Array.from([-1]) } }, 'float32')).toThrow('target[0] = -1 is not a class index in [0, 2)');
  });

  it('names the tensor whose shape is wrong', () => {
    const inputs = notebookInputs();
    const bad = { ...inputs, params: { ...inputs.params, '2.weight': tensor('float32', [4, 2]) } };
    expect(() => forward(notebookSpec, bad, 'float32')).toThrow(new ShapeError('parameter 2.weight has shape [4, 2], expected [2, 4]'));
  });

  it('rejects parameters the model does not have', () => {
    const inputs = notebookInputs();
    const bad = { ...inputs, params: { ...inputs.params, '4.weight': tensor('float32', [1, 1]) } };
    expect(() => forward(notebookSpec, bad, 'float32')).toThrow('parameter 4.weight is not part of this model (it has 0.weight, 0.bias, 2.weight, 2.bias)');
  });

  it('rejects class indices outside [0, C)', () => {
    const inputs = { ...notebookInputs(), target: { kind: 'class_indices' as const, indices: Int32Array.from([2]) } };
    expect(() => forward(classSpec, inputs, 'float32')).toThrow(/target\[0\] = 2 is not a class index in \[0, 2\)/);
  });
});

describe('names', () => {
  it('are the Sequential\'s: module i of the list owns <i>.weight and <i>.bias', () => {
    const spec: ModelSpec = {
      inputSize: 2,
      modules: [{ op: 'linear', out: 2, bias: true }, { op: 'linear', out: 2, bias: false }, { op: 'relu' }, { op: 'linear', out: 3, bias: true }],
      loss: notebookSpec.loss,
    };
    expect(describeModel(spec)).toBe('Linear(2, 2) → Linear(2, 2, bias=False) → ReLU → Linear(2, 3) → cross_entropy(probabilities, reduction=sum)');
    expect([...parameterShapes(spec)]).toEqual([['0.weight', [2, 2]], ['0.bias', [2]], ['1.weight', [2, 2]], ['3.weight', [3, 2]], ['3.bias', [3]]]);
  });
});
