// Elementwise ops: one thread an output value, each input read through its view (kernels/elementwise.ts).

import { sizeOf } from '../../../util/shape.js';
import type { BinaryOp, Storage, UnaryOp, View } from '../../backend.js';
import { binary as binaryKernel, binaryScalar as binaryScalarKernel, BINARY_OPS, unary as unaryKernel, UNARY_OPS } from '../../../../kernels/elementwise.js';
import { flat, outputDims, viewConstants, type Launcher } from '../launch.js';
import { alongLeadingAxis, sliced } from '../slicing.js';
import type { GpuStorage } from '../storage.js';

/** An elementwise op (output of the views' shape), sliced along the leading axis when it is bigger than a texture. */
function elementwise(l: Launcher, name: string, views: View[], body: (views: View[]) => Storage): Storage {
  return sliced(l, alongLeadingAxis(name, views), (v) => [body(v)])[0]!;
}

export function unary(l: Launcher, op: UnaryOp, x: View): Storage {
  return elementwise(l, 'unary', [x], ([x]) => l.run('unary', unaryKernel, sizeOf(x!.shape), { op: UNARY_OPS.indexOf(op), ...outputDims(x!.shape), ...viewConstants('x', x!) }, l.arg(x!.storage)));
}

export function binary(l: Launcher, op: BinaryOp, a: View, b: View): Storage {
  return elementwise(l, 'binary', [a, b], ([a, b]) => l.run('binary', binaryKernel, sizeOf(a!.shape), { op: BINARY_OPS.indexOf(op), ...outputDims(a!.shape), ...viewConstants('a', a!), ...viewConstants('b', b!) }, l.arg(a!.storage), l.arg(b!.storage)));
}

export function binaryScalar(l: Launcher, op: BinaryOp, a: View, s: number): Storage {
  return elementwise(l, 'binaryScalar', [a], ([a]) => l.run('binaryScalar', binaryScalarKernel, sizeOf(a!.shape), { op: BINARY_OPS.indexOf(op), ...outputDims(a!.shape), ...viewConstants('a', a!) }, l.arg(a!.storage), s));
}

/** Folds slices' whole outputs with `op` (e.g. partial sums into the sum): slicing.ts's Fold. */
export function combine(l: Launcher, op: BinaryOp, parts: Storage[]): Storage {
  return parts.reduce((acc, part) => {
    const next = binary(l, op, flat(acc), flat(part));
    l.done(acc as GpuStorage, part as GpuStorage);
    return next;
  });
}
