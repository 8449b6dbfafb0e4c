// The metrics namespace in Node: the core's, the feature networks' cache folder, and the
// reference set of a config's data (MNIST's needs Node: the package's files).

import type { DataConfig } from '../config.js';
import type { ReferenceSet } from '../metrics/reference.js';
import { faceReferenceFor } from '../platform.js';
import { mnistReference } from './mnist.js';

export * from '../metrics/index.js';
export { loadFeatureNet, defaultCacheDir, type CachedFeatures } from './feature-cache.js';
export { mnistReference, isHeldOutDigit } from './mnist.js';

/** The reference set an FID of this data compares samples with: generated faces or MNIST digits. */
export async function referenceFor(data: Pick<DataConfig, 'source' | 'imageSize' | 'channels'>): Promise<ReferenceSet> {
  return data.source === 'mnist' ? mnistReference(data.imageSize, data.channels) : faceReferenceFor(data);
}
