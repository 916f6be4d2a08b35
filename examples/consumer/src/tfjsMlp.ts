// The implementation under test: the model of a gradparity golden (a torch.nn.Sequential of
// Linear layers and activations, then one of PyTorch's losses), written with TensorFlow.js, whose
// autodiff gives the gradients. Nothing here comes from gradparity but the golden's description of
// the model and its inputs.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core alone knows the ops but not their gradients.
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import type { GoldenCase, ModelInputs, ModelSpec } from 'gradparity';

type Module = ModelSpec['modules'][number];
type Loss = ModelSpec['loss'];

export interface TfjsResults {
  /** The loss: one number, or one per row or element when the reduction is `none`. */
  readonly loss: Float32Array;
  readonly logits: Float32Array;
  /** ∂/∂x and ∂/∂(every parameter) of the loss (of Σ lossGrad·loss when unreduced), by state_dict name. */
  readonly grads: Record<string, Float32Array>;
}

/** Loss, logits and every gradient of a golden's model on its inputs, in float32 (all tfjs has). */
export async function tfjsLossAndGrads(golden: GoldenCase): Promise<TfjsResults> {
  await tf.setBackend('cpu');
  const { spec, inputs } = golden;
  const names = ['x', ...Object.keys(inputs.params)];
  const values = [inputs.x, ...Object.values(inputs.params)].map((t) => tf.tensor(Float32Array.from(t.data), [...t.shape]));

  // Module i of the Sequential owns the parameters `<i>.weight` and `<i>.bias`, as in torch.
  const run = (...args: tf.Tensor[]): { logits: tf.Tensor; loss: tf.Tensor } => {
    const byName = new Map(names.map((n, i) => [n, args[i]!]));
    let h = byName.get('x')!;
    spec.modules.forEach((module, i) => {
      h = module.op === 'linear' ? linear(h, byName.get(`${i}.weight`)!, byName.get(`${i}.bias`)) : activation(module, h);
    });
    return { logits: h, loss: lossOf(spec.loss, h, inputs) };
  };
  // What the backward pass differentiates: the loss, or Σ lossGrad·loss for an unreduced one.
  const upstream = inputs.lossGrad === undefined ? null : tf.tensor(Float32Array.from(inputs.lossGrad.data), [...inputs.lossGrad.shape]);
  const objective = (...args: tf.Tensor[]) => {
    const { loss } = run(...args);
    return (upstream === null ? loss : tf.sum(tf.mul(upstream, loss))) as tf.Scalar;
  };

  const { grads } = tf.valueAndGrads(objective)(values);
  const { logits, loss } = run(...values);
  const asFloat32 = async (t: tf.Tensor) => Float32Array.from(await t.data());
  return {
    loss: await asFloat32(loss),
    logits: await asFloat32(logits),
    grads: Object.fromEntries(await Promise.all(names.map(async (n, i) => [n, await asFloat32(grads[i]!)] as const))),
  };
}

/** Each loss as torch.nn defines it, reduced as its spec says. */
function lossOf(loss: Loss, h: tf.Tensor, inputs: ModelInputs): tf.Tensor {
  const [batch = 0, classes = 0] = h.shape;
  const target = inputs.target;
  const floats = (): tf.Tensor => {
    const t = target.kind === 'probabilities' ? target.probs : target.kind === 'values' ? target.values : null;
    return tf.tensor(Float32Array.from(t!.data), [batch, classes]);
  };
  // Per-element losses are reduced over all B·C elements.
  const reduceElements = (l: tf.Tensor) => (loss.reduction === 'none' ? l : loss.reduction === 'sum' ? tf.sum(l) : tf.mean(l));
  switch (loss.op) {
    case 'mse_loss':
      return reduceElements(tf.square(tf.sub(h, floats())));
    case 'l1_loss':
      return reduceElements(tf.abs(tf.sub(h, floats())));
    case 'bce_with_logits': {
      // (1 − t)·x + w·log(1 + exp(−x)), w = (p − 1)·t + 1 with pos_weight p, in the stable form
      // log(exp(−m) + exp(−x − m)) + m, m = max(−x, 0).
      const t = floats();
      const m = tf.relu(tf.neg(h));
      const softplusNeg = tf.add(tf.log(tf.add(tf.exp(tf.neg(m)), tf.exp(tf.sub(tf.neg(h), m)))), m);
      const w = loss.posWeight === undefined ? tf.onesLike(t) : tf.add(tf.mul(tf.sub(tf.tensor1d(loss.posWeight), 1), t), 1);
      return reduceElements(tf.add(tf.mul(tf.sub(1, t), h), tf.mul(w, softplusNeg)));
    }
    case 'nll_loss':
    case 'cross_entropy': {
      // −Σ_c q_bc·logp_bc per row, with q the target's weights (class weight, label smoothing,
      // ignored rows at 0); `mean` divides by the kept rows' total weight (B for probabilities).
      const logp = loss.op === 'cross_entropy' ? tf.logSoftmax(h) : h;
      const { q, divisor } = targetWeights(loss, inputs, batch, classes);
      const rows = tf.neg(tf.sum(tf.mul(tf.tensor2d(q, [batch, classes]), logp), 1));
      return loss.reduction === 'none' ? rows : loss.reduction === 'sum' ? tf.sum(rows) : tf.div(tf.sum(rows), divisor);
    }
  }
}

/** The effective target weights of cross_entropy and nll_loss, and the divisor of `mean`. */
function targetWeights(loss: Extract<Loss, { op: 'cross_entropy' | 'nll_loss' }>, inputs: ModelInputs, batch: number, classes: number) {
  const eps = loss.op === 'cross_entropy' ? (loss.labelSmoothing ?? 0) : 0;
  const w = (c: number) => loss.weight?.[c] ?? 1;
  const q = new Float32Array(batch * classes);
  let divisor = 0;
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < classes; c++) {
      const target = inputs.target;
      if (target.kind === 'class_indices') {
        const y = target.indices[b]!;
        if (y === loss.ignoreIndex) continue;
        q[b * classes + c] = (c === y ? (1 - eps) * w(y) : 0) + (eps / classes) * w(c);
      } else if (target.kind === 'probabilities') {
        q[b * classes + c] = ((1 - eps) * target.probs.data[b * classes + c]! + eps / classes) * w(c);
      }
    }
    const target = inputs.target;
    if (target.kind === 'class_indices') divisor += target.indices[b] === loss.ignoreIndex ? 0 : w(target.indices[b]!);
    else divisor += 1;
  }
  return { q, divisor };
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
    case 'log_softmax':
      return tf.logSoftmax(x);
    case 'gelu':
      return module.approximate === 'tanh'
        ? // x/2·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
          tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3)))))))
        : // x·Φ(x) = x/2·(1 + erf(x/√2))
          tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
  }
}
