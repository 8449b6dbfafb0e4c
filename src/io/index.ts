export { parseSafetensors, serializeSafetensors, describeFileStart, MAX_HEADER_BYTES, type Safetensors, type ParseOptions } from './safetensors.js';
export { toNetworkInput, imageGrid, trajectoryStrip, type RGBAImage } from './image.js';
export { lossCurve } from './plot.js';
export { MAX_IMAGE_PIXELS } from './image-header.js';
