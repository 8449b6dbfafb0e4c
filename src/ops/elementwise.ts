// Elementwise ops with NumPy broadcasting. Each states its derivative next to its forward;
// `unbroadcast` sums a gradient over the axes an operand was broadcast along.

import type { BinaryOp, UnaryOp } from '../backends/backend.js';
import { record } from '../tensor/autograd.js';
import { broadcastShapes } from '../util/shape.js';
import { sameBackend, Tensor } from '../tensor/tensor.js';
import { broadcastView, unbroadcast } from './view.js';

/** A tensor, or a plain number used as a constant (it gets no gradient). */
export type Operand = Tensor | number;

type Vjp = (g: Tensor) => Tensor;

function binary(op: BinaryOp, a: Operand, b: Operand, da: Vjp, db: Vjp): Tensor {
  if (typeof a === 'number' && typeof b === 'number') {
    throw new Error(`${op}: at least one operand must be a tensor`);
  }
  if (typeof b === 'number') {
    const x = a as Tensor;
    const out = new Tensor(x.backend.binaryScalar(op, x, b), x.shape);
    return record(out, op, [x], (g) => [da(g)]);
  }
  const A = typeof a === 'number' ? new Tensor(b.backend.fromArray(Float32Array.of(a)), []) : a;
  const be = sameBackend(op, A, b);
  const shape = broadcastShapes(op, A.shape, b.shape);
  const out = new Tensor(be.binary(op, broadcastView(A, shape), broadcastView(b, shape)), shape);
  return record(out, op, [A, b], (g) => [
    A.requiresGrad ? unbroadcast(da(g), A.shape) : null,
    b.requiresGrad ? unbroadcast(db(g), b.shape) : null,
  ]);
}

/** An elementwise function of x, with its vector-Jacobian product (given g and the output y). */
export function unary(op: UnaryOp, x: Tensor, dx: (g: Tensor, y: Tensor) => Tensor): Tensor {
  const out = new Tensor(x.backend.unary(op, x), x.shape);
  return record(out, op, [x], (g) => [dx(g, out)]);
}

// d(a + b)/da = 1, d(a + b)/db = 1
export function add(a: Operand, b: Operand): Tensor {
  return binary('add', a, b, (g) => g, (g) => g);
}

// d(a - b)/da = 1, d(a - b)/db = -1
export function sub(a: Operand, b: Operand): Tensor {
  return binary('sub', a, b, (g) => g, (g) => neg(g));
}

// d(a·b)/da = b, d(a·b)/db = a
export function mul(a: Operand, b: Operand): Tensor {
  return binary('mul', a, b, (g) => mul(g, b), (g) => mul(g, a));
}

// d(a/b)/da = 1/b, d(a/b)/db = -a/b²
export function div(a: Operand, b: Operand): Tensor {
  return binary('div', a, b, (g) => div(g, b), (g) => neg(div(mul(g, a), mul(b, b))));
}

// d(-x)/dx = -1
export function neg(x: Tensor): Tensor {
  return unary('neg', x, (g) => neg(g));
}

// d(eˣ)/dx = eˣ = y
export function exp(x: Tensor): Tensor {
  return unary('exp', x, (g, y) => mul(g, y));
}

// d(ln x)/dx = 1/x
export function log(x: Tensor): Tensor {
  return unary('log', x, (g) => div(g, x));
}

// d(√x)/dx = 1/(2√x) = 1/(2y)
export function sqrt(x: Tensor): Tensor {
  return unary('sqrt', x, (g, y) => div(g, mul(y, 2)));
}

// σ(x) = 1/(1 + e⁻ˣ);  dσ/dx = σ(1 - σ) = y(1 - y)
export function sigmoid(x: Tensor): Tensor {
  return unary('sigmoid', x, (g, y) => mul(g, mul(y, sub(1, y))));
}

/**
 * g·SiLU'(x) = g·σ(x)·(1 + x·(1 − σ(x))), in one backend op: SiLU's backward. Differentiable
 * only in g (a second derivative of SiLU is not needed here).
 */
export function siluGrad(x: Tensor, g: Tensor): Tensor {
  const be = sameBackend('siluGrad', x, g);
  const shape = broadcastShapes('siluGrad', x.shape, g.shape);
  const out = new Tensor(be.binary('siluGrad', broadcastView(x, shape), broadcastView(g, shape)), shape);
  return record(out, 'siluGrad', [g], (dy) => [unbroadcast(siluGrad(x, dy), g.shape)]);
}

/**
 * Limits every element to [lo, hi]. Not differentiable: the result is a constant (used on
 * predicted images while sampling).
 */
export function clamp(x: Tensor, lo: number, hi: number): Tensor {
  if (!(lo <= hi)) throw new Error(`clamp: lower bound ${lo} exceeds upper bound ${hi}`);
  const low = new Tensor(x.backend.binaryScalar('max', x, lo), x.shape);
  return new Tensor(x.backend.binaryScalar('min', low, hi), x.shape);
}

/** x·x, composed (its gradient 2x·g follows from mul's). */
export function square(x: Tensor): Tensor {
  return mul(x, x);
}
