// How optimizers write their results: a fresh storage, computed by a fused kernel, moved into the
// state it updates (no copy launched on a GPU), or copied in where that state is a view.

import type { Storage } from '../backends/backend.js';
import { dispose } from '../backends/scope.js';
import { isContiguous } from '../util/shape.js';
import { Tensor } from '../tensor/tensor.js';

/** Whether t is all of its storage, in order: the fused updates read and write such tensors. */
export function isWhole(t: Tensor): boolean {
  return t.offset === 0 && t.storage.size === t.size && isContiguous(t.shape, t.strides);
}

/** target's values become those of `fresh` (a storage of target's size, made for this), which is used up. */
export function moveInto(target: Tensor, fresh: Storage): void {
  if (isWhole(target)) {
    target.backend.move(target.storage, fresh);
    return;
  }
  const src = new Tensor(fresh, target.shape);
  target.assign(src);
  dispose(src);
}
