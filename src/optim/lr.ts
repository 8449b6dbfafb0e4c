// Learning-rate schedules.

/** Linear warm-up from lr/warmupSteps to lr over the first warmupSteps steps (step counts from 0). */
export function warmupLr(baseLr: number, step: number, warmupSteps: number): number {
  if (warmupSteps <= 0) return baseLr;
  return baseLr * Math.min(1, (step + 1) / warmupSteps);
}
