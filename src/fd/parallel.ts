import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { GoldenCase } from '../golden/load.ts';
import type { DType } from '../tensor/dtype.ts';
import type { ArithmeticModel } from '../tolerance/arithmetic.ts';
import { elementChecker, elementRefs, finiteDifferenceCheck, fullReport, StepTooSmall, type ElementRef, type FdElementCheck, type FdOptions, type FdReport } from './engine.ts';
import { modelProblemData, problemFromData, type ModelProblemData } from './modelProblem.ts';

// Note [Full mode on every core]
// Elements are independent, so full mode splits them between this thread and worker threads.
// Each worker receives the problem's data (the TS run's inputs, gradient and bounds, as typed
// arrays) and builds the same problem from it (a problem holds closures, which cannot cross
// threads); the threads then take chunks of elements from one shared counter, so a
// thread that got cheap elements (a last layer's) takes more chunks instead of waiting. Every
// element is checked by the same code on the same problem in whichever thread, so the report is
// identical to a single-threaded run, element for element, in the same order.

/** Elements per chunk: small enough to balance the threads, large enough that the counter costs nothing. */
const CHUNK = 32;

/** What a worker needs: the problem's recipe, the elements, and the shared chunk counter. */
export interface WorkerTask {
  readonly problem: ModelProblemData;
  readonly options: Partial<FdOptions>;
  readonly refs: readonly ElementRef[];
  readonly counter: SharedArrayBuffer;
}

/** A worker's answer: its element checks by position in `refs`, its evaluations, and those of each tensor's pooled noise. */
export interface WorkerResult {
  readonly checks: [number, FdElementCheck][];
  readonly evaluations: number;
  readonly pooled: Map<string, number>;
}

/** Takes chunks from the shared counter until none are left, checking each chunk's elements. */
export function checkChunks(check: ReturnType<typeof elementChecker>, refs: readonly ElementRef[], counter: Int32Array): WorkerResult {
  const checks: [number, FdElementCheck][] = [];
  let evaluations = 0;
  let pooled = new Map<string, number>();
  for (let chunk = Atomics.add(counter, 0, 1); chunk * CHUNK < refs.length; chunk = Atomics.add(counter, 0, 1)) {
    const start = chunk * CHUNK;
    const part = check(refs.slice(start, start + CHUNK));
    part.elements.forEach((e, k) => checks.push([start + k, e]));
    evaluations += part.evaluations;
    pooled = part.pooled;
  }
  return { checks, evaluations, pooled };
}

/**
 * Full-mode finite differences of a golden's model on `threads` threads (default: every core),
 * the same report a single-threaded finiteDifferenceCheck gives. Other modes run here, in one thread.
 */
export async function goldenFullCheck(golden: GoldenCase, dtype: DType, options: Partial<FdOptions> = {}, threads = availableParallelism(), arithmetic?: ArithmeticModel): Promise<FdReport> {
  const data = modelProblemData(golden, dtype, undefined, arithmetic);
  const problem = problemFromData(data);
  const refs = elementRefs(problem, options);
  if ((options.mode ?? 'full') !== 'full' || threads <= 1 || refs.length <= CHUNK) return finiteDifferenceCheck(problem, options);
  const counter = new SharedArrayBuffer(4);
  const task: WorkerTask = { problem: data, options, refs, counter };
  const workers = Array.from({ length: threads - 1 }, () => runWorker(task));
  // This thread takes chunks too, while the workers start up.
  const own = checkChunks(elementChecker(problem, options, refs.length), refs, new Int32Array(counter));
  const results = [own, ...(await Promise.all(workers))];
  const elements: FdElementCheck[] = new Array(refs.length);
  for (const r of results) for (const [k, e] of r.checks) elements[k] = e;
  // The perturbed evaluations, each tensor's pooled noise once, and the unperturbed point once, as a single thread counts them.
  const pooled = new Map(results.flatMap((r) => [...r.pooled]));
  const evaluations = 1 + results.reduce((n, r) => n + r.evaluations, 0) + [...pooled.values()].reduce((a, b) => a + b, 0);
  return fullReport(problem, options, elements, evaluations);
}

function runWorker(task: WorkerTask): Promise<WorkerResult> {
  // From source (tsx, vitest) the worker is a .ts file and needs tsx's loader; from dist, plain JS.
  const fromSource = import.meta.url.endsWith('.ts');
  const url = new URL(fromSource ? './fdWorker.ts' : './fdWorker.js', import.meta.url);
  const worker = fromSource
    ? new Worker(`import('tsx/esm/api').then((tsx) => (tsx.register(), import(${JSON.stringify(url.href)})))`, { eval: true, workerData: task })
    : new Worker(url, { workerData: task });
  return new Promise((resolve, reject) => {
    worker.once('message', (result: WorkerResult) => resolve(result));
    // A worker's StepTooSmall arrives as a plain Error: give it back its class, as a single thread throws it.
    worker.once('error', (err) => reject(err.name === 'StepTooSmall' ? new StepTooSmall(err.message) : err));
    worker.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`finite-difference worker exited with code ${code}`))));
  });
}
