// The head several example models end in: Linear(features → classes), then cross-entropy
// averaged over the batch (log_softmax with the row max shifted out), and its backward pass.

type Round = (v: number) => number;

export interface HeadPass {
  readonly logits: number[];
  readonly loss: number;
  /** ∂loss/∂(the head's input), and its parameters' gradients. */
  readonly dInput: number[];
  readonly dWeight: number[];
  readonly dBias: number[];
}

/** h [n, features] through weight [classes, features] and bias [classes], against class indices. */
export function classifierHead(h: readonly number[], n: number, weight: readonly number[], bias: readonly number[], target: ArrayLike<number>, r: Round): HeadPass {
  const classes = bias.length;
  const features = h.length / n;
  const logits = new Array<number>(n * classes);
  for (let b = 0; b < n; b++) for (let k = 0; k < classes; k++) {
    let acc = bias[k]!;
    for (let f = 0; f < features; f++) acc = r(acc + r(h[b * features + f]! * weight[k * features + f]!));
    logits[b * classes + k] = acc;
  }
  let loss = 0;
  const dLogits = new Array<number>(n * classes);
  for (let b = 0; b < n; b++) {
    const row = logits.slice(b * classes, (b + 1) * classes);
    const mx = Math.max(...row);
    const e = row.map((v) => r(Math.exp(r(v - mx))));
    const s = e.reduce((acc, v) => r(acc + v), 0);
    loss = r(loss - r(r(row[target[b]!]! - mx) - r(Math.log(s))));
    e.forEach((v, k) => (dLogits[b * classes + k] = r(r(r(v / s) - (k === target[b] ? 1 : 0)) / n)));
  }
  loss = r(loss / n);
  const dWeight = new Array<number>(weight.length).fill(0);
  const dBias = new Array<number>(classes).fill(0);
  const dInput = new Array<number>(h.length).fill(0);
  for (let b = 0; b < n; b++) for (let k = 0; k < classes; k++) {
    const g = dLogits[b * classes + k]!;
    dBias[k] = r(dBias[k]! + g);
    for (let f = 0; f < features; f++) {
      dWeight[k * features + f] = r(dWeight[k * features + f]! + r(g * h[b * features + f]!));
      dInput[b * features + f] = r(dInput[b * features + f]! + r(g * weight[k * features + f]!));
    }
  }
  return { logits, loss, dInput, dWeight, dBias };
}
