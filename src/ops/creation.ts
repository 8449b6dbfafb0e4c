// Making tensors: from JavaScript data, constants, and seeded random numbers.

import { getBackend } from '../backends/registry.js';
import { globalRng, type Rng } from '../random/rng.js';
import { checkShape, shapeStr, sizeOf, type Shape } from '../util/shape.js';
import { Tensor } from '../tensor/tensor.js';

export interface TensorOptions {
  requiresGrad?: boolean;
}

/** A tensor holding a copy of `data` (row-major), with the given shape. */
export function tensor(data: ArrayLike<number>, shape?: Shape, options: TensorOptions = {}): Tensor {
  const s = shape ?? [data.length];
  checkShape('tensor', s);
  if (sizeOf(s) !== data.length) {
    throw new Error(`tensor: shape ${shapeStr(s)} needs ${sizeOf(s)} values, got ${data.length}`);
  }
  const values = data instanceof Float32Array ? data : Float32Array.from(data);
  return new Tensor(getBackend().fromArray(values), s, undefined, 0, options.requiresGrad ?? false);
}

export function scalar(value: number): Tensor {
  return tensor([value], []);
}

export function full(shape: Shape, value: number, options: TensorOptions = {}): Tensor {
  checkShape('full', shape);
  return tensor(new Float32Array(sizeOf(shape)).fill(value), shape, options);
}

export function zeros(shape: Shape, options: TensorOptions = {}): Tensor {
  checkShape('zeros', shape);
  return new Tensor(getBackend().zeros(sizeOf(shape)), shape, undefined, 0, options.requiresGrad ?? false);
}

export function ones(shape: Shape, options: TensorOptions = {}): Tensor {
  return full(shape, 1, options);
}

/** Standard normal samples from `rng` (the package's seeded generator when omitted). */
export function randn(shape: Shape, rng: Rng = globalRng, options: TensorOptions = {}): Tensor {
  checkShape('randn', shape);
  const data = new Float32Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = rng.normal();
  return tensor(data, shape, options);
}

/** Uniform samples on [low, high). */
export function rand(shape: Shape, rng: Rng = globalRng, low = 0, high = 1, options: TensorOptions = {}): Tensor {
  checkShape('rand', shape);
  const data = new Float32Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = low + (high - low) * rng.uniform();
  return tensor(data, shape, options);
}
