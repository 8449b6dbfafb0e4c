// Watching a model run: which modules ran, in order, with the shape each one made. For teaching
// and debugging (the tour prints UNet-S's shapes with it, and docs:figures draws the UNet from
// it); nothing in training uses it.

import type { Tensor } from '../tensor/tensor.js';
import type { Module } from './module.js';

export interface TraceEntry {
  /** The module's dotted name in the model (as in the state dict, e.g. "down.1.res.0"). */
  name: string;
  /** The module's class (ResBlock, AttentionBlock, Conv2d, …). */
  kind: string;
  input: number[];
  output: number[];
}

/** A tensor's shape, or [n] for a list of n numbers (the timesteps a time embedding takes). */
const shapeOf = (x: unknown): number[] => (Array.isArray(x) ? [x.length] : [...(x as Tensor).shape]);

/**
 * Runs `fn` with every submodule of `model` down to `depth` levels of names watched, and returns
 * what it returned and, in the order they finished, each watched module's first input shape and
 * its output shape. The modules are restored afterwards, even if `fn` throws.
 */
export function traceShapes<T>(model: Module, fn: () => T, { depth = Infinity } = {}): { result: T; trace: TraceEntry[] } {
  const trace: TraceEntry[] = [];
  const restore: Array<() => void> = [];
  const watch = (m: Module, name: string, level: number) => {
    const w = m as unknown as { forward?: (...args: unknown[]) => unknown };
    const forward = w.forward;
    if (name && typeof forward === 'function') {
      const own = Object.prototype.hasOwnProperty.call(m, 'forward');
      w.forward = (...args: unknown[]) => {
        const out = forward.apply(m, args) as Tensor;
        trace.push({ name, kind: m.constructor.name, input: shapeOf(args[0]), output: [...out.shape] });
        return out;
      };
      restore.push(() => (own ? (w.forward = forward) : delete w.forward));
    }
    if (level < depth) for (const [child, sub] of m.namedModules()) watch(sub, name ? `${name}.${child}` : child, level + 1);
  };
  watch(model, '', 0);
  try {
    return { result: fn(), trace };
  } finally {
    restore.forEach((undo) => undo());
  }
}
