// The data namespace of the public API (src/index.ts): the core's datasets, and photos picked in
// a page (src/browser/image-files.ts builds on src/data, so the two meet here, above both).

export * from './data/index.js';
export { imageFilesDataset } from './browser/image-files.js';
