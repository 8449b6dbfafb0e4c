// What a parallel kernel ("task") sees: which thread it runs on, and how work is shared out.
// Kept free of imports so kernels can use it without knowing how threads are run (threads.ts).

export interface TaskContext {
  /** This thread's index, 0 (the calling thread) to threads − 1. */
  readonly thread: number;
  readonly threads: number;
  /** Returns once every thread has reached it: separates the phases of a task (every thread must call it equally often). */
  barrier(): void;
}

/**
 * The part [start, end) of `count` items that thread `thread` of `threads` takes: contiguous,
 * as equal as possible, with boundaries on multiples of `align`.
 */
export function share(count: number, { thread, threads }: TaskContext, align = 1): [number, number] {
  const per = Math.ceil(count / threads / align) * align;
  return [Math.min(count, thread * per), Math.min(count, (thread + 1) * per)];
}

/** Below this many multiply-adds a kernel stays on the calling thread: waking workers would cost more than it saves. */
export const PARALLEL_MIN_WORK = 1 << 21;
