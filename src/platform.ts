// What differs between Node and a page, behind one small interface. The core (everything the
// browser bundle holds) imports nothing from Node; the Node entry (src/node/index.ts) installs
// Node's implementations when it is imported, and a page may install its own.

import type { DataConfig } from './config.js';
import { facesDataset, type Dataset } from './data/dataset.js';
import type { RunStore } from './diffusion/store.js';
import { faceReference } from './metrics/face-reference.js';
import { trainFeatureNet, type FeatureNet, type FeatureRecipe } from './metrics/feature-net.js';
import type { ReferenceSet } from './metrics/reference.js';

export interface Platform {
  /** The store a run with this output folder writes to (no default in a page: pass one). */
  openStore(outDir: string): RunStore;
  /** The dataset a config's `data` section describes. */
  loadDataset(data: DataConfig, events: { warn?: (message: string) => void }): Promise<Dataset>;
  /** Memory a run may use, in bytes. */
  totalMemory(): number;
  /** The reference set an FID of this data compares samples with (generated faces; MNIST in Node). */
  referenceSet(data: DataConfig): Promise<ReferenceSet>;
  /** The feature network of a reference set by a recipe (Node keeps it in a cache folder; a page trains it in memory). */
  featureNet(reference: ReferenceSet, recipe: FeatureRecipe, log?: (message: string) => void): Promise<FeatureNet>;
}

let current: Platform = {
  openStore: () => {
    throw new Error('this platform has no file system: pass a store (for example new diffusion.MemoryStore()) to Trainer.create');
  },
  loadDataset: async (data) => {
    if (data.source !== 'faces') throw new Error(`data.source '${data.source}' needs Node (files); in a page, pass a dataset to Trainer.create`);
    return facesDataset(data.imageSize, data.channels);
  },
  totalMemory: () => Infinity,
  referenceSet: async (data) => faceReferenceFor(data),
  featureNet: async (reference, recipe, log) => (await trainFeatureNet(reference, recipe, log)).net,
};

/** Why data of this source cannot be measured by an FID. */
const noReference = (source: string): string => `an FID needs labelled real images held out from training: generated faces (data.source 'faces') or MNIST digits ('mnist', in Node); data.source '${source}' has none`;

/** The reference set of generated faces; any other data has none (Node adds MNIST's). */
export function faceReferenceFor(data: Pick<DataConfig, 'source' | 'imageSize' | 'channels'>): ReferenceSet {
  if (data.source !== 'faces') throw new Error(noReference(data.source));
  return faceReference(data.imageSize, data.channels);
}

export function platform(): Platform {
  return current;
}

export function setPlatform(p: Partial<Platform>): void {
  current = { ...current, ...p };
}
