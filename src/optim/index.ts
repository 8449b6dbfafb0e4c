export { Adam, AdamW, type AdamOptions, type AdamState } from './adam.js';
export { clipGradNorm, clipScale } from './clip.js';
export { warmupLr, scheduledLr, type LrSchedule } from './lr.js';
export { EMA, type EMAOptions } from './ema.js';
