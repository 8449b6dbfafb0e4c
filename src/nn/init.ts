// Parameter initialisation, PyTorch's defaults, from a seeded generator.

import { tensor } from '../ops/creation.js';
import type { Rng } from '../random/rng.js';
import { sizeOf, type Shape } from '../util/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/** Uniform on [-bound, bound). */
export function uniform(shape: Shape, bound: number, rng: Rng): Tensor {
  const data = new Float32Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = (2 * rng.uniform() - 1) * bound;
  return tensor(data, shape);
}

/**
 * PyTorch's Linear/Conv2d default: kaiming_uniform(a = √5) for the weight, which works out to
 * U(±1/√fan_in), and U(±1/√fan_in) for the bias.
 */
export function defaultBound(fanIn: number): number {
  return 1 / Math.sqrt(fanIn);
}
