// Learning-rate schedules.

/** Linear warm-up from lr/warmupSteps to lr over the first warmupSteps steps (step counts from 0). */
export function warmupLr(baseLr: number, step: number, warmupSteps: number): number {
  if (warmupSteps <= 0) return baseLr;
  return baseLr * Math.min(1, (step + 1) / warmupSteps);
}

export type LrSchedule = 'constant' | 'cosine';

/**
 * The learning rate of step `step` (from 0) of `totalSteps`: the warm-up, then either constant or
 * a cosine from lr down towards 0 at the last step, lr·½(1 + cos(π·p)) with p the share of the
 * steps after the warm-up already taken (Loshchilov & Hutter 2017, without restarts). A run
 * resumed with more steps stretches the rest of its cosine over them.
 */
export function scheduledLr(baseLr: number, step: number, warmupSteps: number, totalSteps: number, schedule: LrSchedule): number {
  if (schedule === 'constant' || step < warmupSteps) return warmupLr(baseLr, step, warmupSteps);
  const p = Math.min(1, (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
  return baseLr * 0.5 * (1 + Math.cos(Math.PI * p));
}
