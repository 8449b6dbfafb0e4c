// Shared test utilities: fixture loading, error measures, finite-difference gradient checks.

import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { expect } from 'chai';
import { CpuBackend, Rng, Tensor, tensor, F, getBackend, io, nn, noGrad, type Config, type ConvAlgorithm, type DeepPartial } from 'ddpm-ts';

export const fixturesDir = new URL('../../test/fixtures/', import.meta.url);

export function readFixture<T = unknown>(name: string): T {
  return JSON.parse(readFileSync(new URL(name, fixturesDir), 'utf8')) as T;
}

export interface FixtureArray {
  shape: number[];
  data: number[];
}

export interface OpCase {
  name: string;
  attrs: Record<string, number>;
  inputs: Record<string, FixtureArray>;
  output: FixtureArray;
  gradOutput?: FixtureArray;
  grads?: Record<string, FixtureArray>;
}

export function fromFixture(a: FixtureArray, requiresGrad = false): Tensor {
  return tensor(a.data, a.shape, { requiresGrad });
}

/** max |actual − expected| / max |expected|: the error scaled by the reference's magnitude. */
export function relError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length, 'length').to.equal(expected.length);
  let maxDiff = 0, maxRef = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    maxDiff = Number.isNaN(d) ? Infinity : Math.max(maxDiff, d);
    maxRef = Math.max(maxRef, Math.abs(expected[i]!));
  }
  return maxDiff / Math.max(maxRef, 1e-12);
}

export function expectClose(actual: Tensor | ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  const values = actual instanceof Tensor ? actual.toFloat32Array() : actual;
  const err = relError(values, expected);
  expect(err, `${what}: relative error ${err.toExponential(2)}`).to.be.at.most(tol);
}

/** expectClose for a tensor on any backend: its values read with data() (WebGPU reads only asynchronously). */
export async function expectTensorClose(actual: Tensor, expected: Tensor | ArrayLike<number>, tol: number, what: string): Promise<void> {
  expectClose(await actual.data(), expected instanceof Tensor ? await expected.data() : expected, tol, what);
}

/**
 * Checks the gradients autodiff gives for loss = Σ f(inputs) · r (r fixed random) against central
 * differences (L(x + h) − L(x − h)) / 2h, for every element of every input. The loss is summed in
 * float64 from the float32 outputs; h = 1e-2 balances truncation (O(h²)) against float32
 * rounding (O(ε/h)), and the tolerance is relative to the largest gradient.
 */
export async function gradCheck(
  f: (...inputs: Tensor[]) => Tensor,
  inputs: Tensor[],
  { h = 1e-2, tol = 1e-3, seed = 99 }: { h?: number; tol?: number; seed?: number } = {},
): Promise<void> {
  const base = await Promise.all(inputs.map((x) => x.data()));
  const leaves = inputs.map((x, k) => tensor(base[k]!, x.shape, { requiresGrad: true }));
  const out = f(...leaves);
  const rng = new Rng(seed);
  const r = new Float64Array(out.size).map(() => rng.normal());
  out.backward(tensor(Float32Array.from(r), out.shape));

  const lossAt = async (values: Float32Array[]): Promise<number> => {
    const y = await noGrad(() => f(...values.map((v, i) => tensor(v, inputs[i]!.shape)))).data();
    let acc = 0;
    for (let i = 0; i < y.length; i++) acc += y[i]! * r[i]!;
    return acc;
  };

  for (const [k, leaf] of leaves.entries()) {
    const analytic = await leaf.grad!.data();
    const numeric = new Float64Array(analytic.length);
    for (let i = 0; i < analytic.length; i++) {
      const plus = base.map((v) => v.slice());
      const minus = base.map((v) => v.slice());
      plus[k]![i] += h;
      minus[k]![i] -= h;
      // The perturbation actually applied, after float32 rounding.
      const step = plus[k]![i]! - minus[k]![i]!;
      numeric[i] = ((await lossAt(plus)) - (await lossAt(minus))) / step;
    }
    expectClose(analytic, numeric, tol, `gradient of input ${k}`);
  }
}

/** Deterministic random input tensor. */
export function randomInput(shape: number[], seed: number, scale = 1, shift = 0): Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(Float32Array.from({ length: n }, () => shift + scale * rng.normal()), shape);
}

export { F };

/** How each fixture op maps onto F, given its inputs by name. */
export const fixtureOps: Record<string, (x: Record<string, Tensor>, attrs: Record<string, number>) => Tensor> = {
  linear: (x) => F.linear(x.x!, x.weight!, x.bias!),
  matmul: (x) => F.matmul(x.a!, x.b!),
  conv2d: (x, a) => F.conv2d(x.x!, x.weight!, x.bias!, { stride: a.stride!, padding: a.padding! }),
  groupNorm: (x, a) => F.groupNorm(x.x!, a.groups!, x.weight!, x.bias!, a.eps!),
  silu: (x) => F.silu(x.x!),
  softmax: (x, a) => F.softmax(x.x!, a.axis!),
  upsampleNearest2x: (x) => F.upsampleNearest2x(x.x!),
  concatChannels: (x) => F.concatChannels([x.a!, x.b!]),
  mseLoss: (x) => F.mseLoss(x.pred!, x.target!),
};

/**
 * The UNet-S fixture on the current backend: the reference weights loaded, the forward pass on
 * the reference input, and the backward pass of Σ out · gradOut.
 */
export async function runUNetFixture(): Promise<{ weights: io.Safetensors; ref: io.Safetensors; net: nn.UNet; x: Tensor; out: Tensor }> {
  const path = (name: string) => new URL(name, fixturesDir).pathname;
  const weights = await io.loadSafetensors(path('unet-s.safetensors'));
  const ref = await io.loadSafetensors(path('unet-s.io.safetensors'));
  const net = new nn.UNet(JSON.parse(weights.metadata.config!));
  net.loadStateDict(weights.tensors);
  const x = ref.tensors.get('x')!;
  x.requiresGrad = true;
  const out = net.forward(x, Array.from(await ref.tensors.get('t')!.data()));
  F.sum(F.mul(out, ref.tensors.get('gradOut')!)).backward();
  return { weights, ref, net, x, out };
}

/** gradX and the gradient of every parameter within 1e-3 of the fixture's. */
export async function expectUNetGradients(net: nn.UNet, x: Tensor, ref: io.Safetensors): Promise<void> {
  await expectTensorClose(x.grad!, ref.tensors.get('gradX')!, 1e-3, 'gradX');
  for (const [name, p] of net.namedParameters()) await expectTensorClose(p.grad!, ref.tensors.get(`grad.${name}`)!, 1e-3, `grad.${name}`);
}

/** The op cases of ops.json checked op by op (the two blocks and the embedding have tests of their own), each with a label "name #k {attrs}". */
export function fixtureOpCases(): Array<{ c: OpCase; label: string }> {
  const { cases } = readFixture<{ cases: OpCase[] }>('ops.json');
  const counts = new Map<string, number>();
  return cases.filter((c) => !['attentionBlock', 'resBlock', 'timestepEmbedding'].includes(c.name)).map((c) => {
    const k = (counts.get(c.name) ?? 0) + 1;
    counts.set(c.name, k);
    return { c, label: `${c.name} #${k} ${JSON.stringify(c.attrs)}` };
  });
}

/** Runs one op case of ops.json on the current backend: its output and every input gradient within `tol`. */
export async function checkOpCase(c: OpCase, tol: number): Promise<void> {
  const fn = fixtureOps[c.name];
  expect(fn, `no mapping for fixture op ${c.name}`).to.be.a('function');
  const inputs: Record<string, Tensor> = {};
  for (const [name, a] of Object.entries(c.inputs)) inputs[name] = fromFixture(a, true);
  const out = fn!(inputs, c.attrs);
  expect(out.size).to.equal(c.output.data.length);
  out.backward(tensor(c.gradOutput!.data, out.shape));
  await expectTensorClose(out, c.output.data, tol, 'output');
  for (const [name, g] of Object.entries(c.grads!)) {
    expect(inputs[name]!.grad, `grad of ${name}`).to.not.equal(null);
    expect(inputs[name]!.grad!.shape).to.deep.equal(g.shape);
    await expectTensorClose(inputs[name]!.grad!, g.data, tol, `grad of ${name}`);
  }
}

/**
 * Runs one of the two block cases of ops.json (attentionBlock, resBlock) on the current backend:
 * the block built, its parameters loaded from the case, its output and the gradients of its
 * inputs and of every parameter within `tol` of PyTorch's.
 */
export async function checkBlockCase(name: 'attentionBlock' | 'resBlock', tol: number): Promise<void> {
  const c = readFixture<{ cases: OpCase[] }>('ops.json').cases.find((k) => k.name === name)!;
  const dataInputs = name === 'resBlock' ? ['x', 'temb'] : ['x'];
  const block = name === 'resBlock'
    ? new nn.ResBlock(c.inputs.x!.shape[1]!, c.output.shape[1]!, c.inputs.temb!.shape[1]!, { groups: c.attrs.groups! })
    : new nn.AttentionBlock(c.inputs.x!.shape[1]!, c.attrs.groups!);
  const data: Record<string, Tensor> = {};
  const params = new Map<string, Tensor>();
  for (const [input, a] of Object.entries(c.inputs)) {
    if (dataInputs.includes(input)) data[input] = fromFixture(a, true);
    else params.set(input, fromFixture(a));
  }
  block.loadStateDict(params);
  const out = block instanceof nn.ResBlock ? block.forward(data.x!, data.temb!) : block.forward(data.x!);
  await expectTensorClose(out, c.output.data, tol, `${name} output`);
  out.backward(tensor(c.gradOutput!.data, out.shape));
  const grads = new Map([...Object.entries(data), ...block.namedParameters()].map(([n, t]) => [n, t.grad]));
  for (const [input, g] of Object.entries(c.grads!)) {
    expect(grads.get(input), `grad of ${input}`).to.be.an('object');
    await expectTensorClose(grads.get(input)!, g.data, tol, `${name} grad of ${input}`);
  }
}

/** Runs fn (and waits for it) with the CPU backend's convolutions computed by `algorithm`. */
export async function withConv<T>(algorithm: ConvAlgorithm, fn: () => T | Promise<T>): Promise<T> {
  const backend = getBackend();
  if (!(backend instanceof CpuBackend)) throw new Error('these tests need the cpu backend');
  const before = backend.conv;
  backend.conv = algorithm;
  try {
    return await fn();
  } finally {
    backend.conv = before;
  }
}

const crcTable = Array.from({ length: 256 }, (_, n) => [...Array(8)].reduce((c: number) => (c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1), n) >>> 0);
/** A PNG chunk: length, type, body and CRC-32. */
const pngChunk = (type: string, body: Buffer) => {
  const b = Buffer.concat([Buffer.alloc(4), Buffer.from(type, 'latin1'), body, Buffer.alloc(4)]);
  b.writeUInt32BE(body.length, 0);
  const crc = b.subarray(4, 8 + body.length).reduce((c, x) => crcTable[(c ^ x) & 255]! ^ (c >>> 8), 0xffffffff);
  b.writeUInt32BE((crc ^ 0xffffffff) >>> 0, 8 + body.length);
  return b;
};

/** An RGBA PNG whose header says width×height and whose (valid, compressed) data holds `rows` rows of at most 24 pixels. */
export function pngClaiming(width: number, height: number, rows: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  const row = 1 + 4 * Math.min(width, 24);
  const pixels = deflateSync(Buffer.alloc(rows * row, 0x40).map((v, i) => (i % row === 0 ? 0 : v))); // filter type 0 starts each row
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk('IHDR', ihdr), pngChunk('IDAT', pixels), pngChunk('IEND', Buffer.alloc(0))]);
}

/** The partial config of a tiny 8×8 run (milliseconds a step), its files in `outDir`. */
export const tinyPartial = (outDir: string, train: DeepPartial<Config['train']> = {}) => ({
  seed: 2,
  data: { imageSize: 8 },
  model: { baseChannels: 8, channelMults: [1, 2], numResBlocks: 1, attnResolutions: [4], groups: 2, timeEmbDim: 16 },
  diffusion: { timesteps: 50 },
  train: { batchSize: 2, steps: 4, logEvery: 1, sampleEvery: 0, checkpointEvery: 2, outDir, ...train },
  sample: { steps: 2, count: 2 },
});

export const md5 = (path: string) => createHash('md5').update(readFileSync(path)).digest('hex');

/** The md5 of every file below `dir`, to show that nothing changed. */
export function md5s(dir: string): Record<string, string> {
  const sums: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p, { throwIfNoEntry: false })?.isDirectory()) walk(p);
      else if (existsSync(p)) sums[p] = md5(p);
    }
  };
  walk(dir);
  return sums;
}
