export { Module, ModuleList, Container, stateDictProblems, type StateDict, type LoadOptions } from './module.js';
export { Linear, Conv2d, GroupNorm, type InitOptions, type Conv2dConfig } from './layers.js';
export { TimeEmbedding } from './time-embedding.js';
export { ResBlock, type ResBlockOptions } from './resblock.js';
export { AttentionBlock } from './attention.js';
export { UNet, resolveUNetConfig, checkUNetConfig, type UNetConfigProblem, planUNet, defaultUNetConfig, type UNetConfig, type UNetPlan, type LevelPlan } from './unet.js';
export { uniform, defaultBound } from './init.js';
export { traceShapes, type TraceEntry } from './trace.js';
