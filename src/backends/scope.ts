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
// Every backend frees what a scope made at its end (the cpu backend marks its arrays freed, for
// the garbage collector), so a script behaves the same on each: a tensor used after its scope,
// its dispose() or its gradient's zeroGrad() throws, naming what freed it. State that must
// outlive a step is updated in place with `tensor.assign(…)` (optimizer moments, EMA weights,
// parameters), never replaced, or kept with keep(): a leaf's gradient belongs to the leaf, not to
// the scope that computed it (as in PyTorch, it lives until the leaf's next zeroGrad), so
// backward() keeps the gradients it makes.
//
// What tidy keeps: every tensor reachable from its return value, through arrays, Maps, Sets and
// the own properties of any object (a plain one or an instance of your class), cycles included.
// An async function is refused: its scope would end at its first await.

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

/** The storages behind a returned value: every tensor reachable from it (see the rule above). */
function storagesIn(value: unknown, out = new Set<Storage>(), seen = new Set<object>()): Set<Storage> {
  if (!value || typeof value !== 'object' || seen.has(value)) return out;
  seen.add(value);
  if ('storage' in value && 'shape' in value) out.add((value as { storage: Storage }).storage);
  else if (Array.isArray(value) || value instanceof Set) for (const v of value) storagesIn(v, out, seen);
  else if (value instanceof Map) for (const [k, v] of value) storagesIn(k, out, seen), storagesIn(v, out, seen);
  else if (!ArrayBuffer.isView(value)) for (const v of Object.values(value)) storagesIn(v, out, seen);
  return out;
}

/** Why a freed tensor cannot be used, by what freed it; the same words on every backend. */
export function freedMessage(backend: string, by: string): string {
  if (by === 'tidy') return `${backend} backend: this tensor was freed at the end of the tidy() scope that created it; return it from the scope (or make it outside) to use it afterwards`;
  if (by === 'collected') return `${backend} backend: this tensor was freed when nothing referred to its storage any more`;
  return `${backend} backend: this tensor was freed by ${by}; it cannot be used afterwards`;
}

const ASYNC = 'tidy() takes a synchronous function: an async one returns at its first await, so its scope would end (freeing its tensors) before its work is done; await outside tidy, and tidy each synchronous step';

/**
 * Runs fn; afterwards frees every storage created inside it, except those behind the tensors
 * it returns (they pass to the enclosing scope, if any). A tensor freed this way throws a clear
 * error if it is used again. On an exception everything created inside is freed too.
 */
export function tidy<T>(fn: () => T): T {
  if (fn.constructor.name === 'AsyncFunction') throw new Error(ASYNC);
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
  if (result instanceof Promise) {
    for (const s of created) s.backend.release?.(s);
    throw new Error(ASYNC);
  }
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
