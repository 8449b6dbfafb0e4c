// Training checkpoints: one safetensors file with the model, its EMA, the optimizer's moments,
// and (in the metadata) the step, the config and the random generator's state: everything a
// resumed run needs to continue exactly as if it had never stopped. Written atomically.

import type { Config } from '../config.js';
import { loadSafetensors, saveSafetensors } from '../io/safetensors.js';
import type { Module } from '../nn/module.js';
import type { Adam } from '../optim/adam.js';
import type { EMA } from '../optim/ema.js';
import type { RngState } from '../random/rng.js';
import type { Tensor } from '../tensor/tensor.js';

export const CHECKPOINT_FORMAT = 'ddpm-ts-checkpoint/1';

export interface CheckpointState {
  step: number;
  config: Config;
  rng: RngState;
}

export interface LoadedCheckpoint extends CheckpointState {
  path: string;
  model: Map<string, Tensor>;
  ema: Map<string, Tensor>;
  emaUpdates: number;
  optimizer: { step: number; m: Map<string, Tensor>; v: Map<string, Tensor> };
}

export async function saveCheckpoint(path: string, parts: { model: Module; ema: EMA; optimizer: Adam }, state: CheckpointState): Promise<void> {
  const tensors = new Map<string, Tensor>();
  const names = parts.model.namedParameters().map(([n]) => n);
  for (const [n, p] of parts.model.namedParameters()) tensors.set(`model.${n}`, p);
  for (const [n, p] of parts.ema.stateDict()) tensors.set(`ema.${n}`, p);
  const { m, v, step: optimStep } = parts.optimizer.state();
  names.forEach((n, i) => {
    tensors.set(`adam.m.${n}`, m[i]!);
    tensors.set(`adam.v.${n}`, v[i]!);
  });
  await saveSafetensors(path, tensors, {
    format: CHECKPOINT_FORMAT,
    step: String(state.step),
    config: JSON.stringify(state.config),
    rng: JSON.stringify(state.rng),
    optimizerStep: String(optimStep),
    emaUpdates: String(parts.ema.updates),
  });
}

/** Reads a checkpoint; `model` and `ema` use the UNet's own parameter names. */
export async function loadCheckpoint(path: string): Promise<LoadedCheckpoint> {
  const { tensors, metadata } = await loadSafetensors(path);
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new Error(`${path}: not a ddpm-ts training checkpoint (its metadata format is ${JSON.stringify(metadata.format ?? null)}, expected '${CHECKPOINT_FORMAT}')`);
  }
  const group = (prefix: string) => new Map([...tensors].filter(([n]) => n.startsWith(prefix)).map(([n, t]) => [n.slice(prefix.length), t]));
  let config: Config, rng: RngState;
  try {
    config = JSON.parse(metadata.config!) as Config;
    rng = JSON.parse(metadata.rng!) as RngState;
  } catch (e) {
    throw new Error(`${path}: corrupt checkpoint metadata (${(e as Error).message})`);
  }
  return {
    path, step: Number(metadata.step), config, rng,
    model: group('model.'), ema: group('ema.'), emaUpdates: Number(metadata.emaUpdates),
    optimizer: { step: Number(metadata.optimizerStep), m: group('adam.m.'), v: group('adam.v.') },
  };
}
