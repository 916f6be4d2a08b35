import { describe, expect, it } from 'vitest';
import { finiteDifferenceCheck } from '../../src/fd/engine.ts';
import { modelProblem } from '../../src/fd/modelProblem.ts';
import { gaussian, seededRandom } from '../../src/fd/random.ts';
import { loadGolden } from '../../src/golden/load.ts';
import { modelBounds } from '../../src/model/bounds.ts';
import { branchFingerprint, forward, lossAndGrads, resultKeys, runModel, type ModelInputs } from '../../src/model/sequential.ts';
import type { ModelSpec } from '../../src/model/spec.ts';
import { CrossEntropySpec } from '../../src/ops/crossEntropy.ts';
import type { Target } from '../../src/ops/types.ts';
import { tensor, type Tensor } from '../../src/tensor/tensor.ts';
import { compareTensors } from '../../src/tolerance/compare.ts';

// The losses against hand-computed float64 values, their corners (ignored rows, ties, extreme
// logits), bad input, and the soundness of their bounds on random problems.

const params = { '0.weight': tensor('float64', [3, 2], [1, -0.5, 0.25, 1, -1, 0.75]), '0.bias': tensor('float64', [3], [0.1, -0.2, 0.3]) };
const x = tensor('float64', [4, 2], [0.5, -0.25, 2, 1, -1.5, 0.75, 0.3, -0.8]);
const linearModel = (loss: ModelSpec['loss'], extra: ModelSpec['modules'] = []): ModelSpec => ({ inputSize: 2, modules: [{ op: 'linear', out: 3, bias: true }, ...extra], loss });
const logitsOf = (inputs: ModelInputs) => lossAndGrads(linearModel({ op: 'mse_loss', reduction: 'sum' }), { ...inputs, target: { kind: 'values', values: tensor('float64', [4, 3]) } }, 'float64').logits;
const indices = (...v: number[]): Target => ({ kind: 'class_indices', indices: Int32Array.from(v) });

function logSoftmaxRow(z: number[]): number[] {
  const m = Math.max(...z);
  const lse = Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0));
  return z.map((v) => v - m - lse);
}
const row = (t: Tensor, b: number) => Array.from(t.data.slice(b * 3, b * 3 + 3));

describe('cross_entropy with weight, ignore_index and label_smoothing', () => {
  const target = indices(2, -100, 0, 1);
  const logits = logitsOf({ x, target, params });
  const w = [0.5, 2, 1.5];
  const eps = 0.1;
  const ls = [0, 1, 2, 3].map((b) => logSoftmaxRow(row(logits, b)));
  const kept = [0, 2, 3];
  const y = [2, -100, 0, 1];

  it('mean divides by the kept rows’ total weight, not by B', () => {
    const spec = linearModel({ op: 'cross_entropy', target: 'class_indices', reduction: 'mean', weight: w, ignoreIndex: -100 });
    const { loss } = lossAndGrads(spec, { x, target, params }, 'float64');
    const expected = kept.reduce((s, b) => s - w[y[b]!]! * ls[b]![y[b]!]!, 0) / kept.reduce((s, b) => s + w[y[b]!]!, 0);
    expect(loss.data[0]).toBeCloseTo(expected, 14);
  });

  it('label smoothing mixes in ε/C of every class, and ignored rows add nothing, forward or back', () => {
    const spec = linearModel({ op: 'cross_entropy', target: 'class_indices', reduction: 'none', weight: w, ignoreIndex: -100, labelSmoothing: eps });
    const lossGrad = tensor('float64', [4], [1, 1, -2, 0.5]);
    const fwd = forward(spec, { x, target, params, lossGrad }, 'float64');
    for (const b of kept) {
      const nll = -w[y[b]!]! * ls[b]![y[b]!]!;
      const smooth = -ls[b]!.reduce((s, v, c) => s + w[c]! * v, 0);
      expect(fwd.loss.data[b]).toBeCloseTo((1 - eps) * nll + (eps / 3) * smooth, 14);
    }
    expect(fwd.loss.data[1]).toBe(0);
    const grads = lossAndGrads(spec, { x, target, params, lossGrad }, 'float64').grads;
    // Row 1 is ignored: its input gets no gradient at all.
    expect(Array.from(grads.x!.data.slice(2, 4))).toEqual([0, 0]);
  });

  it('rejects ignoreIndex with probability targets and a weight of the wrong length, naming the field', () => {
    const parsed = CrossEntropySpec.safeParse({ op: 'cross_entropy', target: 'probabilities', reduction: 'sum', ignoreIndex: -100 });
    expect(parsed.error?.issues[0]?.path).toEqual(['ignoreIndex']);
    const spec = linearModel({ op: 'cross_entropy', target: 'class_indices', reduction: 'sum', weight: [1, 2] });
    expect(() => forward(spec, { x, target: indices(0, 1, 2, 0), params }, 'float64')).toThrow('loss weight has 2 entries, the model has 3 classes');
  });
});

describe('nll_loss after a LogSoftmax module', () => {
  it('is cross_entropy: the same loss and gradients', () => {
    const target = indices(2, 1, 0, 1);
    const options = { reduction: 'mean' as const, weight: [0.5, 2, 1.5], ignoreIndex: 1 };
    const ce = lossAndGrads(linearModel({ op: 'cross_entropy', target: 'class_indices', ...options }), { x, target, params }, 'float64');
    const nll = lossAndGrads(linearModel({ op: 'nll_loss', ...options }, [{ op: 'log_softmax' }]), { x, target, params }, 'float64');
    expect(nll.loss.data[0]).toBeCloseTo(ce.loss.data[0]!, 14);
    for (const name of ['x', '0.weight', '0.bias']) {
      Array.from(nll.grads[name]!.data).forEach((v, i) => expect(v).toBeCloseTo(ce.grads[name]!.data[i]!, 14));
    }
  });
});

describe('the elementwise losses', () => {
  const values = tensor('float64', [4, 3], [0.5, -1, 2, 0, 0.3, -0.7, 1.1, 0.2, -0.4, 0.9, -2, 0.6]);
  const target: Target = { kind: 'values', values };
  const logits = logitsOf({ x, target, params });
  const d = Array.from(logits.data, (v, i) => v - values.data[i]!);

  it('MSELoss mean divides by B·C, and its gradient is 2(x − y)/N', () => {
    const spec = linearModel({ op: 'mse_loss', reduction: 'mean' });
    const fwd = forward(spec, { x, target, params }, 'float64');
    expect(fwd.loss.data[0]).toBeCloseTo(d.reduce((s, v) => s + v * v, 0) / 12, 14);
    const run = runModel(spec, { x, target, params }, 'float64');
    run.bwd.dLogits.data.forEach((g, i) => expect(g).toBeCloseTo((2 * d[i]!) / 12, 15));
  });

  it('L1Loss: sgn(x − y)/N, exactly 0 where a logit equals its target, and a kink finite differences can see', () => {
    const tied = tensor('float64', [4, 3], values.data.map((v, i) => (i === 4 ? logits.data[4]! : v)));
    const spec = linearModel({ op: 'l1_loss', reduction: 'mean' });
    const run = runModel(spec, { x, target: { kind: 'values', values: tied }, params }, 'float64');
    expect(run.bwd.dLogits.data[4]).toBe(0);
    expect(run.bwd.dLogits.data[0]).toBe(Math.sign(d[0]!) / 12);
    const nudged = tensor('float64', [4, 3], tied.data.map((v, i) => (i === 4 ? v - 1e-9 : v)));
    const a = branchFingerprint(forward(spec, { x, target: { kind: 'values', values: tied }, params }, 'float64'));
    const b = branchFingerprint(forward(spec, { x, target: { kind: 'values', values: nudged }, params }, 'float64'));
    expect(a).not.toBe(b);
  });

  it('BCEWithLogitsLoss is finite for logits of ±100 in float32, with the gradient σ(x) − t', () => {
    const spec: ModelSpec = { inputSize: 2, modules: [{ op: 'linear', out: 2, bias: false }], loss: { op: 'bce_with_logits', reduction: 'sum' } };
    const p = { '0.weight': tensor('float32', [2, 2], [100, 0, 0, -100]) };
    const probs = tensor('float32', [1, 2], [0.25, 0.75]);
    const run = runModel(spec, { x: tensor('float32', [1, 2], [1, 1]), target: { kind: 'probabilities', probs }, params: p }, 'float32');
    // ℓ = (1 − t)·x + log(1 + exp(−x)): 0.75·100 + 0 for x = 100, 0.25·(−100) + 100 for x = −100,
    // where exp(100) would overflow float32 without the max(−x, 0) shift.
    expect(run.fwd.loss.data[0]).toBe(150);
    expect(Array.from(run.bwd.dLogits.data)).toEqual([1 - 0.25, 0 - 0.75]);
  });

  it('pos_weight scales the positive term: ((p − 1)·t + 1)·log(1 + exp(−x)) + (1 − t)·x', () => {
    const probs = tensor('float64', [4, 3], Array.from({ length: 12 }, (_, i) => (i % 5) / 5));
    const posWeight = [2, 0.5, 3];
    const spec = linearModel({ op: 'bce_with_logits', reduction: 'sum', posWeight });
    const fwd = forward(spec, { x, target: { kind: 'probabilities', probs }, params }, 'float64');
    const expected = Array.from(logits.data).reduce((s, z, i) => {
      const t = probs.data[i]!;
      return s + (1 - t) * z + ((posWeight[i % 3]! - 1) * t + 1) * Math.log1p(Math.exp(-z));
    }, 0);
    expect(fwd.loss.data[0]).toBeCloseTo(expected, 13);
  });
});

describe('finite differences at an L1 kink (goldens/l1-tie.json: two logits equal their targets)', () => {
  const golden = loadGolden('goldens/l1-tie.json');
  it.each(['float32', 'float64'] as const)('see the one-sided slopes, not a failure, where torch’s sgn(0) = 0 (%s)', (dtype) => {
    const report = finiteDifferenceCheck(modelProblem(golden, dtype));
    expect(report.verdict).toBe('pass');
    // Both logits of class 1 sit on their targets: ∂L/∂0.bias[1] = sgn(0) + sgn(0) = 0, between one-sided slopes of ±2.
    const kink = report.elements.find((e) => e.tensor === '0.bias' && e.index[0] === 1)!;
    expect(kink.verdict).toBe('kink');
    expect(golden.expected[dtype].results.get('grad.0.bias')!.data[1]).toBe(0);
  });
});

describe('unreduced losses and their upstream gradient', () => {
  const spec = linearModel({ op: 'mse_loss', reduction: 'none' });
  const target: Target = { kind: 'values', values: tensor('float64', [4, 3]) };

  it('are a tensor shaped like the loss, and the gradients are those of Σ lossGrad·loss', () => {
    const lossGrad = tensor('float64', [4, 3], Array.from({ length: 12 }, (_, i) => i - 5));
    const run = runModel(spec, { x, target, params, lossGrad }, 'float64');
    expect(run.fwd.loss.shape).toEqual([4, 3]);
    expect(run.fwd.objective).toBeCloseTo(Array.from(run.fwd.loss.data).reduce((s, v, i) => s + v * lossGrad.data[i]!, 0), 13);
    run.bwd.dLogits.data.forEach((g, i) => expect(g).toBeCloseTo(2 * run.fwd.logits.data[i]! * lossGrad.data[i]!, 14));
  });

  it('need lossGrad, of the loss’s shape, and reduced losses refuse one', () => {
    expect(() => forward(spec, { x, target, params }, 'float64')).toThrow('lossGrad (the upstream gradient of an unreduced loss) is missing (expected shape [4, 3])');
    expect(() => forward(spec, { x, target, params, lossGrad: tensor('float64', [4]) }, 'float64')).toThrow('has shape [4], expected [4, 3]');
    const reduced = linearModel({ op: 'mse_loss', reduction: 'sum' });
    expect(() => forward(reduced, { x, target, params, lossGrad: tensor('float64', [4, 3]) }, 'float64')).toThrow(/lossGrad is given, but the loss is a scalar/);
  });
});

// Each loss's bound against the one difference the TS reference can produce on its own: its
// float32 run against its float64 run, on random models, inputs and options. A bound that does
// not hold here would not hold against torch either.
describe('the loss bounds hold on random problems (TS float32 against TS float64)', () => {
  const LOSSES: ((random: () => number, classes: number) => ModelSpec['loss'])[] = [
    (r) => ({ op: 'cross_entropy', target: 'class_indices', reduction: pick(r, ['mean', 'sum', 'none']), weight: r() < 0.5 ? undefined : weights(r, 4), ignoreIndex: -100, labelSmoothing: r() < 0.5 ? 0 : 0.3 * r() }),
    (r) => ({ op: 'cross_entropy', target: 'probabilities', reduction: pick(r, ['mean', 'sum', 'none']), ...(r() < 0.5 ? {} : { weight: weights(r, 4) }), ...(r() < 0.5 ? {} : { labelSmoothing: 0.2 }) }),
    (r) => ({ op: 'nll_loss', reduction: pick(r, ['mean', 'sum', 'none']), ignoreIndex: -100, ...(r() < 0.5 ? {} : { weight: weights(r, 4) }) }),
    (r) => ({ op: 'mse_loss', reduction: pick(r, ['mean', 'sum', 'none']) }),
    (r) => ({ op: 'l1_loss', reduction: pick(r, ['mean', 'sum', 'none']) }),
    (r) => ({ op: 'bce_with_logits', reduction: pick(r, ['mean', 'sum', 'none']), ...(r() < 0.5 ? {} : { posWeight: weights(r, 4) }) }),
  ];

  it.each(LOSSES.map((make, i) => [i, make] as const))('loss family %i: 60 random problems, every element within its bound', (family, make) => {
    const random = seededRandom(7000 + family);
    let elements = 0;
    for (let trial = 0; trial < 60; trial++) {
      const loss = withoutUndefined(make(random, 4));
      const spec: ModelSpec = { inputSize: 3, modules: [{ op: 'linear', out: 5, bias: true }, { op: 'tanh' }, { op: 'linear', out: 4, bias: true }, ...(loss.op === 'nll_loss' ? [{ op: 'log_softmax' } as const] : [])], loss };
      const batch = 1 + Math.floor(random() * 5);
      const scale = random() < 0.3 ? 20 : 2;
      const f64 = (shape: number[], f: () => number) => tensor('float64', shape, Array.from({ length: shape.reduce((a, b) => a * b, 1) }, f));
      const inputs: ModelInputs = {
        x: f64([batch, 3], () => scale * gaussian(random)),
        params: { '0.weight': f64([5, 3], () => gaussian(random)), '0.bias': f64([5], () => gaussian(random)), '2.weight': f64([4, 5], () => gaussian(random)), '2.bias': f64([4], () => gaussian(random)) },
        target: randomTarget(random, loss, batch),
        ...(loss.reduction === 'none' ? { lossGrad: f64(loss.op === 'mse_loss' || loss.op === 'l1_loss' || loss.op === 'bce_with_logits' ? [batch, 4] : [batch], () => gaussian(random)) } : {}),
      };
      const [r32, r64] = [runModel(spec, inputs, 'float32'), runModel(spec, inputs, 'float64')];
      const bounds = modelBounds({ fwd: r32.fwd, bwd: r32.bwd, stored: inputs, sides: ['float32', 'float64'], sideResults: [r32.results, r64.results] });
      for (const key of resultKeys(spec)) {
        const record = compareTensors({ case: `random-${family}-${trial}`, file: '-', tensor: key, actual: { source: 'ts', dtype: 'float32' }, expected: { source: 'ts', dtype: 'float64' } }, r32.results.get(key)!, r64.results.get(key)!, bounds.get(key)!);
        expect(record.verdict, `${record.case} ${key} ${JSON.stringify(loss)}: ${record.mismatched} of ${record.numel} out of bounds`).toBe('pass');
        elements += record.numel;
      }
    }
    expect(elements).toBeGreaterThan(1000);
  });

  function pick<T>(random: () => number, options: readonly T[]): T {
    return options[Math.floor(random() * options.length)]!;
  }
  function weights(random: () => number, n: number): number[] {
    return Array.from({ length: n }, () => Math.round((0.1 + 3 * random()) * 1000) / 1000);
  }
  function withoutUndefined<T extends object>(o: T): T {
    return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== 0)) as T;
  }
  function randomTarget(random: () => number, loss: ModelSpec['loss'], batch: number): Target {
    const floats = (f: () => number) => tensor('float64', [batch, 4], Array.from({ length: batch * 4 }, f));
    if (loss.op === 'mse_loss' || loss.op === 'l1_loss') return { kind: 'values', values: floats(() => gaussian(random)) };
    if (loss.op === 'bce_with_logits') return { kind: 'probabilities', probs: floats(random) };
    if (loss.op === 'cross_entropy' && loss.target === 'probabilities') return { kind: 'probabilities', probs: floats(random) };
    // Row 0 is always kept: `mean` over no kept rows is 0/0, NaN in torch as here, and NaN never passes.
    return indices(...Array.from({ length: batch }, (_, b) => (b > 0 && random() < 0.2 ? -100 : Math.floor(random() * 4))));
  }
});
