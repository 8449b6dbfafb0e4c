// Program order: the one place where WebGL's and WebGPU's control flow differ.
//
// A GL kernel runs when it is called (gpu.js draws, and returns the texture), so on GL work runs
// at once. A WebGPU kernel's first run waits for its asynchronous build and every read waits
// for mapAsync, so on WebGPU ops enqueue their launches here and return at once (as CUDA
// streams do: ops enqueue, reads wait); the queue runs each piece of work after the ones before
// it, and so do the swaps of `assign` and the deletes of `release`, which never overtake a
// launch that reads what they change.

export class LaunchQueue {
  /** The work enqueued and not yet run, in program order (WebGPU). */
  private readonly pending: Array<() => unknown> = [];
  private draining: Promise<void> | null = null;
  /** The first launch that failed; every later op reports it (WebGPU). */
  failure: Error | null = null;

  /**
   * `immediate`: GL and gpu.js's cpu mode, where a launch has run when its call returns.
   * `ranDry` is called when the enqueued work has all run (WebGPU submits its recorded launches then).
   */
  constructor(readonly immediate: boolean, private readonly ranDry: () => void = () => undefined) {}

  /** Runs `work` in program order: now on GL, after everything enqueued before on WebGPU. */
  inOrder(work: () => unknown): void {
    if (this.immediate) {
      work();
      return;
    }
    if (this.failure) throw this.failure;
    this.pending.push(work);
    this.draining ??= this.drain();
  }

  private async drain(): Promise<void> {
    try {
      for (let i = 0; i < this.pending.length; i++) await this.pending[i]!();
    } catch (e) {
      this.failure = new Error(`gpu backend (webgpu): a launch failed, so this backend stops here: ${(e as Error).message}`);
    } finally {
      this.pending.length = 0;
      this.draining = null;
      this.ranDry();
    }
  }

  /** Resolves when everything enqueued so far has run; rejects with the launch that failed. */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
    if (this.failure) throw this.failure;
  }
}
