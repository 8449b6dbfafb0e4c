// WebGPU launches submitted together.
//
// Why. gpu.js's WebGPUKernel records a command encoder, a compute pass and one dispatch, and
// submits it, for every launch: a submit is the dearest thing a launch does (the driver takes a
// whole command buffer, validates it and schedules it), and a UNet training step is hundreds of
// small launches. TensorFlow.js records its dispatches into one encoder and submits every 15, or
// when a read needs them; so do we, every DISPATCHES_PER_SUBMIT.
//
// How. gpu.js has no hook for this, so the device it runs on is given one: its
// createCommandEncoder hands gpu.js a stand-in whose compute passes record into one shared pass
// of one shared encoder, and the queue's submit of such a stand-in only counts it. What must see
// the GPU's results submits the batch first: a copy for a read (gpu.js's readBufferResult records
// one, then submits: the batch goes with it), any other command buffer, a queue.writeBuffer into
// a buffer that a recorded dispatch uses (a kernel's uniforms when its arguments changed, an
// upload: the write would land before the dispatch that reads the old values), and a destroy of
// such a buffer. Between dispatches in one pass WebGPU keeps program order itself (each dispatch
// is a usage scope), so a pooled buffer freed by one launch and written by the next is safe.
// Everything here touches only the WebGPU API, not gpu.js's code: test/gpu-backend.test.ts counts
// the submits of a chain of launches, and fails if gpu.js (pinned at 2.24.1) stops recording a
// launch this way.

/**
 * Dispatches recorded before a submit (TF.js submits every 15). On SwiftShader every value from 8
 * to 128 measured alike (18–31 µs a tiny launch, bench/tiny-launch.mjs, two runs each): 32 is a
 * middle, not a tuned optimum; a real GPU may want another (bench/device.sh will tell).
 */
export const DISPATCHES_PER_SUBMIT = 32;

/* The parts of the WebGPU API used here (typed by hand: the project builds without WebGPU's types). */
interface GpuBuffer { destroy(): void }
interface BindGroupEntry { binding: number; resource: { buffer?: GpuBuffer; offset?: number; size?: number } }
interface ComputePass {
  setPipeline(pipeline: unknown): void;
  setBindGroup(index: number, group: object): void;
  dispatchWorkgroups(x: number, y?: number, z?: number): void;
  end(): void;
}
interface CommandEncoder {
  beginComputePass(descriptor?: unknown): ComputePass;
  copyBufferToBuffer(...args: unknown[]): void;
  finish(): object;
}
interface Queue {
  submit(buffers: object[]): void;
  writeBuffer(buffer: GpuBuffer, ...args: unknown[]): void;
}
interface Device {
  queue: Queue;
  createCommandEncoder(descriptor?: unknown): CommandEncoder;
  createBindGroup(descriptor: { layout: object; entries: BindGroupEntry[] }): object;
  createBuffer(descriptor: unknown): GpuBuffer;
}

/** What the batch of one device has recorded and not yet submitted. */
class Batch {
  private encoder: CommandEncoder | null = null;
  private pass: ComputePass | null = null;
  private dispatches = 0;
  /** Buffers the recorded dispatches use (bound by their bind groups). */
  private readonly inUse = new Set<GpuBuffer>();
  /** Real submits, for the tests and the bench. */
  submits = 0;

  constructor(private readonly device: Device, private readonly real: { createCommandEncoder: Device['createCommandEncoder']; submit: Queue['submit'] }) {}

  /** The shared compute pass, opened on the shared encoder when there is none. */
  computePass(): ComputePass {
    this.encoder ??= this.real.createCommandEncoder.call(this.device);
    this.pass ??= this.encoder.beginComputePass();
    return this.pass;
  }

  /** The shared encoder with its pass closed, for a copy recorded after the dispatches. */
  encoderForCopy(): CommandEncoder {
    this.pass?.end();
    this.pass = null;
    this.encoder ??= this.real.createCommandEncoder.call(this.device);
    return this.encoder;
  }

  uses(buffers: readonly GpuBuffer[]): void {
    for (const b of buffers) this.inUse.add(b);
  }

  isUsing(buffer: GpuBuffer): boolean {
    return this.inUse.has(buffer);
  }

  /** One more dispatch recorded; the batch goes when it holds DISPATCHES_PER_SUBMIT. */
  dispatched(): void {
    if (++this.dispatches >= DISPATCHES_PER_SUBMIT) this.submit();
  }

  /** Submits what is recorded (nothing when empty). */
  submit(): void {
    if (!this.encoder) return;
    this.pass?.end();
    const commands = this.encoder.finish();
    this.encoder = this.pass = null;
    this.dispatches = 0;
    this.inUse.clear();
    this.submits++;
    this.real.submit.call(this.device.queue, [commands]);
  }
}

/** A command buffer gpu.js "finished" from a stand-in encoder: its commands are in the batch. */
class Recorded {
  constructor(readonly needsSubmit: boolean) {}
}

const batches = new WeakMap<object, Batch>();
/** The bytes last written into each small buffer (a kernel's uniforms), up to MAX_REMEMBERED. */
const written = new WeakMap<GpuBuffer, Uint8Array>();
const MAX_REMEMBERED = 1024;

/** The bytes of an ArrayBuffer or a typed array (a view, not a copy); null for anything else. */
function bytesOf(data: unknown): Uint8Array | null {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return null;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Bind groups kept for reuse, at most (a training step of UNet-S makes about 800). */
const MAX_BIND_GROUPS = 8192;

/** A number for each buffer and layout, for the bind groups' keys. */
const ids = new WeakMap<object, number>();
let nextId = 0;
const idOf = (o: object) => {
  let id = ids.get(o);
  if (id === undefined) ids.set(o, (id = nextId++));
  return id;
};

/** The buffers each bind group binds (bind groups are opaque once made). */
const bound = new WeakMap<object, GpuBuffer[]>();

/**
 * Makes `device` record launches into batches (once per device). The stand-in encoder does what
 * gpu.js's launch and read paths ask of one: compute passes (into the shared one) and copies
 * (after it, with a submit at its finish).
 */
export function batchLaunches(device: object): void {
  if (batches.has(device)) return;
  const d = device as Device, queue = d.queue;
  const real = { createCommandEncoder: d.createCommandEncoder, submit: queue.submit, writeBuffer: queue.writeBuffer, createBindGroup: d.createBindGroup, createBuffer: d.createBuffer };
  const batch = new Batch(d, real);
  batches.set(device, batch);
  // gpu.js makes a bind group at every launch whose buffers changed, which with immutable outputs
  // is every launch; the pools hand out the same buffers step after step, so the same bind groups
  // recur, and making one is a native call dearer than the dispatch (a quarter of a tiny
  // launch's time on SwiftShader). They are kept by layout and buffers.
  const groups = new Map<string, object>();
  d.createBindGroup = function (descriptor) {
    let key = `${idOf(descriptor.layout)}`;
    for (const e of descriptor.entries) key += `|${e.binding}:${e.resource.buffer ? idOf(e.resource.buffer) : 'x'}:${e.resource.offset ?? 0}:${e.resource.size ?? ''}`;
    let group = groups.get(key);
    if (!group) {
      if (groups.size >= MAX_BIND_GROUPS) groups.clear();
      group = real.createBindGroup.call(this, descriptor);
      bound.set(group, descriptor.entries.flatMap((e) => (e.resource.buffer ? [e.resource.buffer] : [])));
      groups.set(key, group);
    }
    return group;
  };
  d.createCommandEncoder = function () {
    let copies = false, pass: ComputePass | null = null;
    return {
      beginComputePass: () => {
        pass = batch.computePass();
        return {
          setPipeline: (pipeline) => pass!.setPipeline(pipeline),
          setBindGroup: (index, group) => {
            batch.uses(bound.get(group) ?? []);
            pass!.setBindGroup(index, group);
          },
          dispatchWorkgroups: (x, y, z) => pass!.dispatchWorkgroups(x, y, z),
          end: () => undefined, // the shared pass stays open for the next launch
        };
      },
      copyBufferToBuffer: (...args) => {
        copies = true;
        batch.encoderForCopy().copyBufferToBuffer(...args);
      },
      finish: () => new Recorded(copies),
    };
  };
  queue.submit = function (buffers) {
    const ours = buffers.filter((b) => b instanceof Recorded) as Recorded[];
    if (ours.length === buffers.length && !ours.some((r) => r.needsSubmit)) {
      for (let i = 0; i < ours.length; i++) batch.dispatched();
      return;
    }
    batch.submit();
    const others = buffers.filter((b) => !(b instanceof Recorded));
    if (others.length) real.submit.call(this, others);
  };
  queue.writeBuffer = function (buffer, ...args) {
    // gpu.js writes a kernel's uniforms at every launch: the same bytes again change nothing, and
    // skipping them keeps a kernel launched twice in a row from ending the batch.
    const bytes = args.length === 2 && args[0] === 0 ? bytesOf(args[1]) : null;
    if (bytes && bytes.byteLength <= MAX_REMEMBERED) {
      const last = written.get(buffer);
      if (last && sameBytes(last, bytes)) return;
      written.set(buffer, bytes.slice());
    } else written.delete(buffer);
    if (batch.isUsing(buffer)) batch.submit();
    real.writeBuffer.call(this, buffer, ...args);
  };
  d.createBuffer = function (descriptor) {
    const buffer = real.createBuffer.call(this, descriptor);
    const destroy = buffer.destroy;
    buffer.destroy = function () {
      if (batch.isUsing(buffer)) batch.submit();
      destroy.call(this);
    };
    return buffer;
  };
}

/** Submits the launches `device` has recorded (a backend's queue ran dry, or it closes). */
export function submitLaunches(device: object): void {
  batches.get(device)?.submit();
}

/** How many times `device`'s batches were really submitted (tests and the bench count them). */
export function submitCount(device: object): number {
  return batches.get(device)?.submits ?? 0;
}
