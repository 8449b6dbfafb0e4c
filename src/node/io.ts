// The io namespace in Node: the core's (safetensors bytes, images in memory, plots) and files.

export * from '../io/index.js';
export { loadSafetensors, saveSafetensors } from './safetensors-files.js';
export { readImage, decodeImage, encodePng, writePng } from './image-files.js';
export { writeAtomic, appendText, ensureDir, describeFsError, FileWriteError } from './files.js';
export { checkOutputFiles, checkRunInputs, OutputFileError, type OutputFile, type NamedPath } from './output-files.js';
