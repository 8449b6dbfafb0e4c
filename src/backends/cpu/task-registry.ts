// The CPU backend's parallel kernels, by name: the calling thread and every worker look tasks
// up here, so a worker needs only a name and the arena layout to run its part (threads.ts).

import { gemmTask } from './gemm.js';
import { groupNormBackwardTask, groupNormTask } from './norm.js';
import type { TaskContext } from './task-context.js';
import { winogradConvTask, winogradFilterGradTask } from './winograd.js';

export const tasks = {
  gemm: gemmTask,
  winogradConv: winogradConvTask,
  winogradFilterGrad: winogradFilterGradTask,
  groupNorm: groupNormTask,
  groupNormBackward: groupNormBackwardTask,
} satisfies Record<string, (params: never, ctx: TaskContext) => void>;

export type TaskName = keyof typeof tasks;
export type TaskParams<N extends TaskName> = Parameters<(typeof tasks)[N]>[0];
export type TaskArray = Float32Array | Float64Array;
