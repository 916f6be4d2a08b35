import { opFloat32Checks, violations, type Check } from '../ops/float32Semantics.ts';
import { tensor, type Tensor } from '../tensor/tensor.ts';
import { objectiveOf, runModel, type ModelInputs } from './sequential.ts';
import type { ModelSpec } from './spec.ts';

// The model's own part of Note [Checking float32 emulation]: a float32 run of float64 inputs
// (a float64 case's golden, run in float32 as torch's float32 run is) must first round x, the
// target, the upstream gradient and every parameter to float32, as torch's `.to(torch.float32)`
// does. If it kept their float64 bits, its results would move by far less than any bound allows
// for, and no oracle would see it; the same run on inputs rounded beforehand sees every bit.

const SPEC: ModelSpec = {
  inputSize: 3,
  modules: [{ op: 'linear', out: 4, bias: true }, { op: 'tanh' }, { op: 'linear', out: 3, bias: true }],
  loss: { op: 'cross_entropy', target: 'probabilities', reduction: 'none' },
};

/** Values with bits below float32's: 1/(k + 1.3) is never a float32 number. */
const float64Values = (shape: number[], offset: number): Tensor =>
  tensor('float64', shape, Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, k) => ((k % 2 ? -1 : 1) * 0.9) / (k + offset + 1.3)));

function inputsOf(round: (t: Tensor) => Tensor): ModelInputs {
  return {
    x: round(float64Values([2, 3], 0)),
    target: { kind: 'probabilities', probs: round(tensor('float64', [2, 3], Array.from(float64Values([2, 3], 1).data, Math.abs))) },
    params: { '0.weight': round(float64Values([4, 3], 2)), '0.bias': round(float64Values([4], 3)), '2.weight': round(float64Values([3, 4], 4)), '2.bias': round(float64Values([3], 5)) },
    lossGrad: round(float64Values([2], 6)),
  };
}

/** Every float32 check, the ops' and the model's: [] when every rounding happens where it should. */
export function float32SemanticsViolations(): string[] {
  return violations(float32Checks());
}

/** The ops' checks and the model's: the input rounding of a float32 run, and the objective's sum. */
export function float32Checks(): Check[] {
  const asIs = (t: Tensor) => t;
  const rounded = (t: Tensor) => tensor('float64', t.shape, Array.from(t.data, Math.fround));
  const raw = runModel(SPEC, inputsOf(asIs), 'float32');
  const pre = runModel(SPEC, inputsOf(rounded), 'float32');
  const inputChecks = [...pre.results].map(([key, t]) => [`run of float64 inputs rounds them first: ${key}`, raw.results.get(key)!.data, t.data] as const);
  const { loss } = pre.fwd;
  const lossGrad = pre.fwd.inputs.lossGrad!;
  let objective = 0;
  for (let i = 0; i < loss.data.length; i++) objective = Math.fround(objective + Math.fround(lossGrad.data[i]! * loss.data[i]!));
  return [...opFloat32Checks(), ...inputChecks, ['objective Σ lossGrad·loss', [objectiveOf(loss, lossGrad, 'float32')], [objective]]];
}
