import { lossOp, moduleOp } from '../ops/registry.ts';
import { branchFingerprint, forward, moduleParams, objectiveOf, type ForwardTrace, type ModelInputs } from '../model/sequential.ts';
import type { ModelSpec } from '../model/spec.ts';
import type { DType, FloatArray } from '../tensor/dtype.ts';
import { allocate } from '../tensor/dtype.ts';
import { cast, type Tensor } from '../tensor/tensor.ts';
import type { Evaluation } from './engine.ts';

// Note [Re-evaluating only what a perturbation changes]
// Finite differences move one element at a time, and one element reaches little of the model:
// x[b, j] changes row b only (every module of a Sequential maps rows independently), and an
// element of module k's parameters leaves modules before k untouched and, for a Linear, changes
// one column of its output. Downstream, a row whose values came out bit-identical to the
// unperturbed run's (a ReLU that stayed closed) drops out. So each perturbed evaluation runs the
// modules' own forward kernels on just the rows that changed, from the unperturbed run's values,
// and the loss on the logits with those rows replaced. Every value is computed by the same kernel
// in the same order as a full forward pass, so the loss is bit-identical to one (the tests check
// it element by element); no rounding changes and no bound needs to account for anything.

/**
 * What differs from the unperturbed run after some module: whole rows [rows, width], or one
 * column of some rows (the rest of those rows is the unperturbed run's).
 */
type Change =
  | { readonly kind: 'rows'; readonly rows: number[]; readonly data: FloatArray }
  | { readonly kind: 'column'; readonly column: number; readonly rows: number[]; readonly values: FloatArray };

/** Partial sums kept for a module whose op can resume them (Linear) and whose size stays below this many values. */
const MAX_PREFIX_VALUES = 1 << 22;

export class IncrementalModel {
  private readonly spec: ModelSpec;
  private readonly dtype: DType;
  private readonly inputs: ModelInputs;
  private readonly base: ForwardTrace;
  private readonly baseBranches: string;
  private readonly baseLossBranches: string | undefined;
  private readonly widths: number[];
  /** Per module: its partial sums (ModuleOp.resume), built on first use; null where it has none. */
  private readonly prefixes: (FloatArray | null | undefined)[];
  /** Per module: its parameters by suffix, the private copies evaluate() moves. */
  private readonly moduleParams: ReturnType<typeof moduleParams<Tensor>>[];
  /** 0 … B − 1: every row. */
  private readonly everyRow: number[];
  /** How many perturbed evaluations fell back to a full forward pass (a step that crossed a kink). */
  fullPasses = 0;

  /** The model at `inputs`, rounded to `dtype` as a forward pass rounds them. */
  constructor(spec: ModelSpec, inputs: ModelInputs, dtype: DType) {
    this.spec = spec;
    this.dtype = dtype;
    this.base = forward(spec, inputs, dtype);
    // A private copy of x and the parameters: evaluate() moves one element in place and puts it back.
    const { x, params } = this.base.inputs;
    this.inputs = { ...this.base.inputs, x: cast(x, dtype), params: Object.fromEntries(Object.entries(params).map(([n, t]) => [n, cast(t, dtype)])) };
    this.baseBranches = branchFingerprint(this.base);
    this.baseLossBranches = lossOp(spec.loss).branches?.(spec.loss, this.base.logits, this.base.inputs.target);
    this.widths = [x.shape[1] ?? 0, ...this.base.modules.map((m) => m.out.shape[1] ?? 0)];
    this.prefixes = spec.modules.map(() => undefined);
    this.moduleParams = spec.modules.map((_, k) => moduleParams(this.inputs.params, k));
    this.everyRow = Array.from({ length: x.shape[0] ?? 0 }, (_, b) => b);
  }

  /** The unperturbed evaluation. */
  baseEvaluation(): Evaluation {
    return { value: this.base.objective, branches: this.baseBranches };
  }

  /**
   * The objective with element `i` of `name` (x or a parameter) set to `value`: bit-identical to a
   * full forward pass at that point. Its branches are the unperturbed string itself when no
   * branching module changed piece, and the full fingerprint otherwise.
   */
  evaluate(name: string, i: number, value: number): Evaluation {
    const moved = name === 'x' ? this.inputs.x : this.inputs.params[name];
    if (moved === undefined) throw new RangeError(`${name} is not an input of this model`);
    const original = moved.data[i]!;
    moved.data[i] = value;
    try {
      const change = this.changedLogits(name, i, moved.data[i]!);
      if (change === 'crossed') return this.fullPass();
      if (change === null) return this.baseEvaluation();
      return this.lossWith(change);
    } finally {
      moved.data[i] = original;
    }
  }

  private fullPass(): Evaluation {
    this.fullPasses++;
    const fwd = forward(this.spec, this.inputs, this.dtype);
    return { value: fwd.objective, branches: branchFingerprint(fwd) };
  }

  /** What differs at the logits, null when nothing does, or 'crossed' when a branching module changed piece. */
  private changedLogits(name: string, i: number, value: number): Change | null | 'crossed' {
    let change: Change | null;
    let start: number;
    if (name === 'x') {
      // x[b, j]: one element of one row.
      const width = this.widths[0]!;
      change = { kind: 'column', column: i % width, rows: [Math.floor(i / width)], values: floats(this.dtype, [value]) };
      start = 0;
    } else {
      const k = Number(name.slice(0, name.indexOf('.')));
      change = this.moduleWithParameter(k, name.slice(name.indexOf('.') + 1), i);
      start = k + 1;
    }
    for (let k = start; k < this.spec.modules.length && change !== null; k++) {
      const next = this.throughModule(k, change);
      if (next === 'crossed') return next;
      change = next;
    }
    return change;
  }

  /** Module k's output given what changed in its input. */
  private throughModule(k: number, change: Change): Change | null | 'crossed' {
    const spec = this.spec.modules[k]!;
    const op = moduleOp(spec);
    if (op.piece !== undefined && !this.samePieces(k, change)) return 'crossed';
    const params = this.moduleParams[k]!;
    if (change.kind === 'column' && op.elementwise) {
      // The op maps each element alone: only the changed column's elements move.
      const out = op.forward(spec, { shape: [change.rows.length, 1], data: change.values }, params, this.dtype).data;
      return this.columnStillDifferent(k, change.column, change.rows, out);
    }
    if (change.kind === 'column') {
      const prefix = this.prefixOf(k);
      if (prefix !== null) {
        const input = this.base.modules[k]!.input;
        return this.rowsStillDifferent(k, change.rows, op.resume!.rows(spec, prefix, input, params, this.dtype, change.column, change.rows, change.values));
      }
    }
    const rows = this.rowsOf(k, change);
    return this.rowsStillDifferent(k, change.rows, op.forward(spec, { shape: [change.rows.length, this.widths[k]!], data: rows }, params, this.dtype).data);
  }

  /** Module k's partial sums, when its op keeps them and they are not too many. */
  private prefixOf(k: number): FloatArray | null {
    if (this.prefixes[k] === undefined) {
      const spec = this.spec.modules[k]!;
      const { resume } = moduleOp(spec);
      const input = this.base.modules[k]!.input;
      const size = (input.shape[0] ?? 0) * this.widths[k]! * this.widths[k + 1]!;
      this.prefixes[k] = resume === undefined || size > MAX_PREFIX_VALUES ? null : resume.prefixes(spec, input, this.moduleParams[k]!, this.dtype);
    }
    return this.prefixes[k]!;
  }

  /**
   * Module k's output with one of its parameters moved: just the column it feeds when the op can
   * compute one (Linear), else the whole output; either way only what differs.
   */
  private moduleWithParameter(k: number, suffix: string, i: number): Change | null {
    const spec = this.spec.modules[k]!;
    const op = moduleOp(spec);
    const input = this.base.modules[k]!.input;
    const params = this.moduleParams[k]!;
    const column = op.parameterColumn?.(spec, suffix, i, this.widths[k]!);
    if (column === undefined || op.forwardColumn === undefined) {
      return this.rowsStillDifferent(k, this.everyRow, op.forward(spec, input, params, this.dtype).data);
    }
    return this.columnStillDifferent(k, column, this.everyRow, op.forwardColumn(spec, input, params, this.dtype, column));
  }

  /** Of module k's freshly computed values in one column (one per entry of `rows`), those that differ from the unperturbed run's. */
  private columnStillDifferent(k: number, column: number, rows: readonly number[], values: FloatArray): Change | null {
    const width = this.widths[k + 1]!;
    const baseOut = this.base.modules[k]!.out.data;
    const kept: number[] = [];
    const keptValues = allocate(this.dtype, rows.length);
    for (let r = 0; r < rows.length; r++) {
      if (Object.is(values[r], baseOut[rows[r]! * width + column])) continue;
      keptValues[kept.length] = values[r]!;
      kept.push(rows[r]!);
    }
    return kept.length === 0 ? null : { kind: 'column', column, rows: kept, values: keptValues.subarray(0, kept.length) };
  }

  /** Of module k's freshly computed output rows (`out`, one per entry of `rows`), those that differ from the unperturbed run's. */
  private rowsStillDifferent(k: number, rows: readonly number[], out: FloatArray): Change | null {
    const width = this.widths[k + 1]!;
    const baseOut = this.base.modules[k]!.out.data;
    const differs = (r: number): boolean => {
      const [at, baseAt] = [r * width, rows[r]! * width];
      for (let j = 0; j < width; j++) if (!Object.is(out[at + j], baseOut[baseAt + j])) return true;
      return false;
    };
    const kept: number[] = [];
    const keptAt: number[] = [];
    for (let r = 0; r < rows.length; r++) {
      if (!differs(r)) continue;
      kept.push(rows[r]!);
      keptAt.push(r);
    }
    if (kept.length === 0) return null;
    // Usually every row still differs: then `out` itself is the change, with no copy.
    if (kept.length === rows.length) return { kind: 'rows', rows: kept, data: out };
    const keptData = allocate(this.dtype, kept.length * width);
    keptAt.forEach((r, q) => keptData.set(out.subarray(r * width, (r + 1) * width), q * width));
    return { kind: 'rows', rows: kept, data: keptData };
  }

  /** Whether module k's changed inputs lie on the same pieces (ModuleOp.piece) as the unperturbed run's. */
  private samePieces(k: number, change: Change): boolean {
    const spec = this.spec.modules[k]!;
    const piece = moduleOp(spec).piece!;
    const width = this.widths[k]!;
    const baseIn = this.base.modules[k]!.input.data;
    for (let r = 0; r < change.rows.length; r++) {
      const at = change.rows[r]! * width;
      if (change.kind === 'column') {
        if (piece(spec, change.values[r]!) !== piece(spec, baseIn[at + change.column]!)) return false;
        continue;
      }
      for (let j = 0; j < width; j++) if (piece(spec, change.data[r * width + j]!) !== piece(spec, baseIn[at + j]!)) return false;
    }
    return true;
  }

  /** The changed rows of module k's input in full [rows, width]. */
  private rowsOf(k: number, change: Change): FloatArray {
    if (change.kind === 'rows') return change.data;
    const width = this.widths[k]!;
    const source = this.base.modules[k]!.input.data;
    const data = allocate(this.dtype, change.rows.length * width);
    change.rows.forEach((b, r) => {
      data.set(source.subarray(b * width, (b + 1) * width), r * width);
      data[r * width + change.column] = change.values[r]!;
    });
    return data;
  }

  /** The objective from the unperturbed logits with the change put in. */
  private lossWith(change: Change): Evaluation {
    const { spec, base } = this;
    const classes = this.widths.at(-1)!;
    const logits: Tensor = { shape: base.logits.shape, data: base.logits.data.slice() };
    change.rows.forEach((b, r) => {
      if (change.kind === 'column') logits.data[b * classes + change.column] = change.values[r]!;
      else logits.data.set(change.data.subarray(r * classes, (r + 1) * classes), b * classes);
    });
    const loss = lossOp(spec.loss);
    const target = this.inputs.target;
    if (loss.branches !== undefined && loss.branches(spec.loss, logits, target) !== this.baseLossBranches) return this.fullPass();
    const value = objectiveOf(loss.forward(spec.loss, logits, target, this.dtype).loss, this.inputs.lossGrad, this.dtype);
    return { value, branches: this.baseBranches };
  }
}

function floats(dtype: DType, values: readonly number[]): FloatArray {
  const out = allocate(dtype, values.length);
  out.set(values);
  return out;
}
