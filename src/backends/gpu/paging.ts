// Tensors bigger than one texture, the arithmetic half (the backend does the GPU half).
//
// One texture holds at most MAX_TEXTURE_SIZE² values, and a shader indexes it with float32
// numbers, exact only up to 2²⁴. So the gpu backend keeps a bigger tensor's storage as pages:
// consecutive runs of its flat storage, each in a texture of its own. A kernel still reads one
// texture per input. So an op on paged storages runs on slices: the output is cut along its
// leading axis into runs of items, each input view is cut the same way, and each slice of an
// input, which then spans few enough storage values, is read through a window: the one page
// that holds it, or a copy of the two or more pages it straddles. Inside a slice every index is
// relative to its window, below 2²⁴, so the kernels themselves never know about pages.
//
// These functions find what a view reads and how many items fit, on plain numbers.

import type { View } from '../backend.js';

/** The storage indices a view reads lie in [lo, hi); hi − lo is its span. */
export function readRange(v: Pick<View, 'shape' | 'strides' | 'offset'>): { lo: number; hi: number } {
  if (v.shape.some((n) => n === 0)) return { lo: v.offset, hi: v.offset };
  let lo = v.offset, hi = v.offset + 1;
  v.shape.forEach((n, k) => {
    const reach = (n - 1) * v.strides[k]!;
    if (reach < 0) lo += reach;
    else hi += reach;
  });
  return { lo, hi };
}

export function span(v: Pick<View, 'shape' | 'strides' | 'offset'>): number {
  const { lo, hi } = readRange(v);
  return hi - lo;
}

/** Items [from, from + count) along `axis` of a view (a view of the same storage). */
export function slice(v: View, axis: number, from: number, count: number): View {
  return {
    storage: v.storage,
    shape: v.shape.map((n, k) => (k === axis ? count : n)),
    strides: v.strides,
    offset: v.offset + from * v.strides[axis]!,
  };
}

/**
 * The first axis longer than 1 (0 when there is none). Cutting an output along it leaves each
 * slice one contiguous run of the output, which becomes one page.
 */
export function leadingAxis(shape: readonly number[]): number {
  const k = shape.findIndex((n) => n > 1);
  return k < 0 ? 0 : k;
}

/**
 * The most items along `axis` whose slice of v spans at most `limit` storage values: 0 when not
 * even one does, Infinity when the axis is broadcast (stride 0) and so adds nothing.
 */
export function itemsWithin(v: View, axis: number, limit: number): number {
  const one = span(slice(v, axis, 0, 1));
  if (one > limit) return 0;
  const stride = Math.abs(v.strides[axis]!);
  return stride === 0 ? Infinity : Math.floor((limit - one) / stride) + 1;
}
