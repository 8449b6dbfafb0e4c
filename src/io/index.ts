export { parseSafetensors, serializeSafetensors, loadSafetensors, saveSafetensors, type Safetensors } from './safetensors.js';
