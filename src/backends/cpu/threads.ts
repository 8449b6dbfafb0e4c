// Parallel kernels on worker threads over shared memory. Starting the workers is the host's part:
// Node's worker_threads (src/node/threads.ts, installed by the Node entry) or a page's Web
// Workers (src/browser/threads.ts, installed by the core when it runs in a page). Without a host,
// or in a page that is not cross-origin isolated (no SharedArrayBuffer), the CPU backend runs on
// one thread.
//
// A kernel that can run on several threads is a *task* (see task-registry.ts): a function of named
// parameters (numbers and typed arrays) and a context telling it which of `threads` threads it
// is. Every task splits its work by a fixed rule and computes each output element with the same
// operations whatever the split, so results are bit-identical on 1 thread or 16.
//
// On one thread a task is simply called with the caller's arrays. On several, its arrays are
// laid out in one shared arena (inputs copied in), the task's name and that layout are written
// into a shared control block, the workers are woken with Atomics.notify, the calling thread runs
// part 0 and waits for the rest, and outputs are copied back. Nothing travels by message once the
// workers run, because a page's main thread can neither block in Atomics.wait nor read a message
// while a synchronous kernel runs: there it spins on Atomics.load instead. So the backend's
// kernels stay synchronous, and a worker costs one wake-up per task.

import type { TaskContext } from './task-context.js';
import { tasks, type TaskArray, type TaskName, type TaskParams } from './task-registry.js';

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

/** Int32 slots of the control block, shared by all threads. */
export const CTRL = { seq: 0, done: 1, failed: 2, barrierCount: 3, barrierGeneration: 4, jobBytes: 5, errorBytes: 6 } as const;
/** Slot RUNS + i counts the task parts thread i has run (for tests and the bench). */
const RUNS = 8;
const MAX_THREADS = 64;
const CTRL_BYTES = (RUNS + MAX_THREADS) * 4;
/** After the slots: the current job as JSON text, then the first worker error's text. */
const JOB_AT = CTRL_BYTES, JOB_MAX = 1 << 16;
const ERROR_AT = JOB_AT + JOB_MAX, ERROR_MAX = 1 << 12;
const CONTROL_BYTES = ERROR_AT + ERROR_MAX;

/** The memory every thread shares: the control block and the arena the task arrays live in. */
export interface SharedBlocks {
  control: SharedArrayBuffer;
  /** Growable where the platform allows, so workers see it grow without being told. */
  arena: SharedArrayBuffer;
}

/** A job: where each parameter of the task lives in the arena. */
interface Job {
  task: TaskName;
  threads: number;
  params: Array<[name: string, kind: 'number' | 'f32' | 'f64', valueOrOffset: number, length: number]>;
}

/** A started worker, as a host returns it. */
export interface WorkerHandle {
  terminate(): unknown;
}

/** What starts workers on a platform. */
export interface ThreadHost {
  /** The cores parallel kernels may use here (1 where workers cannot share memory). */
  cores(): number;
  /** Starts `count` workers, each running runWorker(shared, i) for i = 1…count; resolves once each is ready. */
  start(count: number, shared: SharedBlocks): Promise<WorkerHandle[]>;
}

interface Pool extends SharedBlocks {
  workers: WorkerHandle[];
  ctrl: Int32Array;
}

let host: ThreadHost | null = null;
let pool: Pool | null = null;
let threadCount = 1;

/** Installs the platform's way of starting workers (the Node entry does; the core does in a page). */
export function setThreadHost(h: ThreadHost | null): void {
  host = h;
}

/** The number of threads parallel kernels use (1: no workers). */
export function getThreads(): number {
  return threadCount;
}

/** The task parts each thread has run since the workers started (thread 0 is the caller): shows the workers do work. */
export function threadTaskCounts(): number[] {
  if (!pool) return [];
  return Array.from({ length: threadCount }, (_, i) => Atomics.load(pool!.ctrl, RUNS + i));
}

/** The machine's core count (1 where it cannot be known, or where workers cannot share memory). */
export async function availableCores(): Promise<number> {
  return host ? Math.max(1, host.cores()) : 1;
}

/** A growable shared arena where the platform has them (workers then see it grow), else a fixed one. */
function newArena(): SharedArrayBuffer {
  const Shared = SharedArrayBuffer as unknown as new (bytes: number, options?: { maxByteLength: number }) => SharedArrayBuffer;
  for (const max of [2 ** 31, 2 ** 30, 2 ** 28]) {
    try {
      return new Shared(1 << 20, { maxByteLength: max });
    } catch {
      // Too much address space to reserve here: try less.
    }
  }
  return new Shared(1 << 20);
}

/**
 * Uses n threads for parallel kernels from now on (n = 1 stops the workers). Without a thread
 * host, or without shared memory (a page that is not cross-origin isolated), the CPU backend
 * stays on one thread: getThreads() says so.
 */
export async function setThreads(n: number): Promise<void> {
  if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) throw new Error(`setThreads: n must be an integer from 1 to ${MAX_THREADS}, got ${n}`);
  if (n === threadCount && (n === 1 || pool)) return;
  if (pool) {
    await Promise.all(pool.workers.map((w) => w.terminate()));
    pool = null;
  }
  threadCount = 1;
  if (n === 1 || !host || typeof SharedArrayBuffer === 'undefined') return;
  const shared: SharedBlocks = { control: new SharedArrayBuffer(CONTROL_BYTES), arena: newArena() };
  const workers = await host.start(n - 1, shared);
  pool = { ...shared, workers, ctrl: new Int32Array(shared.control, 0, CTRL_BYTES / 4) };
  threadCount = n;
}

let blockingAllowed: boolean | null = null;

/** Whether this thread may block in Atomics.wait (a page's main thread may not). */
function canBlock(): boolean {
  if (blockingAllowed === null) {
    try {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
      blockingAllowed = true;
    } catch {
      blockingAllowed = false;
    }
  }
  return blockingAllowed;
}

/** Waits while ctrl[slot] holds `value`: asleep where this thread may block, spinning where it may not. */
function waitWhile(ctrl: Int32Array, slot: number, value: number): void {
  const block = canBlock();
  while (Atomics.load(ctrl, slot) === value) {
    if (block) Atomics.wait(ctrl, slot, value);
  }
}

/** Waits until all `threads` threads have called it (a reusable barrier on the control block). */
function barrierOn(ctrl: Int32Array, threads: number): void {
  const generation = Atomics.load(ctrl, CTRL.barrierGeneration);
  if (Atomics.add(ctrl, CTRL.barrierCount, 1) === threads - 1) {
    Atomics.store(ctrl, CTRL.barrierCount, 0);
    Atomics.add(ctrl, CTRL.barrierGeneration, 1);
    Atomics.notify(ctrl, CTRL.barrierGeneration);
  } else {
    waitWhile(ctrl, CTRL.barrierGeneration, generation);
  }
}

/** Writes text into a region of the control block (copied: text codecs may not touch shared memory); returns its byte length. */
function writeText(control: SharedArrayBuffer, at: number, max: number, text: string): number {
  const bytes = new TextEncoder().encode(text).subarray(0, max);
  new Uint8Array(control, at, bytes.length).set(bytes);
  return bytes.length;
}

function readText(control: SharedArrayBuffer, at: number, length: number): string {
  return new TextDecoder().decode(new Uint8Array(control, at, length).slice());
}

/**
 * A worker's whole life (hosts call it once a worker is ready): wait for a job, run its part on
 * the shared arena, count it, report a failure in the control block, signal done; forever.
 */
export function runWorker(shared: SharedBlocks, index: number): never {
  const ctrl = new Int32Array(shared.control, 0, CTRL_BYTES / 4);
  // Each pool has a fresh control block, so no job has been posted before sequence number 0.
  // (Reading the number here instead would race: a job posted as soon as the host saw this
  // worker ready could be counted as seen, and the caller would wait for this worker forever.)
  let seen = 0;
  for (;;) {
    waitWhile(ctrl, CTRL.seq, seen);
    seen = Atomics.load(ctrl, CTRL.seq);
    const job = JSON.parse(readText(shared.control, JOB_AT, Atomics.load(ctrl, CTRL.jobBytes))) as Job;
    const params: Record<string, number | TaskArray> = {};
    for (const [name, kind, at, length] of job.params) {
      params[name] = kind === 'number' ? at : kind === 'f32' ? new Float32Array(shared.arena, at, length) : new Float64Array(shared.arena, at, length);
    }
    try {
      (tasks[job.task] as (p: unknown, c: TaskContext) => void)(params, { thread: index, threads: job.threads, barrier: () => barrierOn(ctrl, job.threads) });
      Atomics.add(ctrl, RUNS + index, 1);
    } catch (e) {
      if (Atomics.compareExchange(ctrl, CTRL.failed, 0, 1) === 0) {
        Atomics.store(ctrl, CTRL.errorBytes, writeText(shared.control, ERROR_AT, ERROR_MAX, (e as Error).stack ?? String(e)));
      }
    }
    Atomics.add(ctrl, CTRL.done, 1);
    Atomics.notify(ctrl, CTRL.done);
  }
}

/** Makes room for `bytes` in the arena; false when it cannot grow that far (the task then runs on one thread). */
function fitArena(p: Pool, bytes: number): boolean {
  if (p.arena.byteLength >= bytes) return true;
  const arena = p.arena as SharedArrayBuffer & { growable?: boolean; maxByteLength?: number; grow?(n: number): void };
  if (!arena.growable || bytes > arena.maxByteLength!) return false;
  arena.grow!(Math.min(arena.maxByteLength!, Math.ceil((bytes * 1.5) / 8) * 8));
  return true;
}

const single: TaskContext = { thread: 0, threads: 1, barrier: () => {} };

/**
 * Runs a task on all threads, or on the calling thread alone when there are no workers or
 * `parallel` is false (small work: waking workers would cost more than it saves).
 */
export function runTask<N extends TaskName>(name: N, params: TaskParams<N>, roles: ArrayRoles = {}, parallel = true): void {
  const task = tasks[name] as (p: TaskParams<N>, ctx: TaskContext) => void;
  const alone = () => task(params, single);
  if (!pool || !parallel) return alone();
  const entries = Object.entries(params) as Array<[string, number | TaskArray]>;
  // Lay the arrays out in the arena (8-byte aligned).
  let bytes = 0;
  const offsets = entries.map(([, v]) => {
    if (typeof v === 'number') return 0;
    const at = bytes;
    bytes += Math.ceil(v.byteLength / 8) * 8;
    return at;
  });
  if (!fitArena(pool, bytes)) return alone();
  const p = pool;
  const threads = p.workers.length + 1;
  const mode = (key: string) => (roles.out?.includes(key) ? 'out' : roles.inout?.includes(key) ? 'inout' : roles.scratch?.includes(key) ? 'scratch' : 'in');

  const job: Job = { task: name, threads, params: [] };
  const local: Record<string, number | TaskArray> = {};
  entries.forEach(([key, v], i) => {
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new Error(`cpu backend: task '${name}' got ${v} for '${key}'`);
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
  Atomics.store(ctrl, CTRL.jobBytes, writeText(p.control, JOB_AT, JOB_MAX, JSON.stringify(job)));
  Atomics.store(ctrl, CTRL.done, 0);
  Atomics.add(ctrl, CTRL.seq, 1);
  Atomics.notify(ctrl, CTRL.seq);

  let error: unknown = null;
  try {
    task(local as TaskParams<N>, { thread: 0, threads, barrier: () => barrierOn(ctrl, threads) });
    Atomics.add(ctrl, RUNS, 1);
  } catch (e) {
    error = e;
  }
  for (let done = Atomics.load(ctrl, CTRL.done); done !== p.workers.length; done = Atomics.load(ctrl, CTRL.done)) waitWhile(ctrl, CTRL.done, done);
  if (Atomics.load(ctrl, CTRL.failed) !== 0) {
    const report = readText(p.control, ERROR_AT, Atomics.load(ctrl, CTRL.errorBytes));
    Atomics.store(ctrl, CTRL.failed, 0);
    throw new Error(`cpu backend: task '${name}' failed on a worker thread: ${report}`);
  }
  if (error) throw error;
  entries.forEach(([key, v]) => {
    const m = mode(key);
    if (typeof v !== 'number' && (m === 'out' || m === 'inout')) v.set(local[key] as TaskArray);
  });
}
