import { tensor, type Tensor } from '../tensor/tensor.ts';
import { crossEntropy, type CrossEntropySpec } from './crossEntropy.ts';
import { erf } from './erf.ts';
import { linearBackward, linearForward } from './linear.ts';
import { logSoftmax, logSoftmaxRows } from './logSoftmax.ts';
import { nllLoss, type NllLossSpec } from './nllLoss.ts';
import { reduce } from './reduction.ts';
import { LOSS_OPS, MODULE_OPS } from './registry.ts';
import { valueArith, type Arith, type Elementary } from './scalar.ts';
import type { LossOp, ModuleOp, Target } from './types.ts';

// Note [Checking float32 emulation]
// "float32" promises that every operation of the forward and backward passes is rounded to
// float32, in the order the kernel documents. An implementation that skips a rounding (keeps a
// sum, a product or an exp in float64) is *more* accurate, so no bound-based oracle can tell: its
// results stay well inside every float32 bound. This module can, three ways:
// - witnesses: inputs where one skipped rounding shows, with the value derived by hand. With
//   t = 0.75 · 2⁻²⁴ (three quarters of half an ulp of 1), 1 + t + t rounded after every addition
//   is 1, but rounded once at the end it is 1 + 2⁻²³; and (1 + 2⁻²³)² − (1 + 2⁻²²) is 0 when
//   the product is rounded first, 2⁻⁴⁶ when it is not. The linear kernels and Arith's
//   primitives are held to these.
// - restatements: each hand-written kernel (log_softmax, its backward, cross-entropy, NLL, the
//   reductions) restated here in the plainest form, one Math.fround per operation, and compared
//   bit for bit on seeded random inputs. A skipped, added or reordered rounding changes some bit
//   of some output among hundreds; the mutants catalogue plants such changes to prove it.
// - formulas: an elementwise op runs its formula (Note [Elementwise ops as formulas]) under
//   Arith; here it runs again under an independently written float32 arithmetic, and wherever
//   the formula rounds inexactly twice or more, its float32 result must differ somewhere on the
//   grid from the float64 result rounded once (else the float32 path is float64 in disguise).

const f = Math.fround;
const T = 0.75 * 2 ** -24;
const E = 2 ** -23;

/** One comparison: what is checked, what the code under test gave, and what float32 semantics gives. */
export type Check = readonly [what: string, got: ArrayLike<number>, want: ArrayLike<number>];

/** A deterministic stream in [−1, 1): xorshift32, so that the inputs need no file and no library. */
function stream(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 31 - 1;
  };
}

/** `n` float32 values drawn from `next`, scaled. */
const draw = (next: () => number, n: number, scale: number) => Array.from({ length: n }, () => f(scale * next()));
const f32 = (shape: number[], values: ArrayLike<number>) => tensor('float32', shape, values);

// --- witnesses ---

function linearWitnesses(): Check[] {
  const checks: Check[] = [
    ['linear forward Σ (1, t, t)', linearForward(f32([1, 3], [1, T, T]), f32([1, 3], [1, 1, 1]), null, 'float32').data, [1]],
    ['linear forward Σ (1, t) + bias t', linearForward(f32([1, 2], [1, T]), f32([1, 2], [1, 1]), f32([1], [T]), 'float32').data, [1]],
    ['linear forward product rounding', linearForward(f32([1, 2], [1 + E, 1]), f32([1, 2], [1 + E, -(1 + 2 * E)]), null, 'float32').data, [0]],
  ];
  const column = linearBackward(f32([3, 1], [1, T, T]), f32([3, 1], [1, 1, 1]), f32([1, 1], [1]), true, 'float32');
  checks.push(['linear weight gradient Σ_b (1, t, t)', column.weight.data, [1]], ['linear bias gradient Σ_b (1, t, t)', column.bias!.data, [1]]);
  const row = linearBackward(f32([1, 3], [1, T, T]), f32([1, 1], [1]), f32([3, 1], [1, 1, 1]), false, 'float32');
  checks.push(['linear input gradient Σ_j (1, t, t)', row.input.data, [1]]);
  return checks;
}

function arithWitnesses(): Check[] {
  const a = valueArith('float32');
  return [
    ['Arith add rounds each sum', [a.add(a.add(1, T), T)], [1]],
    ['Arith sub rounds each difference', [a.sub(a.sub(1, -T), -T)], [1]],
    ['Arith mul rounds the product', [a.sub(a.mul(1 + E, 1 + E), 1 + 2 * E)], [0]],
    ['Arith div rounds the quotient', [a.div(1, 3)], [f(1 / 3)]],
    ['Arith fn rounds exp', [a.fn('exp', 1)], [f(Math.E)]],
    ['Arith c holds constants in float32', [a.c(0.1)], [f(0.1)]],
    // x = fl32(0.1) lies above the binary64 0.1 but not above its float32 rounding.
    ['Arith select holds its threshold in float32', [a.select(f(0.1), 0.1, () => 1, () => 0)], [0]],
  ];
}

// --- restatements of the hand-written kernels, one Math.fround per operation ---

/** Row-wise log_softmax and softmax as src/ops/logSoftmax.ts documents them. */
function logSoftmaxStated(logits: readonly number[], classes: number): { ls: number[]; softmax: number[] } {
  const ls: number[] = [];
  const softmax: number[] = [];
  for (let row = 0; row < logits.length; row += classes) {
    const z = logits.slice(row, row + classes);
    const m = Math.max(...z);
    const e = z.map((v) => f(Math.exp(f(v - m))));
    let s = 0;
    for (const v of e) s = f(s + v);
    const lse = f(Math.log(s));
    ls.push(...z.map((v) => f(f(v - m) - lse)));
    softmax.push(...e.map((v) => f(v / s)));
  }
  return { ls, softmax };
}

const sumInOrder = (values: readonly number[]) => values.reduce((acc, v) => f(acc + v), 0);

/** cross_entropy's loss and ∂/∂logits as src/ops/crossEntropy.ts documents them. */
function crossEntropyStated(logits: readonly number[], classes: number, target: Target, spec: CrossEntropySpec, lossGrad: readonly number[] | null) {
  const { ls, softmax } = logSoftmaxStated(logits, classes);
  const batch = logits.length / classes;
  const eps = spec.labelSmoothing ?? 0;
  const [keep, spread] = [f(1 - eps), f(eps / classes)];
  const w = (c: number) => (spec.weight === undefined ? 1 : f(spec.weight[c]!));
  const ignored = (b: number) => target.kind === 'class_indices' && target.indices[b] === spec.ignoreIndex;
  // The effective target weights q of each row, and the mean's divisor.
  const q = (b: number): number[] =>
    Array.from({ length: classes }, (_, c) => {
      if (target.kind === 'class_indices') {
        const y = target.indices[b]!;
        if (ignored(b)) return 0;
        const own = c === y ? f(keep * w(y)) : 0;
        return eps > 0 ? f(own + f(spread * w(c))) : own;
      }
      const p = target.kind === 'probabilities' ? target.probs.data[b * classes + c]! : 0;
      const smoothed = eps > 0 ? f(f(p * keep) + spread) : p;
      return spec.weight === undefined ? smoothed : f(smoothed * w(c));
    });
  const rows = Array.from({ length: batch }, (_, b) => b);
  const divisor = target.kind === 'class_indices' ? sumInOrder(rows.filter((b) => !ignored(b)).map((b) => w(target.indices[b]!))) : batch;
  const reduced = (values: number[]) => (spec.reduction === 'mean' ? [f(sumInOrder(values) / divisor)] : spec.reduction === 'sum' ? [sumInOrder(values)] : values);
  let loss: number[];
  if (target.kind === 'class_indices') {
    const nll = rows.map((b) => (ignored(b) ? 0 : -(spec.weight === undefined ? ls[b * classes + target.indices[b]!]! : f(w(target.indices[b]!) * ls[b * classes + target.indices[b]!]!))));
    const smooth = rows.map((b) => (ignored(b) || eps === 0 ? 0 : -sumInOrder(Array.from({ length: classes }, (_, c) => (spec.weight === undefined ? ls[b * classes + c]! : f(ls[b * classes + c]! * w(c)))))));
    const [rn, rs] = [reduced(nll), reduced(smooth)];
    loss = eps > 0 ? rn.map((v, i) => f(f(keep * v) + f(rs[i]! * spread))) : rn;
  } else {
    loss = reduced(rows.map((b) => -sumInOrder(q(b).map((qc, c) => f(ls[b * classes + c]! * qc)))));
  }
  const dLogits = rows.flatMap((b) => {
    const qb = q(b);
    const mass = sumInOrder(qb);
    return qb.map((qc, c) => {
      const g = f(f(softmax[b * classes + c]! * mass) - qc);
      return spec.reduction === 'mean' ? f(g / divisor) : spec.reduction === 'none' ? f(g * lossGrad![b]!) : g;
    });
  });
  return { loss, dLogits };
}

function logSoftmaxRestated(next: () => number): Check[] {
  const [batch, classes] = [16, 7];
  const logits = draw(next, batch * classes, 6);
  const rows = logSoftmaxRows(f32([batch, classes], logits), 'float32');
  const stated = logSoftmaxStated(logits, classes);
  const dOut = draw(next, batch * classes, 1);
  const dInput = logSoftmax.backward({ op: 'log_softmax' }, f32([batch, classes], dOut), f32([batch, classes], logits), rows.logSoftmax, {}, 'float32').dInput;
  // ∂θ_c = g_c − exp(y_c)·Σ_k g_k, as torch's _log_softmax_backward_data.
  const backwardStated = dOut.map((g, i) => {
    const row = Math.floor(i / classes) * classes;
    return f(g - f(f(Math.exp(stated.ls[i]!)) * sumInOrder(dOut.slice(row, row + classes))));
  });
  return [
    ['log_softmax: shift, exp, Σ exp, log and difference', rows.logSoftmax.data, stated.ls],
    ['softmax: exp(θ − m)/Σ exp', rows.softmax.data, stated.softmax],
    ['log_softmax backward: Σg, exp(y)·Σg and the difference', dInput.data, backwardStated],
  ];
}

function crossEntropyRestated(next: () => number): Check[] {
  const [batch, classes] = [12, 5];
  const checks: Check[] = [];
  const weight = [0.3, 1.7, 0.9, 2.1, 1.3];
  const indices = Int32Array.from({ length: batch }, (_, b) => (b === 4 ? -100 : Math.floor((next() + 1) * classes / 2) % classes));
  const probs = draw(next, batch * classes, 0.5).map((v) => f(Math.abs(v)));
  const lossGrad = draw(next, batch, 1);
  const configs: [string, CrossEntropySpec, Target][] = [
    ['class indices, weight, smoothing, ignore_index, mean', { op: 'cross_entropy', target: 'class_indices', reduction: 'mean', weight, ignoreIndex: -100, labelSmoothing: 0.1 }, { kind: 'class_indices', indices }],
    ['class indices, none', { op: 'cross_entropy', target: 'class_indices', reduction: 'none', ignoreIndex: -100 }, { kind: 'class_indices', indices }],
    ['probabilities, weight, smoothing, sum', { op: 'cross_entropy', target: 'probabilities', reduction: 'sum', weight, labelSmoothing: 0.1 }, { kind: 'probabilities', probs: f32([batch, classes], probs) }],
    ['probabilities, mean', { op: 'cross_entropy', target: 'probabilities', reduction: 'mean' }, { kind: 'probabilities', probs: f32([batch, classes], probs) }],
  ];
  for (const [name, spec, target] of configs) {
    const logits = draw(next, batch * classes, 4);
    const t = f32([batch, classes], logits);
    const grad = spec.reduction === 'none' ? f32([batch], lossGrad) : null;
    const { loss, saved } = crossEntropy.forward(spec, t, target, 'float32');
    const dLogits = crossEntropy.backward(spec, t, target, saved, grad, 'float32');
    const stated = crossEntropyStated(logits, classes, target, spec, spec.reduction === 'none' ? lossGrad : null);
    checks.push([`cross_entropy (${name}): loss`, loss.data, stated.loss], [`cross_entropy (${name}): ∂/∂logits`, dLogits.data, stated.dLogits]);
  }
  return checks;
}

function nllRestated(next: () => number): Check[] {
  const [batch, classes] = [12, 5];
  const spec: NllLossSpec = { op: 'nll_loss', reduction: 'mean', weight: [0.3, 1.7, 0.9, 2.1, 1.3], ignoreIndex: 1 };
  const logits = draw(next, batch * classes, 4);
  const indices = Int32Array.from({ length: batch }, (_, b) => b % classes);
  const target: Target = { kind: 'class_indices', indices };
  const { loss, saved } = nllLoss.forward(spec, f32([batch, classes], logits), target, 'float32');
  const dLogits = nllLoss.backward(spec, f32([batch, classes], logits), target, saved, null, 'float32');
  const w = (c: number) => f(spec.weight![c]!);
  const kept = Array.from({ length: batch }, (_, b) => b).filter((b) => indices[b] !== spec.ignoreIndex);
  const divisor = sumInOrder(kept.map((b) => w(indices[b]!)));
  const rows = Array.from({ length: batch }, (_, b) => (kept.includes(b) ? -f(w(indices[b]!) * logits[b * classes + indices[b]!]!) : 0));
  const grads = new Array<number>(batch * classes).fill(0);
  for (const b of kept) grads[b * classes + indices[b]!] = f(w(indices[b]!) * -f(1 / divisor));
  return [
    ['nll_loss (weight, ignore_index, mean): loss', loss.data, [f(sumInOrder(rows) / divisor)]],
    ['nll_loss (weight, ignore_index, mean): ∂/∂input', dLogits.data, grads],
  ];
}

function reductionRestated(next: () => number): Check[] {
  const values = draw(next, 64, 3);
  const t = f32([64], values);
  return [
    ['the batch reduction: sum', reduce(t, 'sum', 64, 'float32').data, [sumInOrder(values)]],
    ['the batch reduction: mean', reduce(t, 'mean', 37, 'float32').data, [f(sumInOrder(values) / 37)]],
  ];
}

// --- elementwise formulas ---

const ELEMENTARY: Readonly<Record<Elementary, (x: number) => number>> = { exp: Math.exp, log: Math.log, log1p: Math.log1p, tanh: Math.tanh, erf };

/** float32 arithmetic written independently of valueArith, counting the roundings that changed a value. */
function countingFloat32(): { a: Arith<number>; inexact: { n: number } } {
  const inexact = { n: 0 };
  const round = (v: number) => {
    const r = f(v);
    if (r !== v && !Number.isNaN(v)) inexact.n++;
    return r;
  };
  const a: Arith<number> = {
    c: round,
    add: (x, y) => round(x + y),
    sub: (x, y) => round(x - y),
    mul: (x, y) => round(x * y),
    div: (x, y) => round(x / y),
    neg: (x) => -x,
    fn: (name, x) => round(ELEMENTARY[name](x)),
    select: (x, t, above, below, orEqual = false) => ((orEqual ? x >= f(t) : x > f(t)) ? above() : below()),
    valueOf: (x) => x,
  };
  return { a, inexact };
}

/**
 * Runs a formula element by element under the counting float32 arithmetic: the values, and
 * whether some element needed two or more inexact roundings.
 */
function underFloat32(n: number, formula: (a: Arith<number>, i: number) => number): { values: number[]; twice: boolean } {
  const { a, inexact } = countingFloat32();
  let twice = false;
  const values = Array.from({ length: n }, (_, i) => {
    inexact.n = 0;
    const v = formula(a, i);
    twice ||= inexact.n >= 2;
    return v;
  });
  return { values, twice };
}

/** The two checks of one formula: rounded like the formula says, and not float64 rounded once. */
function formulaChecks(what: string, got: Tensor, inFloat64: Tensor, stated: { values: number[]; twice: boolean }): Check[] {
  const checks: Check[] = [[`${what} in float32`, got.data, stated.values]];
  if (stated.twice) {
    const differs = Array.from(got.data).some((v, i) => !Object.is(v, f(inFloat64.data[i]!)));
    checks.push([`${what} is not its float64 value rounded once`, [differs ? 1 : 0], [1]]);
  }
  return checks;
}

/**
 * The elementwise module specs the formulas run with: every field an op has, at values whose
 * constants round in float32 (0.01, 1.3) so that holding them in float64 would show.
 */
const MODULE_SPECS: Readonly<Record<string, readonly object[]>> = {
  tanh: [{}],
  sigmoid: [{}],
  gelu: [{ approximate: 'none' }, { approximate: 'tanh' }],
  leaky_relu: [{ negativeSlope: 0.01 }],
  silu: [{}],
  softplus: [{ beta: 1.3, threshold: 7 }],
  elu: [{ alpha: 1.3 }],
  hardtanh: [{ min: -1.1, max: 0.7 }],
  relu6: [{}],
};

function elementwiseFormulas(next: () => number): Check[] {
  const n = 401;
  // Inputs across every op's interesting range (tails, thresholds, 0), gradients of mixed sizes.
  const xs = Array.from({ length: n }, (_, i) => f(-24 + (48 * i) / (n - 1) + 0.01 * next()));
  const gs = draw(next, n, 2);
  const ys = draw(next, n, 1).map((v) => f(Math.abs(v)));
  const as = (dtype: 'float32' | 'float64', values: readonly number[]) => tensor(dtype, [1, n], values);
  const checks: Check[] = [];
  for (const op of MODULE_OPS as readonly ModuleOp<any>[]) {
    const formula = op.formula;
    if (formula === undefined) continue;
    const specs = MODULE_SPECS[op.name];
    if (specs === undefined) {
      checks.push([`${op.name}: an elementwise op without specs in MODULE_SPECS (src/ops/float32Semantics.ts) is unchecked`, [0], [1]]);
      continue;
    }
    for (const fields of specs) {
      const spec = op.schema.parse({ op: op.name, ...fields });
      const [x32, x64] = [as('float32', xs), as('float64', xs)];
      const [y32, y64] = [op.forward(spec, x32, {}, 'float32'), op.forward(spec, x64, {}, 'float64')];
      const label = `${op.name}${Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : ''}`;
      checks.push(...formulaChecks(`${label} forward`, y32, y64, underFloat32(n, (a, i) => formula.forward(a, xs[i]!, spec))));
      const d32 = op.backward(spec, as('float32', gs), x32, y32, {}, 'float32').dInput;
      const d64 = op.backward(spec, as('float64', gs), x64, y64, {}, 'float64').dInput;
      checks.push(...formulaChecks(`${label} backward`, d32, d64, underFloat32(n, (a, i) => formula.backward(a, xs[i]!, y32.data[i]!, gs[i]!, spec))));
    }
  }
  for (const op of LOSS_OPS as readonly LossOp<any, any>[]) {
    const formula = op.formula;
    if (formula === undefined) continue;
    const spec = op.schema.parse({ op: op.name, reduction: 'none' });
    const kind = op.targetLayout(spec, 1, n).kind;
    const targetOf = (dtype: 'float32' | 'float64'): Target => (kind === 'values' ? { kind, values: as(dtype, gs) } : { kind: 'probabilities', probs: as(dtype, ys) });
    const y = kind === 'values' ? gs : ys;
    const run = (dtype: 'float32' | 'float64') => {
      const logits = as(dtype, xs);
      const { loss, saved } = op.forward(spec, logits, targetOf(dtype), dtype);
      return { loss, dLogits: op.backward(spec, logits, targetOf(dtype), saved, as(dtype, gs.map((g) => f(g * 0.75))), dtype) };
    };
    const [r32, r64] = [run('float32'), run('float64')];
    checks.push(...formulaChecks(`${op.name} forward`, r32.loss, r64.loss, underFloat32(n, (a, i) => formula.forward(a, xs[i]!, y[i]!, spec, i))));
    checks.push(...formulaChecks(`${op.name} backward`, r32.dLogits, r64.dLogits, underFloat32(n, (a, i) => formula.backward(a, xs[i]!, y[i]!, f(gs[i]! * 0.75), null, spec, i))));
  }
  return checks;
}

/** Every float32 check of the ops: witnesses, restated kernels and formulas, each named after its op. */
export function opFloat32Checks(): Check[] {
  const next = stream(0x9e3779b9);
  return [...linearWitnesses(), ...arithWitnesses(), ...logSoftmaxRestated(next), ...crossEntropyRestated(next), ...nllRestated(next), ...reductionRestated(next), ...elementwiseFormulas(next)];
}

/** A line per check whose values differ in any bit (or in length): the first differing element. */
export function violations(checks: readonly Check[]): string[] {
  return checks.flatMap(([what, got, want]) => {
    if (got.length !== want.length) return [`float32 ${what}: ${got.length} values, expected ${want.length}`];
    const i = Array.from(got).findIndex((v, k) => !Object.is(v, want[k]));
    return i < 0 ? [] : [`float32 ${what}: element ${i} is ${got[i]}, float32 semantics gives ${want[i]}: a rounding was skipped, added or moved`];
  });
}
