// A reference set's feature network (src/metrics/feature-net.ts) is trained once and kept in a
// cache folder, named by a hash of what made it (the reference set's name and labels, and the
// recipe): a change to any trains a new one, and an unchanged one is loaded in milliseconds.

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { checkRecipe, FeatureNet, trainFeatureNet, type FeatureRecipe } from '../metrics/feature-net.js';
import type { ReferenceSet } from '../metrics/reference.js';
import { parseSafetensors, serializeSafetensors } from '../io/safetensors.js';
import { checkDirUsable, writeAtomic } from './files.js';

const FORMAT = 'ddpm-ts-features/4';

/** Where cached networks go by default: $XDG_CACHE_HOME/ddpm-ts, else ~/.cache/ddpm-ts. */
export const defaultCacheDir = (): string => join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'ddpm-ts');

/** FNV-1a, 32 bits, as 8 hex digits: a short name for what made a file. */
function hash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

export interface CachedFeatures {
  net: FeatureNet;
  /** Each label's share predicted right on the reference's scored images, measured when it was trained. */
  accuracy: Record<string, number>;
  path: string;
  /** True when this call trained it (nothing usable was cached). */
  trained: boolean;
}

/**
 * The feature network of `reference` by `recipe`, from the cache folder, or trained and saved
 * there. A cached file that cannot be used (damaged, or made by another recipe under the same
 * name) is said and replaced: it is the cache's own file.
 */
export async function loadFeatureNet(reference: ReferenceSet, recipe: FeatureRecipe, { cacheDir = defaultCacheDir(), log = (m: string) => console.log(m) }: { cacheDir?: string; log?: (message: string) => void } = {}): Promise<CachedFeatures> {
  checkRecipe(reference, recipe);
  const made = JSON.stringify({ format: FORMAT, reference: reference.name, labels: reference.labels, recipe });
  const path = join(cacheDir, `${reference.name}-features-${recipe.imageSize}px-${recipe.channels}ch-${hash(made)}.safetensors`);
  if (existsSync(path)) {
    try {
      const bytes = await readFile(path);
      const { tensors, metadata } = parseSafetensors(bytes, path);
      if (metadata.made !== made) throw new Error('it was made by another recipe');
      // A changed weight (a flipped bit, a hand edit) would move every FID without a word: the
      // file carries a hash of its tensor bytes, checked here.
      if (metadata.weightsSha256 !== tensorBytesHash(bytes)) throw new Error(`its weights do not match the hash it was saved with (${metadata.weightsSha256 ?? 'none'}): the file was changed or damaged`);
      const net = new FeatureNet(recipe, reference.labels);
      net.loadStateDict(tensors);
      return { net, accuracy: JSON.parse(metadata.accuracy!) as Record<string, number>, path, trained: false };
    } catch (e) {
      log(`the cached feature network ${path} cannot be used (${(e as Error).message}): training it again`);
    }
  }
  // Before minutes of training: the cache folder must be one, or creatable, and writable.
  await checkDirUsable(cacheDir).catch((e: Error) => {
    throw new Error(`the feature network's cache: ${e.message} (give another folder: eval.js --cache DIR, or XDG_CACHE_HOME)`);
  });
  log(`training the ${reference.name} feature network once (${recipe.steps} steps; cached at ${path})`);
  const { net, accuracy } = await trainFeatureNet(reference, recipe, log);
  await mkdir(cacheDir, { recursive: true });
  const metadata = { format: FORMAT, made, accuracy: JSON.stringify(accuracy) };
  // The tensor bytes do not depend on the header, so they are hashed from a first serialisation.
  const weightsSha256 = tensorBytesHash(await serializeSafetensors(net.stateDict(), metadata));
  await writeAtomic(path, await serializeSafetensors(net.stateDict(), { ...metadata, weightsSha256 }));
  return { net, accuracy, path, trained: true };
}

/** SHA-256 of a safetensors file's tensor bytes (everything after its header), in hex. */
function tensorBytesHash(file: Uint8Array): string {
  const headerLength = Number(new DataView(file.buffer, file.byteOffset, 8).getBigUint64(0, true));
  return createHash('sha256').update(file.subarray(8 + headerLength)).digest('hex');
}
