// Ops on tensors bigger than a texture. gpu.js lays an output of n values out in a near-square
// texture, so one texture holds at most MAX_TEXTURE_SIZE² values, and a shader's float32 indices
// are exact only up to 2²⁴: the page size is the smaller of the two. A bigger tensor's storage is
// a list of pages (storage.ts), and an op on it runs slice by slice, each slice's inputs read
// through windows of at most one page (paging.ts says how). Kernels never see a page boundary.

import { sizeOf } from '../../util/shape.js';
import type { BinaryOp, Storage, View } from '../backend.js';
import { join } from '../../../kernels/copy.js';
import type { Arg, Launcher } from './launch.js';
import { itemsWithin, leadingAxis, readRange, slice, span } from './paging.js';
import type { GpuStorage, Page } from './storage.js';

/** How an op's output is put together from its slices' outputs. */
export type Output =
  /** The slices' outputs side by side: `item` values per item of the sliced axis. */
  | { item: number }
  /** Every slice gives the whole output (e.g. a sum over the sliced axis); `combine` folds them. */
  | { size: number; combine: BinaryOp };

/** An op, described for slicing: inputs cut along an axis with the output, inputs read whole. */
export interface Slicing {
  /** The op's name, for errors. */
  name: string;
  /** The length of the sliced axis. */
  items: number;
  outputs: Output[];
  sliced: Array<{ view: View; axis: number }>;
  whole: Array<View | null>;
  /**
   * For ops whose every output is one run per item (elementwise, read): the op on one item's
   * views, sliced along their next axis, for when even one item is bigger than a texture.
   */
  refine?: (sliced: View[]) => Slicing;
}

/** Folds slices' whole outputs with an elementwise op (partial sums into the sum): launchers/elementwise.ts's combine. */
export type Fold = (op: BinaryOp, parts: Storage[]) => Storage;

/** An op whose output has the views' shape, sliced along its leading axis (and, item by item, further). */
export function alongLeadingAxis(name: string, views: View[]): Slicing {
  const shape = views[0]!.shape, axis = leadingAxis(shape), items = shape[axis] ?? 1;
  return {
    name, items, outputs: [{ item: sizeOf(shape) / Math.max(items, 1) }], sliced: views.map((view) => ({ view, axis })), whole: [],
    refine: items > 1 ? (one) => alongLeadingAxis(name, one) : undefined,
  };
}

/** Slices' values, end to end. */
export function joinParts(parts: Float32Array[], size: number): Float32Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Float32Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** The page that holds everything a view reads, or null when it straddles pages. */
export function pageHolding(pages: readonly Page[], v: View): Page | null {
  const { lo, hi } = readRange(v);
  if (lo === hi) return pages[0]!;
  return pages.find((p) => p.start <= lo && hi <= p.start + p.size) ?? null;
}

/**
 * The view, read from one texture: as it is when its storage is one page; else the page that
 * holds what it reads, or a joined copy of the pages it straddles (pushed on `temps`).
 */
export function window(l: Launcher, v: View, temps: GpuStorage[]): View {
  const { pages } = v.storage as GpuStorage;
  if (pages.length === 1) return v;
  const { lo, hi } = readRange(v);
  const inside = pages.filter((p) => p.start < hi && p.start + p.size > lo);
  if (inside.length <= 1) {
    const page = inside[0] ?? pages[0]!;
    return { ...v, storage: l.storages.borrow(page), offset: v.offset - page.start };
  }
  // Each join appends the next page's share to what is joined so far.
  const first = inside[0]!;
  let joined: Arg = l.arg(l.storages.borrow(first));
  let from = lo - first.start, length = first.start + first.size - lo;
  let temp: GpuStorage | null = null;
  for (const page of inside.slice(1)) {
    const take = Math.min(page.size, hi - page.start);
    const next = l.run('join', join, length + take, { aRow: length, bRow: take, aOffset: from }, joined, l.arg(l.storages.borrow(page)));
    l.done(temp);
    temp = next;
    joined = l.arg(next);
    from = 0;
    length += take;
  }
  temps.push(temp!);
  return { ...v, storage: temp!, offset: v.offset - lo };
}

/**
 * Runs `body` on the op's views when its outputs and everything it reads fit one texture each
 * (through windows); otherwise on slices of the sliced axis, as many items at a time as fit.
 * Returns each slice's result, in order.
 */
export function slices<T>(l: Launcher, op: Slicing, body: (sliced: View[], whole: Array<View | null>) => T): T[] {
  const limit = l.pageSize;
  const fits = (v: View | null) => !v || span(v) <= limit;
  const outputSize = (o: Output) => ('item' in o ? o.item * op.items : o.size);
  if (op.outputs.every((o) => outputSize(o) <= limit) && op.sliced.every((s) => fits(s.view)) && op.whole.every(fits)) {
    const temps: GpuStorage[] = [];
    try {
      return [body(op.sliced.map((s) => window(l, s.view, temps)), op.whole.map((v) => v && window(l, v, temps)))];
    } finally {
      l.done(...temps);
    }
  }
  let per = Infinity;
  for (const o of op.outputs) per = Math.min(per, 'item' in o ? Math.floor(limit / o.item) : o.size <= limit ? Infinity : 0);
  for (const s of op.sliced) per = Math.min(per, itemsWithin(s.view, s.axis, limit));
  const out: T[] = [];
  if (per < 1 && op.refine) {
    for (let from = 0; from < op.items; from++) out.push(...slices(l, op.refine(op.sliced.map((s) => slice(s.view, s.axis, from, 1))), body));
    return out;
  }
  if (per < 1 || !op.whole.every(fits)) {
    throw new Error(`gpu backend: ${op.name} cannot be cut into pieces that fit a texture of ${limit.toLocaleString('en-US')} values: one item of its inputs [${op.sliced.map((s) => s.view.shape.join(',')).join('], [')}] along the sliced axis, or an input read whole, or its output is bigger than that`);
  }
  for (let from = 0; from < op.items; from += per) {
    const count = Math.min(per, op.items - from);
    out.push(...slices(l, { ...op, items: count, sliced: op.sliced.map((s) => ({ view: slice(s.view, s.axis, from, count), axis: s.axis })) }, body));
  }
  return out;
}

/**
 * An op that fits runs as it is; a bigger one runs slice by slice, its outputs put together from
 * theirs: stitched side by side, or folded by `fold` (for outputs with `combine`).
 */
export function sliced(l: Launcher, op: Slicing, body: (sliced: View[], whole: Array<View | null>) => Storage[], fold?: Fold): Storage[] {
  const parts = slices(l, op, body);
  return op.outputs.map((o, k) => {
    const outputs = parts.map((p) => p[k]!);
    if ('item' in o) return l.storages.stitch(outputs);
    if (outputs.length === 1) return outputs[0]!;
    if (!fold) throw new Error(`gpu backend: ${op.name}'s slices give whole outputs, and nothing was given to fold them (a bug)`);
    return fold(o.combine, outputs);
  });
}

/** A storage of `size` values, written a page at a time by `page(start, count)`. */
export function paged(l: Launcher, size: number, page: (start: number, count: number) => Storage): GpuStorage {
  const parts: Storage[] = [page(0, Math.min(size, l.pageSize))];
  for (let start = l.pageSize; start < size; start += l.pageSize) parts.push(page(start, Math.min(l.pageSize, size - start)));
  return l.storages.stitch(parts);
}
