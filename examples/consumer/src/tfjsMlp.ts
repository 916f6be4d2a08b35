// The implementation under test: the model of a gradparity golden (a torch.nn.Sequential of
// Linear layers and activations, then softmax cross-entropy), written with TensorFlow.js, whose
// autodiff gives the gradients. Nothing here comes from gradparity but the golden's description of
// the model and its inputs.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core alone knows the ops but not their gradients.
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import type { GoldenCase, ModelSpec } from 'gradparity';

type Module = ModelSpec['modules'][number];

export interface TfjsResults {
  readonly loss: number;
  readonly logits: Float32Array;
  /** ∂loss/∂x and ∂loss/∂(every parameter), by the golden's state_dict names. */
  readonly grads: Record<string, Float32Array>;
}

/** Loss, logits and every gradient of a golden's model on its inputs, in float32 (all tfjs has). */
export async function tfjsLossAndGrads(golden: GoldenCase): Promise<TfjsResults> {
  await tf.setBackend('cpu');
  const { spec, inputs } = golden;
  const [batch = 0] = inputs.x.shape;
  const names = ['x', ...Object.keys(inputs.params)];
  const values = [inputs.x, ...Object.values(inputs.params)].map((t) => tf.tensor(Float32Array.from(t.data), [...t.shape]));
  const targetOf = (classes: number): tf.Tensor =>
    inputs.target.kind === 'class_indices'
      ? tf.cast(tf.oneHot(tf.tensor1d(inputs.target.indices, 'int32'), classes), 'float32')
      : tf.tensor2d(Float32Array.from(inputs.target.probs.data), [batch, classes]);

  // Module i of the Sequential owns the parameters `<i>.weight` and `<i>.bias`, as in torch.
  const lossOf = (...args: tf.Tensor[]): { logits: tf.Tensor; loss: tf.Scalar } => {
    const byName = new Map(names.map((n, i) => [n, args[i]!]));
    let h = byName.get('x')!;
    spec.modules.forEach((module, i) => {
      h = module.op === 'linear' ? linear(h, byName.get(`${i}.weight`)!, byName.get(`${i}.bias`)) : activation(module, h);
    });
    const target = targetOf(h.shape[1]!);
    // cross_entropy: −Σ_c p_c·log_softmax(θ)_c per row; `mean` divides the sum by the batch.
    const rows = tf.neg(tf.sum(tf.mul(target, tf.logSoftmax(h)), 1));
    const total = tf.sum(rows);
    return { logits: h, loss: (spec.loss.reduction === 'mean' ? tf.div(total, batch) : total) as tf.Scalar };
  };

  const { value, grads } = tf.valueAndGrads((...args: tf.Tensor[]) => lossOf(...args).loss)(values);
  const logits = lossOf(...values).logits;
  const asFloat32 = async (t: tf.Tensor) => Float32Array.from(await t.data());
  return {
    loss: (await value.data())[0]!,
    logits: await asFloat32(logits),
    grads: Object.fromEntries(await Promise.all(names.map(async (n, i) => [n, await asFloat32(grads[i]!)] as const))),
  };
}

/** Where x > t, as a constant mask: tfjs cannot differentiate through `greater`, and need not. */
function above(x: tf.Tensor, t: number): tf.Tensor {
  return tf.tensor(Array.from(x.dataSync(), (v) => v > t), x.shape, 'bool');
}

function linear(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor | undefined): tf.Tensor {
  const y = tf.matMul(x, weight, false, true);
  return bias === undefined ? y : tf.add(y, bias);
}

/** Each activation as torch.nn defines it, from tfjs ops (tfjs's own elu and softplus differ: fixed α, another threshold). */
function activation(module: Exclude<Module, { op: 'linear' }>, x: tf.Tensor): tf.Tensor {
  switch (module.op) {
    case 'relu':
      return tf.relu(x);
    case 'relu6':
      return tf.relu6(x);
    case 'tanh':
      return tf.tanh(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'silu':
      return tf.mul(x, tf.sigmoid(x));
    case 'leaky_relu':
      return tf.leakyRelu(x, module.negativeSlope);
    case 'hardtanh':
      return tf.clipByValue(x, module.min, module.max);
    case 'elu':
      return tf.where(above(x, 0), x, tf.mul(module.alpha, tf.sub(tf.exp(x), 1)));
    case 'softplus': {
      const scaled = tf.mul(x, module.beta);
      return tf.where(above(scaled, module.threshold), x, tf.div(tf.log1p(tf.exp(scaled)), module.beta));
    }
    case 'gelu':
      return module.approximate === 'tanh'
        ? // x/2·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
          tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3)))))))
        : // x·Φ(x) = x/2·(1 + erf(x/√2))
          tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
  }
}
