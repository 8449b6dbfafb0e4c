export { parseSafetensors, serializeSafetensors, loadSafetensors, saveSafetensors, MAX_HEADER_BYTES, type Safetensors } from './safetensors.js';
export { readImage, decodeImage, toNetworkInput, imageGrid, trajectoryStrip, encodePng, writePng, type RGBAImage } from './image.js';
export { lossCurve } from './plot.js';
export { writeAtomic, appendLine, ensureDir, describeFsError, FileWriteError } from './files.js';
