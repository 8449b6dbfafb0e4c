export { type Dataset, sampleBatch, facesDataset, inMemoryDataset, toBytes } from './dataset.js';
export { renderFace } from './faces.js';
export { folderDataset, type FolderOptions } from './folder.js';
export { mnistDataset, MNIST_INSTALL_HINT, MNIST_INSTALL_COMMAND } from './mnist.js';

import type { DataConfig } from '../config.js';
import { facesDataset, type Dataset } from './dataset.js';
import { folderDataset } from './folder.js';
import { mnistDataset } from './mnist.js';

/** The dataset a config's `data` section describes. */
export async function loadDataset(data: DataConfig, events: { warn?: (m: string) => void; onProgress?: (done: number, total: number) => void } = {}): Promise<Dataset> {
  switch (data.source) {
    case 'faces':
      return facesDataset(data.imageSize, data.channels);
    case 'folder':
      return folderDataset(data.path!, { imageSize: data.imageSize, channels: data.channels, skipBad: data.skipBad, ...events });
    case 'mnist':
      return mnistDataset(data.imageSize, data.channels);
  }
}
