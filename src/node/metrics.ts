// The metrics namespace in Node: the core's, and the feature network's cache folder.

export * from '../metrics/index.js';
export { loadFaceFeatures, defaultCacheDir, type CachedFeatures } from './feature-cache.js';
