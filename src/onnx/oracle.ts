import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type * as Ort from 'onnxruntime-node';
import { InputError } from '../errors.ts';
import type { GoldenCase } from '../golden/load.ts';
import { floatTarget } from '../ops/types.ts';
import type { Results, TensorKey } from '../results/keys.ts';
import type { DType } from '../tensor/dtype.ts';
import { sameShape, type Tensor } from '../tensor/tensor.ts';

/** The command that installs the optional peer dependency, without the CUDA download its install script would try. */
export const ONNXRUNTIME_INSTALL = 'npm install --save-dev onnxruntime-node --onnxruntime-node-install=skip';

/** The ONNX oracle was asked for, but onnxruntime-node (an optional peer dependency) is not installed. */
export class OnnxRuntimeMissing extends Error {
  override name = 'OnnxRuntimeMissing';
  constructor() {
    super(`the ONNX oracle needs onnxruntime-node, which is not installed; install it with: ${ONNXRUNTIME_INSTALL}`);
  }
}

/**
 * onnxruntime-node is installed but has no kernel for an op of the graph in its precision (its
 * CPU provider has no float64 Erf, for one). The graph is valid; this oracle cannot run it.
 */
export class OnnxKernelMissing extends Error {
  override name = 'OnnxKernelMissing';
  readonly op: string;

  constructor(graph: string, op: string, dtype: string) {
    super(`onnxruntime's CPU provider has no ${dtype} kernel for ${op}, which ${graph} needs`);
    this.op = op;
  }
}

let runtime: Promise<typeof Ort> | undefined;

/**
 * onnxruntime-node, loaded on first use. It is an optional peer dependency: installing gradparity
 * does not pull in its hundreds of megabytes, and only the ONNX oracle needs it.
 */
export function loadOnnxRuntime(): Promise<typeof Ort> {
  runtime ??= import('onnxruntime-node').catch((err: NodeJS.ErrnoException) => {
    runtime = undefined;
    // Only the package itself missing; a broken install of it is reported as what it is.
    throw err.code === 'ERR_MODULE_NOT_FOUND' && err.message.includes("Cannot find package 'onnxruntime-node'") ? new OnnxRuntimeMissing() : err;
  });
  return runtime;
}

/**
 * Session options, pinned so that a graph computes the same bits on every run:
 * - the CPU provider: the one onnxruntime-node ships, and the one every machine has;
 * - one intra-op and one inter-op thread: parallel kernels split reductions by thread count,
 *   which would make the summation order (and so the rounding) depend on the machine;
 * - optimisations disabled: the oracle is the graph autograd produced, not a fused rewrite of it
 *   (Gemm+Relu fusion and friends change where results are rounded).
 */
export const SESSION_OPTIONS: Ort.InferenceSession.SessionOptions = {
  executionProviders: ['cpu'],
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'disabled',
  logSeverityLevel: 3,
};

/** Reads a golden's graph, checks its SHA-256 against the golden, and creates a pinned session. */
async function loadSession(golden: GoldenCase): Promise<Ort.InferenceSession> {
  const ort = await loadOnnxRuntime();
  const { path, sha256 } = golden.onnx;
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new InputError(path, null, `cannot read the ONNX graph of ${golden.file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== sha256) {
    throw new InputError(path, null, `SHA-256 is ${actual}, but ${golden.file} records ${sha256}: the graph changed after it was exported`);
  }
  try {
    return await ort.InferenceSession.create(bytes, SESSION_OPTIONS);
  } catch (err) {
    const missing = /Could not find an implementation for (\w+)\(\d+\) node/.exec((err as Error).message);
    if (missing !== null) throw new OnnxKernelMissing(path, missing[1]!, golden.onnx.dtype);
    throw new InputError(path, null, `onnxruntime cannot load the graph: ${(err as Error).message}`);
  }
}

/** A golden's graph, ready to run on that golden's inputs. */
export class OnnxOracle {
  readonly golden: GoldenCase;
  readonly dtype: DType;
  /** Shared by every oracle of the same graph file and hash (see onnxOracleFor). */
  readonly session: Ort.InferenceSession;
  private readonly ort: typeof Ort;

  private constructor(golden: GoldenCase, session: Ort.InferenceSession, ort: typeof Ort) {
    this.golden = golden;
    this.dtype = golden.onnx.dtype;
    this.session = session;
    this.ort = ort;
    this.checkSignature();
  }

  /** Loads a golden's graph in a session of its own: hash, session, inputs and outputs checked. */
  static async open(golden: GoldenCase): Promise<OnnxOracle> {
    return new OnnxOracle(golden, await loadSession(golden), await loadOnnxRuntime());
  }

  /** An oracle for `golden` on a session that is already loaded. */
  static async onSession(golden: GoldenCase, session: Ort.InferenceSession): Promise<OnnxOracle> {
    return new OnnxOracle(golden, session, await loadOnnxRuntime());
  }

  /** The graph's inputs and outputs must be the golden's tensors, with the golden's shapes and dtypes. */
  private checkSignature(): void {
    const mismatch = (what: string) => new InputError(this.golden.onnx.path, null, `${what} (golden ${this.golden.file})`);
    const expectNames = (kind: string, actual: readonly string[], expected: readonly string[]) => {
      if (actual.join() !== expected.join()) throw mismatch(`graph ${kind} are [${actual.join(', ')}], expected [${expected.join(', ')}]`);
    };
    expectNames('inputs', this.session.inputNames, this.golden.onnx.inputs);
    expectNames('outputs', this.session.outputNames, this.golden.onnx.outputs);
    const feeds = this.feeds();
    for (const meta of this.session.inputMetadata) {
      const feed = feeds[meta.name]!;
      if (!meta.isTensor) throw mismatch(`graph input ${meta.name} is not a tensor`);
      if (meta.type !== feed.type) throw mismatch(`graph input ${meta.name} is ${meta.type}, the golden's is ${feed.type}`);
      if (!sameShape(meta.shape.map(Number), feed.dims)) {
        throw mismatch(`graph input ${meta.name} has shape [${meta.shape.join(', ')}], the golden's is [${feed.dims.join(', ')}]`);
      }
    }
  }

  private feeds(): Record<string, Ort.Tensor> {
    const { inputs } = this.golden;
    const { ort } = this;
    const float = (t: Tensor) => new ort.Tensor(this.dtype, t.data, [...t.shape]);
    const floatT = floatTarget(inputs.target);
    const indices = inputs.target.kind === 'class_indices' ? inputs.target.indices : new Int32Array();
    const target = floatT !== null ? float(floatT) : new ort.Tensor('int64', BigInt64Array.from(indices, BigInt), [indices.length]);
    const params = Object.entries(inputs.params).map(([name, t]) => [name, float(t)] as const);
    const lossGrad = inputs.lossGrad === undefined ? {} : { lossGrad: float(inputs.lossGrad) };
    return { x: float(inputs.x), target, ...lossGrad, ...Object.fromEntries(params) };
  }

  /** Runs the graph on the golden's inputs; its outputs are named by the tensor keys, so they are the results. */
  async run(): Promise<Results> {
    const out = await this.session.run(this.feeds());
    const expected = this.golden.expected[this.dtype].results;
    const results = new Map<TensorKey, Tensor>();
    const fail = (why: string) => new InputError(this.golden.onnx.path, null, `${why} (golden ${this.golden.file})`);
    for (const [key, like] of expected) {
      const value = out[key];
      if (value === undefined) throw fail(`graph produced no output ${key}`);
      if (value.type !== this.dtype) throw fail(`output ${key} is ${value.type}, expected ${this.dtype}`);
      const shape = value.dims.map(Number);
      if (!sameShape(shape, like.shape)) throw fail(`output ${key} has shape [${shape.join(', ')}], expected [${like.shape.join(', ')}]`);
      results.set(key, { shape, data: value.data as Float32Array | Float64Array });
    }
    return results;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

const sessions = new Map<string, Promise<Ort.InferenceSession>>();

/**
 * The oracle of a golden's graph. Sessions are created once per graph file and hash for the whole
 * process; each oracle feeds its own golden's inputs.
 */
export async function onnxOracleFor(golden: GoldenCase): Promise<OnnxOracle> {
  const key = `${golden.onnx.path}#${golden.onnx.sha256}`;
  let session = sessions.get(key);
  if (session === undefined) {
    session = loadSession(golden);
    sessions.set(key, session);
    // A failed load is not cached: the next call reports the error afresh.
    session.catch(() => sessions.delete(key));
  }
  return OnnxOracle.onSession(golden, await session);
}
