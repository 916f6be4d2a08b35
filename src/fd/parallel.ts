import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { GoldenCase } from '../golden/load.ts';
import type { DType } from '../tensor/dtype.ts';
import type { ArithmeticModel } from '../tolerance/arithmetic.ts';
import { runModel, type ModelInputs } from '../model/sequential.ts';
import type { ModelSpec } from '../model/spec.ts';
import {
  directionalCheckWith, directionJobs, elementChecker, elementRefs, evaluateAhead, finiteDifferenceCheck, fullReport, planDirections, StepTooSmall,
  type DirectionPlan, type ElementRef, type Evaluation, type FdElementCheck, type FdOptions, type FdReport,
} from './engine.ts';
import { modelObjective, modelProblemData, problemDataOfRun, problemFromData, type ModelProblemData } from './modelProblem.ts';

// Note [Full mode on every core]
// Elements are independent, so full mode splits them between this thread and worker threads.
// Each worker receives the problem's data (the TS run's inputs, gradient and bounds, as typed
// arrays) and builds the same problem from it (a problem holds closures, which cannot cross
// threads); the threads then take chunks of elements from one shared counter, so a
// thread that got cheap elements (a last layer's) takes more chunks instead of waiting. Every
// element is checked by the same code on the same problem in whichever thread, so the report is
// identical to a single-threaded run, element for element, in the same order.
//
// Note [Warm workers]
// A new worker thread costs about 150 ms before it checks its first element on this project's
// 2-core reference machine: the thread, the modules (loaded afresh in every thread), and a cold
// JIT that runs the kernels slowly until it has compiled them. A full check of a small model
// takes a few hundred milliseconds, so a fresh worker per call would spend half of it starting.
// Workers therefore stay alive between calls, idle and unref'd (an idle worker never keeps the
// process from exiting), and the next call (the other precision, the next golden, the next test)
// finds them compiled. A worker that fails a task reports the error and stays usable; one that
// dies is dropped and replaced on the next call.

/** Elements per chunk: small enough to balance the threads, large enough that the counter costs nothing. */
const CHUNK = 32;

/** A full-mode task: the problem's recipe, the elements, and the shared chunk counter. */
export interface ElementsTask {
  readonly kind: 'elements';
  readonly problem: ModelProblemData;
  readonly options: Partial<FdOptions>;
  readonly refs: readonly ElementRef[];
  readonly counter: SharedArrayBuffer;
}

/**
 * A directional task (Note [Directions on two threads]): the objective's recipe and the shared
 * job counter. The worker computes the gradient that leads the directions within a tensor itself,
 * if they need it, so that the task is sent before this thread has run the model.
 */
export interface DirectionsTask {
  readonly kind: 'directions';
  readonly spec: ModelSpec;
  readonly inputs: ModelInputs;
  readonly dtype: DType;
  readonly options: Partial<FdOptions>;
  readonly counter: SharedArrayBuffer;
}

/** What a worker is asked to do. */
export type WorkerTask = ElementsTask | DirectionsTask;

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
  try {
    for (let chunk = Atomics.add(counter, 0, 1); chunk * CHUNK < refs.length; chunk = Atomics.add(counter, 0, 1)) {
      const start = chunk * CHUNK;
      const part = check(refs.slice(start, start + CHUNK));
      part.elements.forEach((e, k) => checks.push([start + k, e]));
      evaluations += part.evaluations;
      pooled = part.pooled;
    }
  } catch (err) {
    stopChunks(counter, refs.length);
    throw err;
  }
  return { checks, evaluations, pooled };
}

/** One thread's error ends the check: the others take no further chunk. */
export function stopChunks(counter: Int32Array, elements: number): void {
  Atomics.store(counter, 0, Math.ceil(elements / CHUNK));
}

/**
 * Finite differences of a golden's model on `threads` threads (default: every core), the same
 * report a single-threaded finiteDifferenceCheck gives: full mode splits the elements (Note [Full
 * mode on every core]), directional mode makes its first evaluations in a warm worker while this
 * thread computes the error bounds (Note [Directions on two threads]).
 */
export async function goldenCheck(golden: GoldenCase, dtype: DType, options: Partial<FdOptions> = {}, threads = availableParallelism(), arithmetic?: ArithmeticModel): Promise<FdReport> {
  if (options.mode === 'directional') return directionalCheck(golden, dtype, options, threads, arithmetic);
  const data = modelProblemData(golden, dtype, undefined, arithmetic);
  const problem = problemFromData(data);
  const refs = elementRefs(problem, options);
  if (threads <= 1 || refs.length <= CHUNK) return finiteDifferenceCheck(problem, options);
  const counter = new SharedArrayBuffer(4);
  const task: ElementsTask = { kind: 'elements', problem: data, options, refs, counter };
  const workers = Array.from({ length: threads - 1 }, () => runWorker<WorkerResult>(task));
  // This thread takes chunks too, while the workers start up.
  let own: WorkerResult;
  try {
    own = checkChunks(elementChecker(problem, options, refs.length), refs, new Int32Array(counter));
  } catch (err) {
    stopChunks(new Int32Array(counter), refs.length);
    // The workers stop at their next chunk; wait for them, so that none is left running or rejecting unheard.
    await Promise.allSettled(workers);
    throw err;
  }
  const results = [own, ...(await Promise.all(workers))];
  const elements: FdElementCheck[] = new Array(refs.length);
  for (const r of results) for (const [k, e] of r.checks) elements[k] = e;
  // The perturbed evaluations, each tensor's pooled noise once, and the unperturbed point once, as a single thread counts them.
  const pooled = new Map(results.flatMap((r) => [...r.pooled]));
  const evaluations = 1 + results.reduce((n, r) => n + r.evaluations, 0) + [...pooled.values()].reduce((a, b) => a + b, 0);
  return fullReport(problem, options, elements, evaluations);
}

/**
 * Directional mode with a warm worker making the first evaluations alongside this thread, which
 * first computes the bounds (Note [Directions on two threads]). A worker that would have to start
 * first costs more than the whole check (Note [Warm workers]): with none idle, the check runs
 * here alone, and starts one in the background for the next calls.
 */
async function directionalCheck(golden: GoldenCase, dtype: DType, options: Partial<FdOptions>, threads: number, arithmetic?: ArithmeticModel): Promise<FdReport> {
  const worker = threads > 1 ? idle.pop() : undefined;
  if (worker === undefined) {
    if (threads > 1) startInBackground();
    return finiteDifferenceCheck(problemFromData(modelProblemData(golden, dtype, undefined, arithmetic)), options);
  }
  const { spec, inputs } = golden;
  const counter = new SharedArrayBuffer(4);
  const theirs = runWorker<[number, Evaluation][]>({ kind: 'directions', spec, inputs, dtype, options, counter }, worker);
  let data: ModelProblemData;
  let own: [number, Evaluation][];
  let plan: DirectionPlan | undefined;
  let built: ReturnType<typeof modelObjective>;
  try {
    built = modelObjective(spec, inputs, dtype);
    const run = runModel(spec, inputs, dtype);
    const source = { dtype, analytic: run.bwd.grads, ...built };
    plan = planDirections(source, options);
    data = problemDataOfRun(golden, run, dtype, undefined, arithmetic);
    own = evaluateAhead(source, plan, new Int32Array(counter));
  } catch (err) {
    // The worker stops at its next job (without a plan of our own, once it has made them all).
    if (plan !== undefined) Atomics.store(new Int32Array(counter), 0, directionJobs(plan));
    await Promise.allSettled([theirs]);
    throw err;
  }
  return directionalCheckWith(problemFromData(data, built), options, { plan, evaluations: new Map([...own, ...(await theirs)]) });
}

/** Idle workers, compiled by earlier calls (Note [Warm workers]). */
const idle: Worker[] = [];

/** How many idle workers there are, for tests. */
export function idleWorkers(): number {
  return idle.length;
}

/** Ends the idle workers and one starting in the background, if any; the next check starts afresh. */
export async function stopIdleWorkers(): Promise<void> {
  const stopping = idle.splice(0, idle.length);
  if (starting !== null) stopping.push(starting);
  await Promise.all(stopping.map((worker) => worker.terminate()));
  await started;
}

/** A worker started ahead of need, until it says it is ready or dies; and when that is. */
let starting: Worker | null = null;
let started: Promise<void> = Promise.resolve();

/** Resolves once no worker is starting in the background: for tests, which wait on this instead of a clock. */
export function backgroundStart(): Promise<void> {
  return started;
}

/**
 * Starts a worker that joins the idle ones once it has loaded its modules and says so: until
 * then no call takes it, since a call would wait for it to start. Unref'd from the start, it
 * never keeps the process from exiting. One at a time; a worker that cannot start is let go.
 */
function startInBackground(): void {
  if (starting !== null) return;
  let worker: Worker;
  try {
    worker = spawnWorker();
  } catch {
    return;
  }
  starting = worker;
  worker.unref();
  started = new Promise((resolve) => {
    const ready = (reply: WorkerReply): void => {
      if (!('ready' in reply)) return;
      worker.off('message', ready);
      starting = null;
      idle.push(worker);
      resolve();
    };
    worker.on('message', ready);
    const gone = (): void => {
      if (starting === worker) starting = null;
      resolve();
    };
    worker.once('error', gone);
    worker.once('exit', gone);
  });
}

/** What a worker posts: once that it is ready, then for each task its result or the error the task threw. */
export type WorkerReply =
  | { readonly ready: true }
  | { readonly result: WorkerResult | [number, Evaluation][] }
  | { readonly error: { readonly name: string; readonly message: string } };

function spawnWorker(): Worker {
  // From source (tsx, vitest) the worker is a .ts file and needs tsx's loader; from dist, plain JS.
  const fromSource = import.meta.url.endsWith('.ts');
  const url = new URL(fromSource ? './fdWorker.ts' : './fdWorker.js', import.meta.url);
  const worker = fromSource
    ? new Worker(`import('tsx/esm/api').then((tsx) => (tsx.register(), import(${JSON.stringify(url.href)})))`, { eval: true })
    : new Worker(url, { execArgv: workerFlags(process.execArgv) });
  // Whenever it dies, busy or idle, it leaves the pool; a busy one's task also hears of it below.
  const leave = (): void => {
    const at = idle.indexOf(worker);
    if (at >= 0) idle.splice(at, 1);
  };
  worker.on('error', leave);
  worker.on('exit', leave);
  return worker;
}

/**
 * The process's Node flags that a worker started from a file can take: all but --input-type,
 * which is for code given as a string (`node --input-type=module -e …`) and stops a worker
 * started from a file before it runs.
 */
export function workerFlags(flags: readonly string[]): string[] {
  return flags.filter((flag, k) => !flag.startsWith('--input-type') && flags[k - 1] !== '--input-type');
}

/** Runs a task in `given`, else an idle worker, else a new one. */
function runWorker<R>(task: WorkerTask, given?: Worker): Promise<R> {
  return new Promise((resolve, reject) => {
    // Inside the promise: a worker that cannot even start rejects this call instead of throwing past the others.
    const worker = given ?? idle.pop() ?? spawnWorker();
    worker.ref();
    const settle = (): void => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    const onMessage = (reply: WorkerReply): void => {
      // A new worker says it is ready before it answers.
      if ('ready' in reply) return;
      settle();
      worker.unref();
      idle.push(worker);
      if ('result' in reply) resolve(reply.result as R);
      // A task's StepTooSmall arrives as plain data: give it back its class, as a single thread throws it.
      else reject(reply.error.name === 'StepTooSmall' ? new StepTooSmall(reply.error.message) : Object.assign(new Error(reply.error.message), { name: reply.error.name }));
    };
    // A worker that dies is not put back.
    const onError = (err: Error): void => (settle(), reject(err));
    const onExit = (code: number): void => (settle(), reject(new Error(`finite-difference worker exited with code ${code}`)));
    worker.on('message', onMessage);
    worker.once('error', onError);
    worker.once('exit', onExit);
    worker.postMessage(task);
  });
}
