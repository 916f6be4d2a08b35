import { parentPort } from 'node:worker_threads';
import { elementChecker } from './engine.ts';
import { problemFromData } from './modelProblem.ts';
import { checkChunks, stopChunks, type WorkerReply, type WorkerTask } from './parallel.ts';

// A worker thread of goldenFullCheck (Note [Full mode on every core]). It lives across calls
// (Note [Warm workers]): each task brings a problem's data, built here into the same problem,
// and the chunk counter that this thread shares with the others for that task.
parentPort!.on('message', (task: WorkerTask) => {
  let reply: WorkerReply;
  try {
    reply = { result: checkChunks(elementChecker(problemFromData(task.problem), task.options, task.refs.length), task.refs, new Int32Array(task.counter)) };
  } catch (err) {
    stopChunks(new Int32Array(task.counter), task.refs.length);
    reply = { error: { name: err instanceof Error ? err.name : 'Error', message: err instanceof Error ? err.message : String(err) } };
  }
  parentPort!.postMessage(reply);
});
