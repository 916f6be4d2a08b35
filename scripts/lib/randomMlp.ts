import { gaussian, seededRandom } from '../../src/fd/random.ts';
import type { ModelInputs } from '../../src/model/sequential.ts';
import type { ModelSpec } from '../../src/model/spec.ts';
import { tensor, type NamedTensors } from '../../src/tensor/tensor.ts';

// The random MLPs of `npm run fd-sensitivity`: 1–4 hidden layers (ReLU or tanh) of widths 2–64,
// batches 1–24, inputs 2–32 wide, 2–10 classes, class-index or probability targets, mean or sum;
// torch.nn.Linear's initialisation, x ~ N(0, 1).

/** A random MLP and its inputs, reproducible from the seed. */
export function randomMlp(seed: number): { spec: ModelSpec; inputs: ModelInputs } {
  const random = seededRandom(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const depth = int(1, 4);
  const inputSize = int(2, 32);
  const classes = int(2, 10);
  const batch = int(1, 24);
  const activation = random() < 0.5 ? 'relu' : 'tanh';
  const modules: ModelSpec['modules'] = [];
  for (let k = 0; k < depth; k++) modules.push({ op: 'linear', out: int(2, 64), bias: true }, { op: activation } as ModelSpec['modules'][number]);
  modules.push({ op: 'linear', out: classes, bias: true });
  const probabilities = random() < 0.5;
  const reduction = random() < 0.5 ? 'mean' : 'sum';
  const spec = { inputSize, modules, loss: { op: 'cross_entropy', target: probabilities ? 'probabilities' : 'class_indices', reduction } } as ModelSpec;
  const params: NamedTensors = {};
  let fanIn = inputSize;
  modules.forEach((m, i) => {
    if (m.op !== 'linear') return;
    const bound = 1 / Math.sqrt(fanIn);
    params[`${i}.weight`] = tensor('float64', [m.out, fanIn], Array.from({ length: m.out * fanIn }, () => (2 * random() - 1) * bound));
    params[`${i}.bias`] = tensor('float64', [m.out], Array.from({ length: m.out }, () => (2 * random() - 1) * bound));
    fanIn = m.out;
  });
  const x = tensor('float64', [batch, inputSize], Array.from({ length: batch * inputSize }, () => gaussian(random)));
  const target: ModelInputs['target'] = probabilities
    ? {
        kind: 'probabilities',
        probs: tensor('float64', [batch, classes], Array.from({ length: batch }, () => {
          const e = Array.from({ length: classes }, () => Math.exp(2 * gaussian(random)));
          const s = e.reduce((a, b) => a + b, 0);
          return e.map((v) => v / s);
        }).flat()),
      }
    : { kind: 'class_indices', indices: Int32Array.from({ length: batch }, () => int(0, classes - 1)) };
  return { spec, inputs: { x, target, params } };
}

