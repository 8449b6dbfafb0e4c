export { type Dataset, sampleBatch, stackImages, facesDataset, inMemoryDataset, toBytes } from './dataset.js';
export { renderFace, faceAttributes, FACE_ATTRIBUTES, type FaceAttributes } from './faces.js';
export { imageSetDataset, type ImageSource, type ImageSetOptions } from './image-set.js';
