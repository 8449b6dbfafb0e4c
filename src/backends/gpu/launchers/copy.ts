// Values in and out, and copies between storages (kernels/copy.ts): uploads, reads, concat,
// assign (a region of a storage) and move (a storage's values handed to another).

import { contiguousStrides, sizeOf } from '../../../util/shape.js';
import type { Storage, View } from '../../backend.js';
import { assign as assignKernel, fill, gather, join } from '../../../../kernels/copy.js';
import { MAX_RANK } from '../../../../kernels/strided.js';
import { flat, outputDims, viewConstants, type Input, type Launcher } from '../launch.js';
import { leadingAxis, slice, span } from '../paging.js';
import { alongLeadingAxis, joinParts, pageHolding, paged, slices, window } from '../slicing.js';
import { cellOf, valueOf, type GpuStorage } from '../storage.js';

export function zeros(l: Launcher, size: number): Storage {
  return paged(l, size, (_, count) => l.run('fill', fill, count, { value: 0 }));
}

/** Uploads through the same copy kernel as gather (named apart: its input is an array, not a texture). */
export function fromArray(l: Launcher, data: Float32Array): Storage {
  return paged(l, data.length, (start, count) => l.run('upload', gather, count, { ...outputDims([count]), ...viewConstants('x', { shape: [count], strides: [1], offset: 0 }) }, { cell: { value: data.slice(start, start + count) }, size: count }));
}

/** The values, read back now (GL); on WebGPU reads are asynchronous only: see readAsync. */
export function read(l: Launcher, x: View): Float32Array {
  if (!l.queue.immediate) throw new Error('gpu backend (webgpu): values are read back asynchronously on WebGPU: use `await tensor.data()` instead of toFloat32Array() or item()');
  return joinParts(slices(l, alongLeadingAxis('read', [x]), ([v]) => {
    const { cell, temp } = l.contiguous(v!);
    const value = valueOf(cell);
    const values = value instanceof Float32Array ? Float32Array.from(value.subarray(0, sizeOf(v!.shape))) : Float32Array.from(value.toArray() as Float32Array);
    l.done(temp);
    return values;
  }), sizeOf(x.shape));
}

/**
 * The values, read back when every launch enqueued before has run. On WebGPU the copy to a
 * mappable buffer is issued in program order (so a later release cannot overtake it) and the
 * mapping is awaited; on GL this is `read`.
 */
export async function readAsync(l: Launcher, x: View): Promise<Float32Array> {
  if (l.queue.immediate) return read(l, x);
  const pending = slices(l, alongLeadingAxis('read', [x]), ([v]) => {
    const { cell, temp } = l.contiguous(v!);
    const n = sizeOf(v!.shape);
    let copy: Promise<Float32Array | number[]> | null = null;
    l.queue.inOrder(() => {
      copy = (valueOf(cell) as { toArray(): Promise<Float32Array | number[]> }).toArray();
    });
    l.done(temp);
    return async () => {
      await l.queue.flush();
      const values = await copy!;
      return values instanceof Float32Array && values.length === n ? values : Float32Array.from(values).subarray(0, n);
    };
  });
  return joinParts(await Promise.all(pending.map((p) => p())), sizeOf(x.shape));
}

/**
 * Joins views along `axis`: one `join` launch per part after the first, each reading the
 * joined-so-far and the next part as rows ([outer, C·inner]). A result bigger than a texture,
 * or a part kept in pages, is written region by region into zeros instead (a fill and one
 * assign per part).
 */
export function concat(l: Launcher, parts: View[], axis: number): Storage {
  const outer = sizeOf(parts[0]!.shape.slice(0, axis)), inner = sizeOf(parts[0]!.shape.slice(axis + 1));
  const total = parts.reduce((n, p) => n + sizeOf(p.shape), 0);
  if (total > l.pageSize || parts.some((p) => (p.storage as GpuStorage).pages.length > 1)) {
    const shape = parts[0]!.shape.slice();
    shape[axis] = parts.reduce((n, p) => n + p.shape[axis]!, 0);
    const out = zeros(l, total), strides = contiguousStrides(shape);
    let at = 0;
    for (const p of parts) {
      assign(l, { storage: out, shape: p.shape, strides, offset: at * strides[axis]! }, p);
      at += p.shape[axis]!;
    }
    return out;
  }
  let joined: Input = l.contiguous(parts[0]!);
  let aRow = parts[0]!.shape[axis]! * inner;
  for (const part of parts.slice(1)) {
    const b = l.contiguous(part), bRow = part.shape[axis]! * inner;
    const next = l.run('join', join, outer * (aRow + bRow), { aRow, bRow, aOffset: 0 }, joined, b);
    l.done(joined.temp, b.temp);
    joined = { ...l.arg(next), temp: next };
    aRow += bRow;
  }
  return joined.temp ?? l.gather(parts[0]!);
}

/**
 * Copies src into the region dst of its storage. A region inside one page is copied by
 * assignWithin; a region across pages is cut along its leading axis into runs of items that
 * each lie in one page (an item that straddles a page boundary is cut along its next axis).
 */
export function assign(l: Launcher, dst: View, src: View): void {
  const { pages } = dst.storage as GpuStorage;
  const page = pageHolding(pages, dst);
  if (page && span(src) <= l.pageSize) {
    const temps: GpuStorage[] = [];
    try {
      const region = pages.length === 1 ? dst : { ...dst, storage: l.storages.borrow(page), offset: dst.offset - page.start };
      assignWithin(l, region, window(l, src, temps));
    } finally {
      l.done(...temps);
    }
    return;
  }
  const axis = leadingAxis(dst.shape), n = dst.shape[axis]!;
  const fits = (from: number, count: number) => pageHolding(pages, slice(dst, axis, from, count)) !== null && span(slice(src, axis, from, count)) <= l.pageSize;
  for (let from = 0; from < n; ) {
    let count = 1;
    while (from + count < n && fits(from, count + 1)) count++;
    assign(l, slice(dst, axis, from, count), slice(src, axis, from, count));
    from += count;
  }
}

/**
 * Copies src into the region dst of its one-texture storage: a new texture holding the old
 * values outside the region and src's inside it, swapped into the storage. The region's axes
 * are taken largest stride first, which finds each element's place uniquely for any slice of
 * a contiguous layout (checked).
 */
function assignWithin(l: Launcher, dst: View, src: View): void {
  const target = dst.storage as GpuStorage;
  const axes = dst.shape.map((n, k) => ({ n, t: dst.strides[k]!, u: src.strides[k]! })).filter((a) => a.n > 1).sort((a, b) => b.t - a.t);
  axes.forEach((a, k) => {
    const inner = axes.slice(k + 1).reduce((span, b) => span + (b.n - 1) * b.t, 0);
    if (a.t <= inner) throw new Error(`gpu backend: assign into a view with strides [${dst.strides}] of shape [${dst.shape}] (overlapping axes) is not supported`);
  });
  while (axes.length < MAX_RANK) axes.push({ n: 1, t: 1, u: 0 });
  const constants: Record<string, number> = { dstOffset: dst.offset, srcOffset: src.offset };
  axes.forEach((a, k) => Object.assign(constants, { [`d${k}`]: a.n, [`t${k}`]: a.t, [`u${k}`]: a.u }));
  const next = l.run('assign', assignKernel, target.size, constants, l.arg(target), l.arg(src.storage));
  // The new texture goes into `target`'s page; `next` takes the old one, and releasing it frees that.
  l.storages.swap(cellOf(target), cellOf(next));
  l.storages.release(next);
}

/** dst's pages take src's textures (in program order, as assign's swap), and src, now holding dst's old ones, is released. */
export function move(l: Launcher, dst: Storage, src: Storage): void {
  const to = dst as GpuStorage, from = src as GpuStorage;
  if (to.size !== from.size) throw new Error(`gpu backend: move of ${from.size} values into a storage of ${to.size}`);
  const sameLayout = to.pages.length === from.pages.length && to.pages.every((p, k) => p.size === from.pages[k]!.size);
  if (sameLayout) to.pages.forEach((page, k) => l.storages.swap(page.cell, from.pages[k]!.cell));
  else assign(l, flat(dst), flat(src));
  l.storages.release(src);
}
