// safetensors files (Node): read and parsed, or serialised and written atomically.

import { readFile } from 'node:fs/promises';
import { parseSafetensors, serializeSafetensors, type Safetensors } from '../io/safetensors.js';
import type { Tensor } from '../tensor/tensor.js';
import { writeAtomic } from './files.js';

/** Loads a .safetensors file (Node) or parses bytes (anywhere). */
export async function loadSafetensors(pathOrBytes: string | ArrayBuffer | Uint8Array): Promise<Safetensors> {
  if (typeof pathOrBytes !== 'string') return parseSafetensors(pathOrBytes);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(pathOrBytes);
  } catch (e) {
    throw new Error(`loadSafetensors: cannot read ${pathOrBytes}: ${(e as Error).message}`);
  }
  return parseSafetensors(bytes, pathOrBytes);
}

/**
 * Writes a .safetensors file atomically: to a temporary file beside it, flushed to disk, then
 * renamed over the target, so a crash never leaves a half-written checkpoint in its place.
 */
export async function saveSafetensors(path: string, tensors: Map<string, Tensor> | Record<string, Tensor>, metadata: Record<string, string> = {}): Promise<void> {
  await writeAtomic(path, await serializeSafetensors(tensors, metadata));
}
