import { parentPort, workerData } from 'node:worker_threads';
import { elementChecker } from './engine.ts';
import { problemFromData } from './modelProblem.ts';
import { checkChunks, type WorkerTask } from './parallel.ts';

// A worker thread of goldenFullCheck (Note [Full mode on every core]): the same problem, built
// here from its data, and chunks of elements from the shared counter.
const task = workerData as WorkerTask;
parentPort!.postMessage(checkChunks(elementChecker(problemFromData(task.problem), task.options, task.refs.length), task.refs, new Int32Array(task.counter)));
