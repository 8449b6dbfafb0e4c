export { type Dataset, sampleBatch, stackImages, facesDataset, inMemoryDataset, toBytes } from './dataset.js';
export { renderFace, faceAttributes, FACE_ATTRIBUTES, type FaceAttributes } from './faces.js';
export { imageSetDataset, MAX_IMAGE_PIXELS, type ImageSource, type ImageSetOptions } from './image-set.js';
export { imageFilesDataset } from '../browser/image-files.js';

import type { DataConfig } from '../config.js';
import { platform } from '../platform.js';
import type { Dataset } from './dataset.js';

/** The dataset a config's `data` section describes (image folders and MNIST need Node). */
export function loadDataset(data: DataConfig, events: { warn?: (m: string) => void } = {}): Promise<Dataset> {
  return platform().loadDataset(data, events);
}
