// Reverse-mode automatic differentiation.
//
// Ops record a GradNode on their output when any input requires a gradient. backward() orders
// the graph topologically from the output, walks it in reverse applying each node's
// vector-Jacobian product, sums gradients where a tensor feeds several ops, and adds the result
// into the `.grad` of leaves. The graph is then released, so a training loop does not keep every
// step's activations alive.

import type { GradNode, Tensor } from './tensor.js';
import { shapeStr, sameShape } from './shape.js';
import { add } from '../ops/elementwise.js';
import { ones } from '../ops/creation.js';

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
    seed = ones(root.shape);
  } else {
    if (!sameShape(gradOutput.shape, root.shape)) {
      throw new Error(`backward: gradOutput shape ${shapeStr(gradOutput.shape)} differs from output ${shapeStr(root.shape)}`);
    }
    seed = gradOutput.detach();
  }

  const order = topologicalOrder(root);
  const grads = new Map<Tensor, Tensor>([[root, seed]]);
  noGrad(() => {
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i]!;
      const g = grads.get(t);
      grads.delete(t);
      if (!g) continue;
      const node = t.gradNode;
      if (node === null || node === 'released') {
        t.grad = t.grad ? add(t.grad, g) : g;
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
        grads.set(input, previous ? add(previous, gi) : gi);
      });
    }
  });
  for (const t of order) if (t.gradNode !== null) t.gradNode = 'released';
}
