// Memory scopes: `tidy(fn)` frees every storage that backend kernels created while fn ran,
// except those behind the tensors fn returns (TensorFlow.js's tidy, for the same reason).
//
// The cpu backend's storages are Float32Arrays that the garbage collector reclaims as soon as
// nothing points at them. A GPU texture is different: the collector sees a small JavaScript
// object, has no idea of the megabytes behind it, and may leave thousands of dead textures
// alive for many steps. A training step or a sampling step inside tidy() releases its
// activations, gradients and temporaries the moment it ends, so GPU memory stays flat without
// waiting for the collector (which still frees what escapes every scope, as a fallback).
//
// Only backends with a `release` method take part (the gpu backend); for the others tidy() is
// just a function call. State that must outlive a step is updated in place with
// `tensor.assign(…)` (optimizer moments, EMA weights, parameters), never replaced, or kept with
// keep(): a leaf's gradient belongs to the leaf, not to the scope that computed it (as in
// PyTorch, it lives until the leaf's next zeroGrad), so backward() keeps the gradients it makes.

import type { Storage } from './backend.js';

const scopes: Array<Set<Storage>> = [];

/** Called by a backend for each storage it creates; the innermost open scope owns it. */
export function track(storage: Storage): void {
  scopes.at(-1)?.add(storage);
}

/** Takes a storage out of every open scope: it lives until released (dispose) or collected. */
export function keep(storage: Storage): void {
  for (const scope of scopes) scope.delete(storage);
}

/** The storages behind a returned value: a tensor, or arrays, Maps, Sets and plain objects of them. */
function storagesIn(value: unknown, out = new Set<Storage>()): Set<Storage> {
  if (value && typeof value === 'object') {
    if ('storage' in value && 'shape' in value) out.add((value as { storage: Storage }).storage);
    else if (Array.isArray(value) || value instanceof Set) for (const v of value) storagesIn(v, out);
    else if (value instanceof Map) for (const [k, v] of value) storagesIn(k, out), storagesIn(v, out);
    else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) storagesIn(v, out);
  }
  return out;
}

/**
 * Runs fn; afterwards frees every storage created inside it, except those behind the tensors
 * it returns (they pass to the enclosing scope, if any). A tensor freed this way throws a clear
 * error if it is used again. On an exception everything created inside is freed too.
 */
export function tidy<T>(fn: () => T): T {
  const created = new Set<Storage>();
  scopes.push(created);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const s of created) s.backend.release?.(s);
    throw e;
  }
  scopes.pop();
  const returned = storagesIn(result);
  for (const s of created) {
    if (returned.has(s)) track(s);
    else s.backend.release?.(s);
  }
  return result;
}

/**
 * Frees a tensor's storage now (on backends that release memory), e.g. a sampling chain's
 * previous step. Using the tensor afterwards is an error that names `by`.
 */
export function dispose(tensor: { storage: Storage }, by = 'dispose()'): void {
  keep(tensor.storage);
  tensor.storage.backend.release?.(tensor.storage, by);
}
