// The implementation under test: the MLP of a gradparity golden (Linear → ReLU/identity → … →
// softmax cross-entropy), written with TensorFlow.js, whose autodiff gives the gradients. Nothing
// here comes from gradparity but the golden's description of the model and its inputs.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core alone knows the ops but not their gradients.
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import type { GoldenCase } from 'gradparity';

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
  const classes = spec.layers.at(-1)!.out;
  const names = ['x', ...Object.keys(inputs.params)];
  const values = [inputs.x, ...Object.values(inputs.params)].map((t) => tf.tensor(Float32Array.from(t.data), [...t.shape]));
  const target =
    inputs.target.kind === 'class_indices'
      ? tf.cast(tf.oneHot(tf.tensor1d(inputs.target.indices, 'int32'), classes), 'float32')
      : tf.tensor2d(Float32Array.from(inputs.target.probs.data), [batch, classes]);

  // torch.nn.Sequential numbering: each Linear takes one index, each ReLU after it another.
  const lossOf = (...args: tf.Tensor[]): { logits: tf.Tensor2D; loss: tf.Scalar } => {
    const byName = new Map(names.map((n, i) => [n, args[i]!]));
    let h = byName.get('x') as tf.Tensor2D;
    let module = 0;
    for (const layer of spec.layers) {
      h = tf.matMul(h, byName.get(`${module}.weight`) as tf.Tensor2D, false, true);
      if (layer.bias) h = tf.add(h, byName.get(`${module}.bias`)!);
      module += 1;
      if (layer.activation === 'relu') {
        h = tf.relu(h);
        module += 1;
      }
    }
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
