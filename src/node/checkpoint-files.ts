// Checkpoint files (Node): serialised and written atomically, or read and checked.

import { readFile } from 'node:fs/promises';
import { parseCheckpoint, parseSamplingWeights, serializeCheckpoint, type CheckpointState, type LoadedCheckpoint, type SamplingWeights } from '../diffusion/checkpoint.js';
import type { Module } from '../nn/module.js';
import type { Adam } from '../optim/adam.js';
import type { EMA } from '../optim/ema.js';
import { writeAtomic } from './files.js';

export async function saveCheckpoint(path: string, parts: { model: Module; ema: EMA; optimizer: Adam }, state: CheckpointState): Promise<void> {
  await writeAtomic(path, await serializeCheckpoint(parts, state));
}

async function readBytes(path: string, what: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new Error(`cannot read the ${what} ${path}: ${(e as Error).message}`);
  }
}

/** Reads and checks a checkpoint file (see parseCheckpoint). */
export async function loadCheckpoint(path: string): Promise<LoadedCheckpoint> {
  return parseCheckpoint(await readBytes(path, 'checkpoint'), path);
}

/** Reads and checks the weights to sample with: a checkpoint's EMA, or a weights-only file (see parseSamplingWeights). */
export async function loadSamplingWeights(path: string): Promise<SamplingWeights> {
  return parseSamplingWeights(await readBytes(path, 'weights file'), path);
}
