// The trainer: DDPM's training loop (Ho et al., Algorithm 1) with what a real run needs around
// it: warm-up, gradient clipping, an EMA of the weights, logs, sample grids, a loss curve,
// atomic checkpoints, exact resume, a clean stop on Ctrl-C, and a clear stop on divergence.
//
//   repeat: x_0 ~ data, t ~ Uniform{0, …, T−1}, ε ~ N(0, I)
//           take a gradient step on ‖target − net(√ᾱ_t x_0 + √(1−ᾱ_t) ε, t)‖²

import { mkdir, readFile, writeFile, appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setBackend } from '../backends/backend.js';
import { availableCores, getThreads, setThreads } from '../backends/cpu/threads.js';
import type { Config } from '../config.js';
import { loadDataset, sampleBatch, type Dataset } from '../data/index.js';
import { imageGrid, trajectoryStrip, writePng } from '../io/image.js';
import { lossCurve } from '../io/plot.js';
import { writeAtomic } from '../io/atomic.js';
import { UNet } from '../nn/unet.js';
import * as F from '../ops/index.js';
import { randn } from '../ops/creation.js';
import { Adam } from '../optim/adam.js';
import { clipGradNorm } from '../optim/clip.js';
import { EMA } from '../optim/ema.js';
import { warmupLr } from '../optim/lr.js';
import { Rng } from '../random/rng.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { qSample, trainingTarget } from './process.js';
import { sample, type SampleResult } from './sampler.js';
import { makeSchedule, type Schedule } from './schedule.js';

export interface Progress {
  step: number;
  totalSteps: number;
  loss: number;
  lr: number;
  stepsPerSecond: number;
  etaSeconds: number;
}

export interface TrainerEvents {
  /** Human-readable messages (where outputs go, checkpoints written, warnings). */
  log?: (message: string) => void;
  /** Called after every step. */
  progress?: (p: Progress) => void;
}

/** The stream seeds derived from config.seed: initialisation, training, and preview sampling. */
const STREAM = { init: 0, train: 0x5bd1e995, preview: 0x27d4eb2f } as const;
const streamRng = (seed: number, stream: keyof typeof STREAM) => new Rng((seed ^ STREAM[stream]) >>> 0);

export class TrainingDivergedError extends Error {}

export class Trainer {
  step = 0;
  /** Loss of every step run by this trainer (the first is step `startStep + 1`). */
  readonly losses: number[] = [];
  readonly schedule: Schedule;
  readonly ema: EMA;
  readonly optimizer: Adam;
  /** A second UNet that holds the EMA weights when sampling. */
  private readonly emaModel: UNet;
  private stopRequested = false;
  private lastCheckpointStep: number | null = null;
  /** (step, mean loss) of each logged window, for the loss curve. */
  private logged: Array<[number, number]> = [];
  private window: number[] = [];

  private constructor(
    readonly config: Config,
    readonly model: UNet,
    readonly data: Dataset,
    readonly rng: Rng,
    private readonly events: TrainerEvents,
  ) {
    this.schedule = makeSchedule(config.diffusion);
    this.optimizer = new Adam(model.parameters(), { lr: config.train.lr });
    this.ema = new EMA(model, { decay: config.train.emaDecay });
    this.emaModel = new UNet(config.model, { rng: new Rng(0) });
  }

  get outDir(): string {
    return this.config.train.outDir;
  }

  get checkpointPath(): string {
    return join(this.outDir, 'checkpoint.safetensors');
  }

  /**
   * A trainer for a validated config. The data is loaded (and checked) before anything is
   * written to outDir. With `resume`, the run continues from outDir's checkpoint.
   */
  static async create(config: Config, { resume = false, dataset, events = {} }: { resume?: boolean; dataset?: Dataset; events?: TrainerEvents } = {}): Promise<Trainer> {
    setBackend(config.backend);
    await setThreads(config.threads ?? (await availableCores()));
    const checkpoint = resume ? await loadCheckpoint(join(config.train.outDir, 'checkpoint.safetensors')) : null;
    if (checkpoint) assertCompatible(checkpoint.config, config, checkpoint.path);
    const data = dataset ?? (await loadDataset(config.data, { warn: events.log }));
    if (data.imageSize !== config.data.imageSize || data.channels !== config.data.channels) {
      throw new Error(`dataset gives ${data.channels}×${data.imageSize}×${data.imageSize} images, config.data asks for ${config.data.channels}×${config.data.imageSize}×${config.data.imageSize}`);
    }
    const model = new UNet(config.model, { rng: streamRng(config.seed, 'init') });
    const trainer = new Trainer(config, model, data, streamRng(config.seed, 'train'), events);
    if (checkpoint) {
      model.loadStateDict(checkpoint.model);
      trainer.ema.loadStateDict(checkpoint.ema, checkpoint.emaUpdates);
      const names = model.namedParameters().map(([n]) => n);
      const opt = checkpoint.optimizer;
      trainer.optimizer.loadState({ step: opt.step, m: names.map((n) => opt.m.get(n)!), v: names.map((n) => opt.v.get(n)!) });
      trainer.rng.setState(checkpoint.rng);
      trainer.step = checkpoint.step;
      trainer.lastCheckpointStep = checkpoint.step;
      trainer.logged = await trainer.truncateLog(checkpoint.step);
      events.log?.(`resumed from ${checkpoint.path} at step ${checkpoint.step}`);
    } else {
      await mkdir(join(config.train.outDir, 'samples'), { recursive: true });
      await writeFile(join(config.train.outDir, 'log.jsonl'), '');
    }
    await writeAtomic(join(config.train.outDir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
    return trainer;
  }

  /** One optimisation step; returns its loss. Throws TrainingDivergedError before touching the weights if the loss or gradient is not finite. */
  trainStep(): number {
    const { train, diffusion, data } = this.config;
    const x0 = sampleBatch(this.data, train.batchSize, this.rng, data.flip);
    const t = Array.from({ length: train.batchSize }, () => this.rng.int(this.schedule.T));
    const noise = randn(x0.shape, this.rng);
    const xt = qSample(this.schedule, x0, t, noise);
    const target = trainingTarget(diffusion.prediction, this.schedule, x0, noise, t);
    const loss = F.mseLoss(this.model.forward(xt, t), target);
    const value = loss.item();
    if (!Number.isFinite(value)) this.diverged(`the loss is ${value}`);
    this.optimizer.zeroGrad();
    loss.backward();
    if (train.gradClip > 0) {
      const norm = clipGradNorm(this.model.parameters(), train.gradClip);
      if (!Number.isFinite(norm)) this.diverged(`the gradient norm is ${norm}`);
    }
    this.optimizer.lr = warmupLr(train.lr, this.step, train.warmupSteps);
    this.optimizer.step();
    this.ema.update();
    this.step++;
    this.losses.push(value);
    return value;
  }

  private diverged(what: string): never {
    const kept = this.lastCheckpointStep === null ? 'no checkpoint was written yet' : `the last good checkpoint (step ${this.lastCheckpointStep}) is kept at ${this.checkpointPath}`;
    throw new TrainingDivergedError(`training diverged at step ${this.step + 1}: ${what}. Nothing was saved for this step; ${kept}. Try a lower train.lr (now ${this.config.train.lr}) or a gradient clip (train.gradClip, now ${this.config.train.gradClip}).`);
  }

  /** Asks the loop to stop after the current step, checkpoint and return (Ctrl-C). */
  requestStop(): void {
    this.stopRequested = true;
  }

  /** Trains up to config.train.steps, with logging, previews and checkpoints. */
  async train(): Promise<'finished' | 'interrupted'> {
    const { train } = this.config;
    const total = train.steps;
    this.events.log?.(`training on ${this.data.description}: ${this.model.numParameters().toLocaleString('en-US')} parameters, batch ${train.batchSize}, steps ${this.step} → ${total}, ${getThreads()} thread(s); outputs in ${this.outDir}`);
    const durations: number[] = [];
    while (this.step < total) {
      if (this.stopRequested) {
        await this.saveCheckpoint();
        return 'interrupted';
      }
      const started = performance.now();
      const loss = this.trainStep();
      durations.push((performance.now() - started) / 1000);
      if (durations.length > 20) durations.shift();
      const secondsPerStep = durations.reduce((a, b) => a + b, 0) / durations.length;
      this.window.push(loss);
      if (this.step % train.logEvery === 0 || this.step === total) await this.writeLog(secondsPerStep);
      this.events.progress?.({ step: this.step, totalSteps: total, loss, lr: this.optimizer.lr, stepsPerSecond: 1 / secondsPerStep, etaSeconds: (total - this.step) * secondsPerStep });
      if (train.checkpointEvery > 0 && this.step % train.checkpointEvery === 0) await this.saveCheckpoint();
      if (train.sampleEvery > 0 && this.step % train.sampleEvery === 0) await this.writePreview();
      // Let signal handlers (Ctrl-C) run between steps.
      await new Promise((resolve) => setImmediate(resolve));
    }
    await this.saveCheckpoint();
    await this.writePreview();
    await this.writeDenoisingStrip(join(this.outDir, 'denoising.png'));
    return 'finished';
  }

  async saveCheckpoint(): Promise<void> {
    await saveCheckpoint(this.checkpointPath, { model: this.model, ema: this.ema, optimizer: this.optimizer }, { step: this.step, config: this.config, rng: this.rng.getState() });
    this.lastCheckpointStep = this.step;
    this.events.log?.(`checkpoint at step ${this.step}: ${this.checkpointPath}`);
  }

  private async writeLog(secondsPerStep: number): Promise<void> {
    const mean = this.window.reduce((a, b) => a + b, 0) / this.window.length;
    this.window = [];
    this.logged.push([this.step, mean]);
    const line = { step: this.step, loss: mean, lr: this.optimizer.lr, secondsPerStep: +secondsPerStep.toFixed(4), time: new Date().toISOString() };
    await appendFile(join(this.outDir, 'log.jsonl'), JSON.stringify(line) + '\n');
  }

  /** Keeps the log lines up to `step` (a resumed run rewrites what came after its checkpoint). */
  private async truncateLog(step: number): Promise<Array<[number, number]>> {
    const path = join(this.outDir, 'log.jsonl');
    const text = await readFile(path, 'utf8').catch(() => '');
    const kept = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { step: number; loss: number }).filter((l) => l.step <= step);
    await writeAtomic(path, kept.map((l) => JSON.stringify(l) + '\n').join(''));
    return kept.map((l) => [l.step, l.loss]);
  }

  /** Samples from the EMA weights with config.sample; the same starting noise every time, so previews show progress. */
  sampleEma(count = this.config.sample.count, trajectoryFrames = 0): SampleResult {
    this.emaModel.loadStateDict(this.ema.stateDict());
    const { sample: s, diffusion, data } = this.config;
    return sample(this.emaModel.eval(), this.schedule, { ...s, prediction: diffusion.prediction, variance: diffusion.variance }, {
      count, channels: data.channels, imageSize: data.imageSize, rng: streamRng(this.config.seed, 'preview'), trajectoryFrames,
    });
  }

  /** A sample grid at samples/step-NNNNNN.png and the loss curve at loss.png. */
  async writePreview(): Promise<string> {
    const { count } = this.config.sample;
    const { channels, imageSize } = this.config.data;
    const images = this.sampleEma().images.toFloat32Array();
    const path = join(this.outDir, 'samples', `step-${String(this.step).padStart(6, '0')}.png`);
    const scale = Math.max(1, Math.round(96 / imageSize));
    await writePng(path, imageGrid(images, count, channels, imageSize, { scale }));
    await writePng(join(this.outDir, 'loss.png'), lossCurve(this.logged));
    this.events.log?.(`samples at step ${this.step}: ${path}`);
    return path;
  }

  /** Rows of images denoising from x_T (left) to x_0 (right). */
  async writeDenoisingStrip(path: string, rows = 4, frames = 10): Promise<void> {
    const { channels, imageSize } = this.config.data;
    const { trajectory } = this.sampleEma(rows, frames);
    const strip = trajectoryStrip(trajectory.map((f) => f.toFloat32Array()), rows, channels, imageSize, Math.max(1, Math.round(64 / imageSize)));
    await writePng(path, strip);
    this.events.log?.(`denoising strip (x_T … x_0): ${path}`);
  }
}

/** A resumed run must train the same model on the same data with the same diffusion. */
function assertCompatible(saved: Config, given: Config, path: string): void {
  const differences: string[] = [];
  for (const section of ['model', 'diffusion', 'data'] as const) {
    for (const [key, value] of Object.entries(saved[section])) {
      const now = (given[section] as unknown as Record<string, unknown>)[key];
      if (JSON.stringify(now) !== JSON.stringify(value)) differences.push(`${section}.${key}: checkpoint ${JSON.stringify(value)}, now ${JSON.stringify(now)}`);
    }
  }
  if (saved.seed !== given.seed) differences.push(`seed: checkpoint ${saved.seed}, now ${given.seed}`);
  if (differences.length) throw new Error(`cannot resume from ${path}: the config differs from the checkpoint's (${differences.join('; ')})`);
}
