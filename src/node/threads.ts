// Node's thread host for the CPU backend: workers from worker_threads, each running
// src/node/cpu-worker.ts, with a MessageChannel each (read synchronously with
// receiveMessageOnPort), woken through the shared control block.

import { availableParallelism, cpus } from 'node:os';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { ThreadHost, WorkerPool } from '../backends/cpu/threads.js';

export const nodeThreadHost: ThreadHost = {
  cores: () => availableParallelism?.() ?? cpus().length,

  async start(count: number, ctrl: SharedArrayBuffer): Promise<WorkerPool> {
    const workers: Worker[] = [];
    const ports: MessagePort[] = [];
    const ready: Promise<void>[] = [];
    for (let i = 1; i <= count; i++) {
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(new URL('./cpu-worker.js', import.meta.url), { workerData: { ctrl, port: port2, index: i }, transferList: [port2] });
      ready.push(new Promise((resolve, reject) => {
        worker.once('message', () => resolve());
        worker.once('error', reject);
      }));
      workers.push(worker);
      ports.push(port1);
    }
    await Promise.all(ready);
    // Idle workers must not keep the process alive.
    for (const w of workers) w.unref();
    return { workers, ports, receive: (port) => receiveMessageOnPort(port as MessagePort) };
  },
};
