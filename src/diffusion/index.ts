export { makeSchedule, type Schedule, type ScheduleOptions, type ScheduleKind } from './schedule.js';
export { qSample, trainingTarget, minSnrWeights, predictedEps, predictX0, perItem, type Prediction } from './process.js';
export { ddpmStep, ddimStep, ddimTimesteps, type StepOptions, type Variance } from './sampler-steps.js';
export { sample, sampleSteps, samplingPlan, samplerOptionsFor, type SamplingState, type Denoiser, type SamplerOptions, type SampleRequest, type SampleResult, type SamplerKind } from './sampler.js';
export { Trainer, TrainingDivergedError, RunExistsError, RunWriteError, configFileText, type Progress, type TrainerEvents, type TrainerOptions } from './trainer.js';
export { estimateMemory, activationsPerImage, assertFits, formatBytes, MAX_TENSOR_ELEMENTS, type MemoryEstimate } from './memory-estimate.js';
export { serializeCheckpoint, parseCheckpoint, parseSamplingWeights, samplingSetup, type SamplingSetup, CHECKPOINT_FORMAT, type CheckpointState, type LoadedCheckpoint, type SamplingWeights } from './checkpoint.js';
export { MemoryStore, StoreWriteError, type RunStore } from './store.js';
