// Parallel kernels on worker threads (SharedArrayBuffer). Starting the workers is the host's
// part (Node's worker_threads: src/node/threads.ts, installed by the Node entry); without a host
// (a page, for now) the CPU backend runs on one thread.
//
// A kernel that can run on several threads is a *task* (see tasks.ts): a function of named
// parameters (numbers and typed arrays) and a context telling it which of `threads` threads it
// is. Every task splits its work by a fixed rule and computes each output element with the same
// operations whatever the split, so results are bit-identical on 1 thread or 16.
//
// On one thread a task is simply called with the caller's arrays. On several, its arrays are
// laid out in one shared arena (a SharedArrayBuffer; inputs copied in), every worker is sent the
// task's name and the layout by message and woken with Atomics.notify, the calling thread runs
// part 0 and waits with Atomics.wait for the rest, and outputs are copied back. So the backend's
// kernels stay synchronous, and a worker costs one message and one wake-up per task.

import type { TaskContext } from './task.js';
import { tasks, type TaskArray, type TaskName, type TaskParams } from './tasks.js';

/**
 * How a task uses its arrays on several threads: inputs (the default) are copied into the arena;
 * `out` arrays are written in full by the task and copied back; `inout` both; `scratch` arrays
 * only give sizes (their contents start undefined and are not copied back).
 */
export interface ArrayRoles {
  out?: readonly string[];
  inout?: readonly string[];
  scratch?: readonly string[];
}

/** Control block (Int32 slots) shared by all threads. */
export const CTRL = { seq: 0, done: 1, failed: 2, barrierCount: 3, barrierGeneration: 4 } as const;
const CTRL_SLOTS = 8;

/** What a worker is sent for each task: where each parameter lives in the arena. */
export interface JobMessage {
  task: TaskName;
  threads: number;
  arena: SharedArrayBuffer;
  params: Array<[name: string, kind: 'number' | 'f32' | 'f64', valueOrOffset: number, length: number]>;
}

/** The end of a channel to one worker. */
export interface PortLike {
  postMessage(message: unknown): void;
}

/** Running workers, as a host starts them: each runs worker.js and has a port. */
export interface WorkerPool {
  workers: Array<{ terminate(): Promise<number> }>;
  ports: PortLike[];
  /** Takes the next message from a port without waiting (null when there is none). */
  receive: (port: PortLike) => { message: unknown } | undefined;
}

/** What starts workers on a platform. */
export interface ThreadHost {
  /** The machine's core count. */
  cores(): number;
  /** Starts `count` workers sharing the control block `ctrl`; resolves once each is ready. */
  start(count: number, ctrl: SharedArrayBuffer): Promise<WorkerPool>;
}

interface Pool extends WorkerPool {
  ctrl: Int32Array;
  arena: SharedArrayBuffer;
}

let host: ThreadHost | null = null;
let pool: Pool | null = null;
let threadCount = 1;

/** Installs the platform's way of starting workers (the Node entry does). */
export function setThreadHost(h: ThreadHost | null): void {
  host = h;
}

/** The number of threads parallel kernels use (1: no workers). */
export function getThreads(): number {
  return threadCount;
}

/** The machine's core count (1 where it cannot be known). */
export async function availableCores(): Promise<number> {
  return host ? Math.max(1, host.cores()) : 1;
}

/**
 * Uses n threads for parallel kernels from now on (n = 1 stops the workers). Without a thread
 * host (in a page, for now) the CPU backend stays on one thread.
 */
export async function setThreads(n: number): Promise<void> {
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error(`setThreads: n must be an integer from 1 to 64, got ${n}`);
  if (n === threadCount && (n === 1 || pool)) return;
  if (pool) {
    await Promise.all(pool.workers.map((w) => w.terminate()));
    pool = null;
  }
  threadCount = 1;
  if (n === 1) return;
  if (!host) return;
  const ctrl = new Int32Array(new SharedArrayBuffer(CTRL_SLOTS * 4));
  pool = { ...(await host.start(n - 1, ctrl.buffer as SharedArrayBuffer)), ctrl, arena: new SharedArrayBuffer(1 << 20) };
  threadCount = n;
}

/** Waits until all `threads` threads have called it (a reusable barrier on the control block). */
export function barrierOn(ctrl: Int32Array, threads: number): void {
  const generation = Atomics.load(ctrl, CTRL.barrierGeneration);
  if (Atomics.add(ctrl, CTRL.barrierCount, 1) === threads - 1) {
    Atomics.store(ctrl, CTRL.barrierCount, 0);
    Atomics.add(ctrl, CTRL.barrierGeneration, 1);
    Atomics.notify(ctrl, CTRL.barrierGeneration);
  } else {
    while (Atomics.load(ctrl, CTRL.barrierGeneration) === generation) Atomics.wait(ctrl, CTRL.barrierGeneration, generation);
  }
}

/** The params a task sees, rebuilt from a job message over the arena. */
export function paramsFromJob(job: JobMessage): Record<string, number | TaskArray> {
  const out: Record<string, number | TaskArray> = {};
  for (const [name, kind, at, length] of job.params) {
    out[name] = kind === 'number' ? at : kind === 'f32' ? new Float32Array(job.arena, at, length) : new Float64Array(job.arena, at, length);
  }
  return out;
}

const single: TaskContext = { thread: 0, threads: 1, barrier: () => {} };

/**
 * Runs a task on all threads, or on the calling thread alone when there are no workers or
 * `parallel` is false (small work: waking workers would cost more than it saves).
 */
export function runTask<N extends TaskName>(name: N, params: TaskParams<N>, roles: ArrayRoles = {}, parallel = true): void {
  const task = tasks[name] as (p: TaskParams<N>, ctx: TaskContext) => void;
  if (!pool || !parallel) {
    task(params, single);
    return;
  }
  const p = pool;
  const threads = p.workers.length + 1;
  const mode = (key: string) => (roles.out?.includes(key) ? 'out' : roles.inout?.includes(key) ? 'inout' : roles.scratch?.includes(key) ? 'scratch' : 'in');

  // Lay the arrays out in the arena (8-byte aligned), growing it when needed.
  const entries = Object.entries(params) as Array<[string, number | TaskArray]>;
  let bytes = 0;
  const offsets = entries.map(([, v]) => {
    if (typeof v === 'number') return 0;
    const at = bytes;
    bytes += Math.ceil(v.byteLength / 8) * 8;
    return at;
  });
  if (p.arena.byteLength < bytes) p.arena = new SharedArrayBuffer(Math.ceil((bytes * 1.5) / 8) * 8);
  const job: JobMessage = { task: name, threads, arena: p.arena, params: [] };
  const local: Record<string, number | TaskArray> = {};
  entries.forEach(([key, v], i) => {
    if (typeof v === 'number') {
      job.params.push([key, 'number', v, 0]);
      local[key] = v;
      return;
    }
    const view = v instanceof Float32Array ? new Float32Array(p.arena, offsets[i]!, v.length) : new Float64Array(p.arena, offsets[i]!, v.length);
    const m = mode(key);
    if (m === 'in' || m === 'inout') view.set(v);
    job.params.push([key, v instanceof Float32Array ? 'f32' : 'f64', offsets[i]!, v.length]);
    local[key] = view;
  });

  const ctrl = p.ctrl;
  Atomics.store(ctrl, CTRL.done, 0);
  for (const port of p.ports) port.postMessage(job);
  Atomics.add(ctrl, CTRL.seq, 1);
  Atomics.notify(ctrl, CTRL.seq);

  let error: unknown = null;
  try {
    task(local as TaskParams<N>, { thread: 0, threads, barrier: () => barrierOn(ctrl, threads) });
  } catch (e) {
    error = e;
  }
  for (;;) {
    const done = Atomics.load(ctrl, CTRL.done);
    if (done === p.workers.length) break;
    Atomics.wait(ctrl, CTRL.done, done);
  }
  if (Atomics.load(ctrl, CTRL.failed) !== 0) {
    Atomics.store(ctrl, CTRL.failed, 0);
    const reports = p.ports.map((port) => p.receive(port)?.message).filter((m) => m !== undefined);
    throw new Error(`cpu backend: task '${name}' failed on a worker thread: ${String(reports[0])}`);
  }
  if (error) throw error;
  entries.forEach(([key, v]) => {
    const m = mode(key);
    if (typeof v !== 'number' && (m === 'out' || m === 'inout')) v.set(local[key] as TaskArray);
  });
}
