export { parseSafetensors, serializeSafetensors, MAX_HEADER_BYTES, type Safetensors } from './safetensors.js';
export { toNetworkInput, imageGrid, trajectoryStrip, type RGBAImage } from './image.js';
export { lossCurve } from './plot.js';
