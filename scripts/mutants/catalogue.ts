/**
 * Gradient bugs people really write, as edits of the TS model's sources. Each is one textual
 * replacement (`find` must occur exactly once, so a mutant cannot silently stop applying when the
 * code moves). They are applied to a temporary copy, never to the working tree.
 */
export interface Mutant {
  readonly id: string;
  readonly description: string;
  readonly file: string;
  readonly edits: readonly { readonly find: string; readonly replace: string }[];
  /** Code the edits call, appended to the mutated file. */
  readonly helper?: string;
  /**
   * The corner case made for this bug class (most of them pass every ordinary case bit for bit
   * or within its bounds): `npm run mutants` fails unless this case is among those that catch it.
   */
  readonly closedBy?: string;
}

const LINEAR = 'src/ops/linear.ts';
const RELU = 'src/ops/relu.ts';
const CE = 'src/ops/crossEntropy.ts';
const SEQUENTIAL = 'src/model/sequential.ts';
const LOG_SOFTMAX = 'src/ops/logSoftmax.ts';
const op = (name: string) => `src/ops/${name}.ts`;

// The sums of linearBackward run inside the forward kernels, over a whole row: a loop bound one
// short leaves out the last term of every sum, which is what a copy of dz with that term's row or
// column zeroed gives.
const WITHOUT_LAST = `
function withoutLast(m: FloatArray, rows: number, cols: number, which: 'row' | 'column'): FloatArray {
  const copy = m.slice();
  if (which === 'row') copy.fill(0, (rows - 1) * cols);
  else for (let r = 0; r < rows; r++) copy[r * cols + cols - 1] = 0;
  return copy;
}
`;

export const MUTANTS: readonly Mutant[] = [
  {
    id: 'relu-mask-dropped',
    description: 'ReLU backward passes the gradient everywhere (mask forgotten)',
    file: RELU,
    edits: [{ find: '(z.data[i]! <= 0 ? 0 : g)', replace: 'g' }],
  },
  {
    id: 'relu-derivative-1-at-0',
    description: 'ReLU mask tests z >= 0 instead of z > 0: derivative 1 at exactly 0',
    file: RELU,
    edits: [{ find: '(z.data[i]! <= 0 ? 0 : g)', replace: '(z.data[i]! < 0 ? 0 : g)' }],
  },
  {
    id: 'relu-mask-from-gradient',
    description: 'ReLU mask tests the incoming gradient (dh > 0) instead of the pre-activation',
    file: RELU,
    edits: [{ find: '(z.data[i]! <= 0 ? 0 : g)', replace: '(g <= 0 ? 0 : g)' }],
  },
  {
    id: 'leaky-relu-forward',
    description: 'ReLU forward leaks 0.01·z for negative z (backward still a plain ReLU)',
    file: RELU,
    edits: [{ find: '(v <= 0 ? 0 : v)', replace: '(v <= 0 ? 0.01 * v : v)' }],
  },
  {
    id: 'weight-grad-transposed',
    description: 'weight gradient written in [in, out] layout (dW transposed)',
    file: LINEAR,
    edits: [{ find: 'null, dWeight.data, out, batch, n, null, 0, null, null);', replace: 'null, dWeight.data, out, batch, n, null, 0, null, null);\n  dWeight.data.set(transposed(dWeight.data.slice(), out, n, dtype));' }],
  },
  {
    id: 'input-grad-wrong-weight-layout',
    description: 'input gradient reads W with Wᵀ\'s strides (wrong weight element)',
    file: LINEAR,
    edits: [{ find: 'rows(dz.data, transposed(weight.data, out, n, dtype),', replace: 'rows(dz.data, weight.data,' }],
  },
  {
    id: 'input-grad-wrong-layer-weight',
    description: 'input gradient of a layer uses the previous layer\'s weight when the shapes allow it',
    file: SEQUENTIAL,
    edits: [{ find: 'const grads = moduleOp(m).backward(m, dOut, input, out, moduleParams(inputs.params, i), dtype);', replace: 'const grads = moduleOp(m).backward(m, dOut, input, out, withPreviousWeight(inputs.params, i), dtype);' }],
    helper: `
// The bug: the weight of the nearest earlier module whose weight has the same shape.
function withPreviousWeight(params: NamedTensors, i: number): Record<string, Tensor> {
  const own = moduleParams(params, i);
  for (let j = i - 1; j >= 0; j--) {
    const previous = moduleParams(params, j).weight;
    if (previous !== undefined && own.weight !== undefined && previous.shape.join() === own.weight.shape.join()) return { ...own, weight: previous };
  }
  return own;
}
`,
  },
  {
    id: 'bias-grad-first-sample',
    description: 'bias gradient not summed over the batch: first sample only',
    file: LINEAR,
    edits: [{ find: 'for (let b = 0; b < batch; b++) acc = round(acc + dz.data[b * out + j]!);', replace: 'for (let b = 0; b < 1; b++) acc = round(acc + dz.data[b * out + j]!);' }],
  },
  {
    id: 'bias-grad-averaged',
    description: 'bias gradient averaged over the batch instead of summed',
    file: LINEAR,
    edits: [{ find: 'dBias.data[j] = acc;', replace: 'dBias.data[j] = round(acc / batch);' }],
  },
  {
    id: 'mean-missing-1-over-B',
    description: 'mean reduction: the backward forgets the 1/B',
    file: CE,
    edits: [{ find: "if (spec.reduction === 'mean') dLogits.data[i] = round(g / trace.divisor);", replace: "if (spec.reduction === 'mean') dLogits.data[i] = g;" }],
  },
  {
    id: 'mean-1-over-B-twice',
    description: 'mean reduction: 1/B applied twice in the backward',
    file: CE,
    edits: [{ find: "if (spec.reduction === 'mean') dLogits.data[i] = round(g / trace.divisor);", replace: "if (spec.reduction === 'mean') dLogits.data[i] = round(round(g / trace.divisor) / trace.divisor);" }],
  },
  {
    id: 'softmax-minus-target-sign',
    description: 'dL/dθ = target − softmax instead of softmax − target',
    file: CE,
    edits: [{ find: 'const g = round(round(trace.softmax.data[i]! * mass) - q[c]!);', replace: 'const g = round(q[c]! - round(trace.softmax.data[i]! * mass));' }],
  },
  {
    id: 'one-hot-shifted',
    description: 'class-index target turned into a one-hot shifted by one class in the backward',
    file: CE,
    edits: [{ find: 'const own = c === y ? round(keep * weight(y)) : 0;', replace: 'const own = c === (y + 1) % classes ? round(keep * weight(y)) : 0;' }],
  },
  {
    id: 'soft-target-mass-ignored',
    description: 'soft targets: softmax − p without the Σp factor (wrong when targets do not sum to 1)',
    file: CE,
    edits: [{ find: 'round(trace.softmax.data[i]! * mass)', replace: 'trace.softmax.data[i]!' }],
  },
  {
    id: 'linear-forward-drops-bias',
    description: 'Linear forward forgets to add the bias',
    file: LINEAR,
    edits: [{ find: 'return bias === null ? null : bias.data;', replace: 'return null;' }],
  },
  {
    id: 'input-grad-off-by-one',
    description: 'off-by-one loop bound: the input gradient sums one output unit too few',
    file: LINEAR,
    edits: [{ find: 'rows(dz.data, transposed(weight.data, out, n, dtype),', replace: 'rows(withoutLast(dz.data, batch, out, \'column\'), transposed(weight.data, out, n, dtype),' }],
    helper: WITHOUT_LAST,
  },
  {
    id: 'weight-grad-drops-last-sample',
    description: 'off-by-one loop bound: the weight gradient skips the last sample of the batch',
    file: LINEAR,
    edits: [{ find: 'rows(transposed(dz.data, batch, out, dtype),', replace: 'rows(transposed(withoutLast(dz.data, batch, out, \'row\'), batch, out, dtype),' }],
    helper: WITHOUT_LAST,
  },
  {
    id: 'float32-rounding-skipped',
    description: 'float32 dot products accumulate in float64 and round once at the end',
    file: LINEAR,
    // Both float32 dot kernels keep every product and partial sum in float64; the result is rounded once, when stored.
    edits: [
      { find: '): void {\n  const f = Math.fround;\n  const full', replace: '): void {\n  const f = (v: number): number => v;\n  const full' },
      { find: '): void {\n  const f = Math.fround;\n  const wo', replace: '): void {\n  const f = (v: number): number => v;\n  const wo' },
    ],
  },
  {
    id: 'stale-softmax-cache',
    description: 'backward reuses the softmax cached by the first forward call of the process',
    file: CE,
    edits: [{ find: 'const g = round(round(trace.softmax.data[i]! * mass)', replace: 'const g = round(round(staleSoftmax(trace).data[i]! * mass)' }],
    helper: `
let cachedSoftmax: Tensor | undefined;
// The bug: a cache filled once and never invalidated.
function staleSoftmax(trace: CrossEntropyTrace): Tensor {
  if (cachedSoftmax === undefined || cachedSoftmax.data.length < trace.softmax.data.length) cachedSoftmax = trace.softmax;
  return cachedSoftmax;
}
`,
  },
  {
    id: 'bias-grad-accumulated',
    description: 'bias gradient buffer reused across calls and accumulated (+=) instead of overwritten',
    file: LINEAR,
    edits: [
      { find: 'dBias = tensor(dtype, [out]);', replace: 'dBias = reusedBiasBuffer(dtype, out);' },
      { find: 'dBias.data[j] = acc;', replace: 'dBias.data[j]! += acc;' },
    ],
    helper: `
const biasBuffers = new Map<string, Tensor>();
// The bug: one buffer per dtype and width, shared by every call.
function reusedBiasBuffer(dtype: DType, out: number): Tensor {
  const key = dtype + ':' + out;
  if (!biasBuffers.has(key)) biasBuffers.set(key, tensor(dtype, [out]));
  return biasBuffers.get(key)!;
}
`,
  },
  {
    id: 'tanh-backward-missing-square',
    description: 'tanh backward uses 1 − y instead of 1 − y²',
    file: op('tanh'),
    edits: [{ find: 'a.mul(g, a.sub(a.c(1), a.mul(y, y)))', replace: 'a.mul(g, a.sub(a.c(1), y))' }],
  },
  {
    id: 'sigmoid-backward-drops-y',
    description: 'sigmoid backward forgets the factor y: g·(1 − y)',
    file: op('sigmoid'),
    edits: [{ find: 'backward: (a, _x, y, g) => a.mul(a.mul(g, a.sub(a.c(1), y)), y),', replace: 'backward: (a, _x, y, g) => a.mul(g, a.sub(a.c(1), y)),' }],
  },
  {
    id: 'gelu-backward-drops-pdf',
    description: 'GELU backward keeps Φ(x) and forgets the x·φ(x) term',
    file: op('gelu'),
    edits: [{ find: 'return a.mul(g, a.add(cdf, a.mul(x, pdf)));', replace: 'return a.mul(g, a.add(cdf, a.mul(a.c(0), pdf)));' }],
  },
  {
    id: 'gelu-tanh-inner-derivative',
    description: 'GELU (tanh) backward takes the inner derivative without its 3·0.044715·x² term',
    file: op('gelu'),
    edits: [{ find: 'a.add(a.c(1), a.mul(a.mul(a.c(3), a.c(CUBIC)), a.mul(x, x)))', replace: 'a.c(1)' }],
  },
  {
    id: 'leaky-relu-slope-forgotten-backward',
    description: 'LeakyReLU backward passes 0 for negative inputs, as a plain ReLU would',
    file: op('leakyRelu'),
    edits: [{ find: 'backward: (a, x, _y, g, spec) => a.select(x, 0, () => g, () => a.mul(g, a.c(spec.negativeSlope))),', replace: 'backward: (a, x, _y, g) => a.select(x, 0, () => g, () => a.c(0)),' }],
  },
  {
    id: 'silu-backward-is-sigmoid',
    description: 'SiLU backward is taken to be the sigmoid alone (the product rule forgotten)',
    file: op('silu'),
    edits: [{ find: 'return a.mul(a.mul(g, s), a.add(a.c(1), a.mul(x, a.sub(a.c(1), s))));', replace: 'return a.mul(g, s);' }],
  },
  {
    id: 'softplus-beta-ignored-backward',
    description: 'Softplus backward with z = exp(x) instead of exp(x·β)',
    file: op('softplus'),
    edits: [{ find: '      const z = a.fn(\'exp\', xb);', replace: '      const z = a.fn(\'exp\', x);' }],
  },
  {
    id: 'elu-backward-alpha-dropped',
    description: 'ELU backward forgets α: g·exp(x) for negative inputs',
    file: op('elu'),
    edits: [{ find: 'a.mul(a.mul(g, a.c(spec.alpha)), a.fn(\'exp\', x))', replace: 'a.mul(g, a.fn(\'exp\', x))' }],
  },
  {
    id: 'hardtanh-gradient-at-bounds',
    description: 'Hardtanh/ReLU6 backward passes the gradient outside the range too (the clamp forgotten)',
    file: op('hardtanh'),
    edits: [{ find: 'return a.select(x, max, () => a.c(0), () => a.select(a.neg(x), -min, () => a.c(0), () => g, true), true);', replace: 'return g;' }],
  },
  {
    id: 'ce-weighted-mean-divides-by-count',
    description: 'CrossEntropyLoss with class weights: mean divides by the number of rows instead of their total weight',
    file: CE,
    edits: [{ find: 'divisor = round(divisor + weight(y));', replace: 'divisor = round(divisor + 1);' }],
  },
  {
    id: 'ce-ignored-rows-get-gradient',
    description: 'ignore_index skipped in the backward: ignored rows still receive the label-smoothing gradient',
    file: CE,
    edits: [{ find: '    if (y === spec.ignoreIndex) return q;\n', replace: '' }],
  },
  {
    id: 'ce-label-smoothing-forgotten-backward',
    description: 'label smoothing in the forward only: the backward uses the unsmoothed target',
    file: CE,
    edits: [{ find: 'q[c] = smoothing ? round(own + round(spread * weight(c))) : own;', replace: 'q[c] = smoothing ? round(weight(y) * (c === y ? 1 : 0)) : own;' }],
  },
  {
    id: 'ce-none-upstream-ignored',
    description: 'reduction none: the backward ignores the upstream gradient (as if it were all ones)',
    file: CE,
    edits: [{ find: "else if (spec.reduction === 'none') dLogits.data[i] = round(g * lossGrad!.data[b]!);", replace: "else if (spec.reduction === 'none') dLogits.data[i] = g;" }],
  },
  {
    id: 'nll-weight-dropped-backward',
    description: 'NLLLoss backward forgets the class weight of the target',
    file: op('nllLoss'),
    edits: [{ find: 'dLogits.data[b * classes + y] = spec.weight === undefined ? grad : round(weightOf(spec, y, dtype) * grad);', replace: 'dLogits.data[b * classes + y] = grad;' }],
  },
  {
    id: 'log-softmax-backward-drops-sum',
    description: 'LogSoftmax backward passes the gradient through unchanged (the −softmax·Σg term forgotten)',
    file: op('logSoftmax'),
    edits: [{ find: 'dInput.data[i] = round(dOut.data[i]! - round(round(Math.exp(out.data[i]!)) * sum));', replace: 'dInput.data[i] = dOut.data[i]!;' }],
  },
  {
    id: 'mse-missing-factor-2',
    description: 'MSELoss backward is (x − y)/N instead of 2(x − y)/N',
    file: op('mseLoss'),
    edits: [{ find: 'a.c(mean === null ? 2 : 2 / mean)', replace: 'a.c(mean === null ? 1 : 1 / mean)' }],
  },
  {
    id: 'l1-mean-not-divided',
    description: 'L1Loss mean: the backward forgets to divide sgn(x − y) by N',
    file: op('l1Loss'),
    edits: [{ find: 'a.mul(mean === null ? g : a.div(g, a.c(mean)), sign(a, a.sub(x, y)))', replace: 'a.mul(g, sign(a, a.sub(x, y)))' }],
  },
  {
    id: 'bce-pos-weight-ignored-backward',
    description: 'BCEWithLogitsLoss backward ignores pos_weight: σ(x) − t',
    file: op('bceWithLogits'),
    edits: [{ find: 'a.mul(a.c(spec.posWeight[c]!), t)', replace: 't' }],
  },
  // --- corners: bugs that change results badly on inputs PyTorch handles, yet pass ordinary cases ---
  {
    id: 'log-softmax-no-max-shift',
    description: 'log_softmax without the max shift: exp(θ) overflows beyond 88.7 (float32)',
    file: LOG_SOFTMAX,
    edits: [{ find: '    for (const v of row) if (v > m || Number.isNaN(v)) m = v;', replace: '    m = 0;' }],
    closedBy: 'softmax-exp-range',
  },
  {
    id: 'log-softmax-shift-by-first-logit',
    description: 'log_softmax shifts by the row\'s first logit instead of its max',
    file: LOG_SOFTMAX,
    edits: [{ find: '    for (const v of row) if (v > m || Number.isNaN(v)) m = v;', replace: '    m = row[0]!;' }],
    closedBy: 'softmax-exp-range',
  },
  {
    id: 'log-softmax-shift-by-batch-max',
    description: 'log_softmax shifts every row by the largest logit of the batch',
    file: LOG_SOFTMAX,
    edits: [{ find: '    for (const v of row) if (v > m || Number.isNaN(v)) m = v;', replace: '    for (const v of logits.data) if (v > m || Number.isNaN(v)) m = v;' }],
    closedBy: 'softmax-exp-range',
  },
  {
    id: 'log-softmax-sum-skips-tied-maxima',
    description: 'log Σ exp as log(1 + Σ over the other classes), leaving out every class tied with the max',
    file: LOG_SOFTMAX,
    edits: [
      { find: '    let s = 0;', replace: '    let s = 1;' },
      { find: '      s = round(s + shiftedExp[c]!);', replace: '      if (row[c] !== m) s = round(s + shiftedExp[c]!);' },
    ],
    closedBy: 'softmax-tied-max',
  },
  {
    id: 'log-softmax-sum-first-64-classes',
    description: 'Σ exp over a fixed 64-lane reduction: classes past the 64th are left out',
    file: LOG_SOFTMAX,
    edits: [{ find: '    for (let c = 0; c < classes; c++) {\n      shiftedExp[c]', replace: '    for (let c = 0; c < Math.min(classes, 64); c++) {\n      shiftedExp[c]' }],
    closedBy: 'many-classes',
  },
  {
    id: 'ce-log-of-softmax',
    description: 'cross-entropy takes log(softmax) instead of log_softmax: 0·log 0 = NaN where the softmax underflows',
    file: CE,
    edits: [{ find: '  const ls = rows.logSoftmax.data;', replace: '  const ls = rows.softmax.data.map(Math.log);' }],
    closedBy: 'ce-prob-edge-rows',
  },
  {
    id: 'ce-prob-mean-skips-zero-rows',
    description: 'probability targets, mean: divides by the rows with some target mass instead of B',
    file: CE,
    edits: [{ find: "  if (target.kind !== 'class_indices') divisor = batch;", replace: "  if (target.kind !== 'class_indices') divisor = Array.from({ length: batch }, (_, b) => b).filter((b) => rowWeights(spec, target, b, classes, dtype).some((q) => q !== 0)).length;" }],
    closedBy: 'ce-prob-edge-rows',
  },
  {
    id: 'ce-weighted-mean-distinct-classes',
    description: 'mean divides by the total weight of the distinct target classes, not of every row',
    file: CE,
    edits: [
      { find: '  let divisor = 0;', replace: '  let divisor = 0;\n  const seen = new Set<number>();' },
      { find: '      divisor = round(divisor + weight(y));', replace: '      if (!seen.has(y)) divisor = round(divisor + weight(y));\n      seen.add(y);' },
    ],
  },
  {
    id: 'relu-epsilon-threshold',
    description: 'ReLU keeps only z > 1e-6 (an epsilon guard), forward and backward',
    file: RELU,
    edits: [
      { find: '(v <= 0 ? 0 : v)', replace: '(v <= 1e-6 ? 0 : v)' },
      { find: '(z.data[i]! <= 0 ? 0 : g)', replace: '(z.data[i]! <= 1e-6 ? 0 : g)' },
    ],
    closedBy: 'near-kink-subnormal',
  },
  {
    id: 'relu-mask-from-first-row',
    description: 'ReLU backward takes every row\'s mask from the first row',
    file: RELU,
    edits: [{ find: '(z.data[i]! <= 0 ? 0 : g)', replace: '(z.data[i % (z.shape[1] ?? 1)]! <= 0 ? 0 : g)' }],
  },
  {
    id: 'hardtanh-gradient-at-bounds-inclusive',
    description: 'Hardtanh/ReLU6 backward passes the gradient at min and max themselves (min ≤ x ≤ max)',
    file: op('hardtanh'),
    edits: [{ find: '() => g, true), true);', replace: '() => g));' }],
    closedBy: 'hardtanh-at-bounds',
  },
  {
    id: 'elu-slope-1-at-0',
    description: 'ELU backward takes the x ≥ 0 branch at exactly 0 (slope 1 instead of α)',
    file: op('elu'),
    edits: [{ find: "() => a.mul(a.mul(g, a.c(spec.alpha)), a.fn('exp', x)))", replace: "() => a.mul(a.mul(g, a.c(spec.alpha)), a.fn('exp', x)), true)" }],
    closedBy: 'elu-at-zero-f64',
  },
  // --- float32 semantics: more accurate than float32, which no bound sees ---
  {
    id: 'log-softmax-sum-in-float64',
    description: 'float32 log_softmax accumulates Σ exp in float64',
    file: LOG_SOFTMAX,
    edits: [{ find: '      s = round(s + shiftedExp[c]!);', replace: '      s = s + shiftedExp[c]!;' }],
  },
  {
    id: 'log-softmax-backward-exp-unrounded',
    description: 'float32 log_softmax backward multiplies an unrounded exp(y) by Σg',
    file: LOG_SOFTMAX,
    edits: [{ find: 'round(round(Math.exp(out.data[i]!)) * sum)', replace: 'round(Math.exp(out.data[i]!) * sum)' }],
  },
  {
    id: 'ce-backward-mass-in-float64',
    description: 'float32 cross-entropy backward sums the target mass Σq in float64',
    file: CE,
    edits: [{ find: '    for (const v of q) mass = round(mass + v);', replace: '    for (const v of q) mass = mass + v;' }],
  },
  {
    id: 'batch-reduction-in-float64',
    description: 'float32 losses sum over the batch in float64',
    file: 'src/ops/reduction.ts',
    edits: [{ find: '  for (const v of values.data) total = round(total + v);', replace: '  for (const v of values.data) total = total + v;' }],
  },
  {
    id: 'elementwise-formulas-in-float64',
    description: 'float32 activations computed in float64 and rounded once when stored',
    file: op('elementwise'),
    edits: [{ find: '    forward(spec, input, _params, dtype) {\n      const a = valueArith(dtype);', replace: "    forward(spec, input, _params, dtype) {\n      const a = valueArith(dtype === 'float32' ? 'float64' : dtype);" }],
  },
  {
    id: 'float32-run-keeps-float64-x',
    description: 'a float32 run of a float64 case uses x unrounded',
    file: SEQUENTIAL,
    edits: [{ find: 'return { x: cast(inputs.x, dtype), target, params', replace: 'return { x: inputs.x, target, params' }],
  },
  // --- the example models' TS implementations (examples/models/) ---
  {
    id: 'layernorm-backward-drops-projection',
    description: 'LayerNorm backward forgets the −x̂·mean(g·x̂) term of its input gradient',
    file: 'examples/models/residualLayerNormGelu.ts',
    edits: [{ find: 'const inner = r(r(g - meanG) - r(xhat[at(row, k)]! * meanGX));', replace: 'const inner = r(g - meanG);' }],
    closedBy: 'residual-layernorm-gelu',
  },
  {
    id: 'embedding-grad-overwrites-repeats',
    description: 'Embedding backward writes each token\'s gradient instead of adding it: a repeated token keeps its last occurrence only',
    file: 'examples/models/embeddingBagMean.ts',
    edits: [{ find: 'dTable[token * width + k] = r(dTable[token * width + k]! + r(dPooled[b * width + k]! / steps));', replace: 'dTable[token * width + k] = r(dPooled[b * width + k]! / steps);' }],
    closedBy: 'embedding-bag-mean',
  },
  {
    id: 'rnn-backprop-one-step',
    description: 'RNN backward through time stops after one step: the gradient is not passed on through h_{t−1}',
    file: 'examples/models/tanhRnn.ts',
    edits: [{ find: '    dh = dPrev;', replace: '    dh = new Array<number>(batch * hidden).fill(0);' }],
    closedBy: 'tanh-rnn-unrolled',
  },
  {
    id: 'attention-softmax-backward-drops-sum',
    description: 'attention\'s softmax backward forgets the −Σ a·∂a term: ds = a·∂a',
    file: 'examples/models/causalSelfAttention.ts',
    edits: [{ find: 'const ds = r(r(a(j) * r(da[j]! - inner)) / scale);', replace: 'const ds = r(r(a(j) * da[j]!) / scale);' }],
    closedBy: 'causal-self-attention',
  },
  {
    id: 'avg-pool-backward-not-divided',
    description: 'average pooling\'s backward passes the window\'s whole gradient to each of its 4 inputs (the 1/4 forgotten)',
    file: 'examples/models/smallCnn.ts',
    edits: [{ find: 'dz[zAt] = z[zAt]! <= 0 ? 0 : r(dPooled[b * features + (o * po + (i >> 1)) * qo + (j >> 1)]! / 4);', replace: 'dz[zAt] = z[zAt]! <= 0 ? 0 : dPooled[b * features + (o * po + (i >> 1)) * qo + (j >> 1)]!;' }],
    closedBy: 'small-cnn',
  },
  {
    id: 'function-input-grad-drops-factor',
    description: 'the gradient of an input of a plain function forgets its partner factor: ∂(t·y)/∂y taken as 1, not t',
    file: 'examples/models/functionTanhBilinear.ts',
    edits: [{ find: 'const dy = t.map((v, i) => r(dOut[Math.floor(i / outs)]! * v));', replace: 'const dy = t.map((_v, i) => dOut[Math.floor(i / outs)]!);' }],
    closedBy: 'function-tanh-bilinear',
  },
  {
    id: 'max-pool-backward-averaged',
    description: 'max pooling\'s backward divides the gradient by the window size, as if it were an average',
    file: 'examples/models/smallCnn.ts',
    edits: [{ find: 'picked.forEach((w, at) => (dz[w] = z[w]! <= 0 ? 0 : dPooled[at]!));', replace: 'picked.forEach((w, at) => (dz[w] = z[w]! <= 0 ? 0 : r(dPooled[at]! / 4)));' }],
    closedBy: 'maxpool-cnn',
  },
  {
    id: 'padded-average-pool-backward-divides-by-inside',
    description: 'padded average pooling\'s backward divides a border window\'s gradient by the elements inside it, not by the 9 the forward divided by (count_include_pad)',
    file: 'examples/models/stridedGroupedCnn.ts',
    edits: [{ find: 'window.forEach((i) => (dz2[i] = r(dz2[i]! + r(dPooled[o]! / 9)))));', replace: 'window.forEach((i) => (dz2[i] = r(dz2[i]! + r(dPooled[o]! / window.length)))));' }],
    closedBy: 'strided-grouped-cnn',
  },
];
