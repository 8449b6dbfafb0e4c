// A worker thread of the CPU backend: waits to be woken, takes the task it was sent, runs its
// part of it on the shared arena, and reports.

import { receiveMessageOnPort, workerData, parentPort, type MessagePort } from 'node:worker_threads';
import { CTRL, barrierOn, paramsFromJob, type JobMessage } from '../backends/cpu/threads.js';
import type { TaskContext } from '../backends/cpu/task.js';
import { tasks } from '../backends/cpu/tasks.js';

const { ctrl: ctrlBuffer, port, index } = workerData as { ctrl: SharedArrayBuffer; port: MessagePort; index: number };
const ctrl = new Int32Array(ctrlBuffer);
let seen = Atomics.load(ctrl, CTRL.seq);
parentPort!.postMessage('ready');

for (;;) {
  Atomics.wait(ctrl, CTRL.seq, seen);
  seen = Atomics.load(ctrl, CTRL.seq);
  // The job was posted before the wake-up; it is in the port's queue.
  let received = receiveMessageOnPort(port);
  while (!received) received = receiveMessageOnPort(port);
  const job = received.message as JobMessage;
  const ctx: TaskContext = { thread: index, threads: job.threads, barrier: () => barrierOn(ctrl, job.threads) };
  try {
    (tasks[job.task] as (p: unknown, c: TaskContext) => void)(paramsFromJob(job), ctx);
  } catch (e) {
    port.postMessage((e as Error).stack ?? String(e));
    Atomics.store(ctrl, CTRL.failed, 1);
  }
  Atomics.add(ctrl, CTRL.done, 1);
  Atomics.notify(ctrl, CTRL.done);
}
