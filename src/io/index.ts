export { parseSafetensors, serializeSafetensors, loadSafetensors, saveSafetensors, type Safetensors } from './safetensors.js';
export { readImage, decodeImage, toNetworkInput, imageGrid, trajectoryStrip, encodePng, writePng, type RGBAImage } from './image.js';
export { lossCurve } from './plot.js';
export { writeAtomic } from './atomic.js';
