// The data namespace in Node: the core's (generated faces, in-memory datasets), image folders and
// MNIST, and the loader the Node platform uses for a config's `data` section.

import type { DataConfig } from '../config.js';
import { facesDataset, type Dataset } from '../data/dataset.js';
import { folderDataset } from './folder.js';
import { mnistDataset } from './mnist.js';

export * from '../data/index.js';
export { folderDataset, type FolderOptions } from './folder.js';
export { mnistDataset, MNIST_INSTALL_HINT, MNIST_INSTALL_COMMAND } from './mnist.js';

export async function loadNodeDataset(data: DataConfig, events: { warn?: (m: string) => void } = {}): Promise<Dataset> {
  switch (data.source) {
    case 'faces':
      return facesDataset(data.imageSize, data.channels);
    case 'folder':
      return folderDataset(data.path!, { imageSize: data.imageSize, channels: data.channels, skipBad: data.skipBad, ...events });
    case 'mnist':
      return mnistDataset(data.imageSize, data.channels);
  }
}
