// Checkpoint files (Node): serialised and written atomically, or read and checked.

import { readFile } from 'node:fs/promises';
import { parseCheckpoint, serializeCheckpoint, type CheckpointState, type LoadedCheckpoint } from '../diffusion/checkpoint.js';
import type { Module } from '../nn/module.js';
import type { Adam } from '../optim/adam.js';
import type { EMA } from '../optim/ema.js';
import { writeAtomic } from './files.js';

export async function saveCheckpoint(path: string, parts: { model: Module; ema: EMA; optimizer: Adam }, state: CheckpointState): Promise<void> {
  await writeAtomic(path, serializeCheckpoint(parts, state));
}

/** Reads and checks a checkpoint file (see parseCheckpoint). */
export async function loadCheckpoint(path: string): Promise<LoadedCheckpoint> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new Error(`cannot read the checkpoint ${path}: ${(e as Error).message}`);
  }
  return parseCheckpoint(bytes, path);
}
