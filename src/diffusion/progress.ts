// A one-line progress bar for terminals: step, bar, loss, speed, time left.

import type { Progress } from './trainer.js';

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

export function formatProgress(p: Progress, width = 24): string {
  const frac = p.totalSteps > 0 ? p.step / p.totalSteps : 1;
  const filled = Math.round(frac * width);
  const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
  const speed = p.stepsPerSecond >= 1 ? `${p.stepsPerSecond.toFixed(2)} it/s` : `${(1 / p.stepsPerSecond).toFixed(2)} s/it`;
  const digits = String(p.totalSteps).length;
  return `step ${String(p.step).padStart(digits)}/${p.totalSteps} ${bar} ${(frac * 100).toFixed(0).padStart(3)}% | loss ${p.loss.toFixed(4)} | ${speed} | ETA ${formatDuration(p.etaSeconds)}`;
}
