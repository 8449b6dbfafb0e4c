// What differs between Node and a page, behind one small interface. The core (everything the
// browser bundle holds) imports nothing from Node; the Node entry (src/node/index.ts) installs
// Node's implementations when it is imported, and a page may install its own.

import type { DataConfig } from './config.js';
import { facesDataset, type Dataset } from './data/dataset.js';
import type { RunStore } from './diffusion/store.js';
import { trainFaceFeatures, type FaceFeatureNet, type FeatureRecipe } from './metrics/face-features.js';

export interface Platform {
  /** The store a run with this output folder writes to (no default in a page: pass one). */
  openStore(outDir: string): RunStore;
  /** The dataset a config's `data` section describes. */
  loadDataset(data: DataConfig, events: { warn?: (message: string) => void }): Promise<Dataset>;
  /** Memory a run may use, in bytes. */
  totalMemory(): number;
  /** The face feature network for a recipe (Node keeps it in a cache folder; a page trains it in memory). */
  faceFeatures(recipe: FeatureRecipe, log?: (message: string) => void): Promise<FaceFeatureNet>;
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
  faceFeatures: async (recipe, log) => trainFaceFeatures(recipe, log).net,
};

export function platform(): Platform {
  return current;
}

export function setPlatform(p: Partial<Platform>): void {
  current = { ...current, ...p };
}
