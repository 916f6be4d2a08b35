import { parentPort } from 'node:worker_threads';
import { runModel } from '../model/sequential.ts';
import type { NamedTensors } from '../tensor/tensor.ts';
import { elementChecker, evaluateAhead, planDirections, type DirectionSource, type FdOptions } from './engine.ts';
import { modelObjective, problemFromData } from './modelProblem.ts';
import { checkChunks, stopChunks, type DirectionsTask, type WorkerReply, type WorkerTask } from './parallel.ts';

// A worker thread of goldenCheck. It lives across calls (Note [Warm workers]): each task brings a
// problem's recipe, built here into the same problem, and the counter that this thread shares
// with the others for that task: of chunks of elements (Note [Full mode on every core]), or of a
// directional check's first evaluations (Note [Directions on two threads]).
function directionSource({ spec, inputs, dtype }: DirectionsTask): DirectionSource {
  let analytic: NamedTensors | undefined;
  // The gradient only if the directions need it (those within a tensor start from it), computed as the caller's thread does.
  return { dtype, ...modelObjective(spec, inputs, dtype), get analytic() { return (analytic ??= runModel(spec, inputs, dtype).bwd.grads); } };
}

const aheadOf = (source: DirectionSource, options: Partial<FdOptions>, counter: Int32Array) => evaluateAhead(source, planDirections(source, options), counter);

parentPort!.on('message', (task: WorkerTask) => {
  let reply: WorkerReply;
  try {
    reply = {
      result: task.kind === 'elements'
        ? checkChunks(elementChecker(problemFromData(task.problem), task.options, task.refs.length), task.refs, new Int32Array(task.counter))
        : aheadOf(directionSource(task), task.options, new Int32Array(task.counter)),
    };
  } catch (err) {
    // (evaluateAhead stops the other threads itself.)
    if (task.kind === 'elements') stopChunks(new Int32Array(task.counter), task.refs.length);
    reply = { error: { name: err instanceof Error ? err.name : 'Error', message: err instanceof Error ? err.message : String(err) } };
  }
  parentPort!.postMessage(reply);
});

// Its modules loaded and its listener set: a worker started ahead of need may now be handed tasks.
parentPort!.postMessage({ ready: true } satisfies WorkerReply);
