// Reverse-mode automatic differentiation.
//
// Ops record a GradNode on their output when any input requires a gradient. backward() orders
// the graph topologically from the output, walks it in reverse applying each node's
// vector-Jacobian product, sums gradients where a tensor feeds several ops, and adds the result
// into the `.grad` of leaves. The graph is then released, so a training loop does not keep every
// step's activations alive.
//
// A leaf's gradient is its own: a contiguous tensor in a storage no other tensor shares (a
// gradient that arrives as a view, or that another leaf already took, is copied), accumulated
// in place by later backward() calls, and freed by zeroGrad (clearGrad below). One exception
// saves a launch a layer: an op may return several inputs' gradients as views of one storage
// made for them (gradientPack: a convolution's weight and bias, a GroupNorm's γ and β); each
// leaf owns its own region of it, and the storage is freed when the last of them is dropped.

import { sameBackend, Tensor, type GradNode } from './tensor.js';
import { contiguousStrides, isContiguous, shapeStr, sameShape } from '../util/shape.js';
import type { Storage } from '../backends/backend.js';
import { dispose } from '../backends/scope.js';

// Gradients are summed with the backend's kernels directly, not through ops/ (which build on
// this file): under noGrad an op would record nothing anyway.

/** a + b, of one shape, on their backend. */
const sum = (a: Tensor, b: Tensor) => new Tensor(sameBackend('backward', a, b).binary('add', a, b), a.shape);
/** A contiguous copy of g that no other tensor shares. */
const copyOf = (g: Tensor) => new Tensor(g.backend.unary('copy', g), g.shape);

/**
 * The storages backward() made for leaves' gradients, with how many leaves hold a gradient in
 * each (two for a pack whose regions two leaves took): clearGrad frees one when its last leaf
 * drops it (never a tensor the user set as a gradient).
 */
const madeForGrads = new WeakMap<Storage, number>();

/** Storages that hold several gradients side by side, each region an input's own (gradientPack). */
const packs = new WeakSet<Storage>();

/**
 * Views of one fresh storage, end to end, shaped as `shapes`: the gradients an op computed in
 * one kernel for several inputs (a weight's then its bias's). Leaves take their regions as their
 * own gradients without a copy.
 */
export function gradientPack(storage: Storage, ...shapes: ReadonlyArray<readonly number[]>): Tensor[] {
  packs.add(storage);
  let at = 0;
  return shapes.map((shape) => {
    const view = new Tensor(storage, shape, contiguousStrides(shape), at);
    at += view.size;
    return view;
  });
}

/** Parameters whose gradient comes in one pack with another's: a bias's, with its weight's. */
const packedWith = new WeakMap<Tensor, Tensor>();

/**
 * Says that `bias`'s gradient comes in one pack with `weight`'s (a layer whose op makes them
 * with gradientPack): optimizers then count the two as one input of a fused kernel.
 */
export function gradientsPacked(weight: Tensor, bias: Tensor): void {
  packedWith.set(bias, weight);
}

/** The tensor whose gradient's storage t's gradient shares: t itself, unless gradientsPacked said so. */
export function gradientHome(t: Tensor): Tensor {
  return packedWith.get(t) ?? t;
}

/**
 * Drops a tensor's gradient (zeroGrad). One that backward() made is freed at once on backends
 * that free memory (a pack once its last leaf drops its region), so GPU memory stays flat from
 * step to step; reading it later is an error naming zeroGrad.
 */
export function clearGrad(t: Tensor): void {
  const holders = t.grad ? madeForGrads.get(t.grad.storage) : undefined;
  if (t.grad && holders !== undefined) {
    if (holders > 1) madeForGrads.set(t.grad.storage, holders - 1);
    else dispose(t.grad, 'zeroGrad() (a gradient lives until its tensor\'s next zeroGrad; read or clone it before)');
  }
  t.grad = null;
}

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs `fn` without recording a graph (sampling, optimizer updates) and returns its result. */
export function noGrad<T>(fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

/**
 * Marks `out` as made by `op` from `inputs`. Called by every differentiable op after computing
 * its forward value; does nothing when no input needs a gradient or recording is off.
 */
export function record(out: Tensor, op: string, inputs: readonly Tensor[], backward: GradNode['backward']): Tensor {
  if (!gradEnabled || !inputs.some((t) => t.requiresGrad)) return out;
  out.requiresGrad = true;
  out.gradNode = { op, inputs, backward };
  return out;
}

/**
 * Adds g into a leaf's .grad: in place when it has one (as PyTorch accumulates: t.grad stays the
 * same tensor), else g becomes its gradient, copied first when it is a view or a storage that
 * `taken` (the caller's gradOutput, another leaf's gradient) says is not free to own. A region of
 * a gradient pack is owned as it is, unless another leaf took that region.
 */
function addToLeafGrad(t: Tensor, g: Tensor, taken: Map<Storage, Set<number>>): void {
  if (t.grad) {
    t.grad.assign(sum(t.grad, g));
    return;
  }
  const regions = taken.get(g.storage);
  const whole = g.offset === 0 && g.storage.size === g.size && isContiguous(g.shape, g.strides);
  const packed = packs.has(g.storage) && isContiguous(g.shape, g.strides);
  const free = whole ? !regions : packed && !regions?.has(g.offset);
  const own = free ? g : copyOf(g);
  if (!taken.has(own.storage)) taken.set(own.storage, new Set());
  taken.get(own.storage)!.add(own.offset);
  madeForGrads.set(own.storage, (madeForGrads.get(own.storage) ?? 0) + 1);
  t.grad = own;
}

function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // Iterative depth-first search: a deep UNet graph would overflow a recursive one.
  const stack: Array<[Tensor, number]> = [[root, 0]];
  seen.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const [t, next] = top;
    const node = t.gradNode;
    if (node === 'released') {
      throw new Error(`backward: the graph through this tensor was already released by an earlier backward()`);
    }
    const inputs = node ? node.inputs : [];
    if (next < inputs.length) {
      top[1] = next + 1;
      const child = inputs[next]!;
      if (child.requiresGrad && !seen.has(child)) {
        seen.add(child);
        stack.push([child, 0]);
      }
    } else {
      order.push(t);
      stack.pop();
    }
  }
  return order;
}

export function backward(root: Tensor, gradOutput?: Tensor): void {
  if (!root.requiresGrad) throw new Error('backward: tensor does not require grad (no input had requiresGrad)');
  let seed: Tensor;
  if (gradOutput === undefined) {
    if (root.size !== 1) {
      throw new Error(`backward: output has shape ${shapeStr(root.shape)}; pass gradOutput for a non-scalar`);
    }
    seed = new Tensor(root.backend.fromArray(new Float32Array(root.size).fill(1)), root.shape); // dL/dL = 1
  } else {
    if (!sameShape(gradOutput.shape, root.shape)) {
      throw new Error(`backward: gradOutput shape ${shapeStr(gradOutput.shape)} differs from output ${shapeStr(root.shape)}`);
    }
    seed = gradOutput.detach();
  }

  const order = topologicalOrder(root);
  const grads = new Map<Tensor, Tensor>([[root, seed]]);
  // Regions (storage, offset) a leaf may not take as its own: the caller's gradOutput, and those leaves took already.
  const taken = new Map<Storage, Set<number>>([[seed.storage, new Set([seed.offset])]]);
  noGrad(() => {
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i]!;
      const g = grads.get(t);
      grads.delete(t);
      if (!g) continue;
      const node = t.gradNode;
      if (node === null || node === 'released') {
        addToLeafGrad(t, g, taken);
        continue;
      }
      const inputGrads = node.backward(g);
      node.inputs.forEach((input, k) => {
        const gi = inputGrads[k];
        if (!gi || !input.requiresGrad) return;
        if (!sameShape(gi.shape, input.shape)) {
          throw new Error(`backward: ${node.op} produced a gradient of shape ${shapeStr(gi.shape)} for an input of shape ${shapeStr(input.shape)}`);
        }
        const previous = grads.get(input);
        grads.set(input, previous ? sum(previous, gi) : gi);
      });
    }
  });
  for (const t of order) if (t.gradNode !== null) t.gradNode = 'released';
}
