// The trainer: DDPM's training loop (Ho et al., Algorithm 1) with what a real run needs around
// it: warm-up, gradient clipping, an EMA of the weights, logs, sample grids, a loss curve,
// atomic checkpoints, exact resume, a clean stop on Ctrl-C, and a clear stop on divergence.
//
//   repeat: x_0 ~ data, t ~ Uniform{0, …, T−1}, ε ~ N(0, I)
//           take a gradient step on ‖target − net(√ᾱ_t x_0 + √(1−ᾱ_t) ε, t)‖²
//
// One file over 400 lines, on purpose: a run's life (create or resume, the step, the log, the
// previews, the checkpoint, the stop) reads in order here, the Trainer's state shared by all of it.

import type { Backend } from '../backends/backend.js';
import { setBackend } from '../backends/registry.js';
import { dispose, tidy } from '../backends/scope.js';
import { useBackend } from '../backends/choose-backend.js';
import { availableCores, getThreads, setThreads } from '../backends/cpu/threads.js';
import { resolveConfig, type Config } from '../config.js';
import { sampleBatch, type Dataset } from '../data/dataset.js';
import { imageGrid, trajectoryStrip } from '../io/image.js';
import { lossCurve } from '../io/plot.js';
import { defaultFeatureRecipe } from '../metrics/feature-net.js';
import { fidAgainst, heldOutReal, maxEvalCount, type HeldOut } from '../metrics/fid.js';
import type { ReferenceSet } from '../metrics/reference.js';
import { UNet } from '../nn/unet.js';
import * as F from '../ops/index.js';
import { randn } from '../ops/creation.js';
import { Adam } from '../optim/adam.js';
import { clipScale } from '../optim/clip.js';
import { EMA } from '../optim/ema.js';
import { scheduledLr } from '../optim/lr.js';
import { Rng } from '../random/rng.js';
import type { Tensor } from '../tensor/tensor.js';
import { platform } from '../platform.js';
import { parseCheckpoint, serializeCheckpoint, type LoadedCheckpoint } from './checkpoint.js';
import { StoreWriteError, type RunStore } from './store.js';
import { assertFits } from './memory-estimate.js';
import { minSnrWeights, qSample, trainingTarget } from './process.js';
import { sample, samplerOptionsFor, type SampleResult } from './sampler.js';
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
  /**
   * Called after each denoising step while the trainer draws from its EMA weights (a preview
   * grid, the denoising strip, an FID's samples), which takes a while: `what` says which.
   */
  sampling?: (done: number, total: number, what: string) => void;
}

/** The stream seeds derived from config.seed: initialisation, training, and preview sampling. */
const STREAM = { init: 0, train: 0x5bd1e995, preview: 0x27d4eb2f } as const;
const streamRng = (seed: number, stream: keyof typeof STREAM) => new Rng((seed ^ STREAM[stream]) >>> 0);

export class TrainingDivergedError extends Error {}

/** The output folder already holds a run, and neither resume nor overwrite was asked for. */
export class RunExistsError extends Error {}

/** A file of the run could not be written (full disk, read-only folder, …); the run stopped, and the message says what was kept. */
export class RunWriteError extends Error {}

export interface TrainerOptions {
  /** Continue the run in outDir from its checkpoint. */
  resume?: boolean;
  /** Start afresh in an outDir that holds a run, replacing it (its sample grids are removed, its checkpoint replaced at the first save). */
  overwrite?: boolean;
  /** Train on this dataset instead of the one config.data describes. */
  dataset?: Dataset;
  events?: TrainerEvents;
  /** Where the run's files go (default: the platform's store for config.train.outDir, a folder in Node). */
  store?: RunStore;
  /** Memory a run may use, in bytes (default: the machine's total); a bigger run is refused before anything is written. */
  memoryLimit?: number;
  /** Run on this backend instance instead of the one config.backend names (a page's choice, or a test's). */
  backend?: Backend;
}

/**
 * The first sample grid comes early, at this step (within the first two minutes on 2 cores), then
 * one every train.sampleEvery steps: a new user sees the run doing something long before step 250.
 */
const FIRST_PREVIEW_STEP = 25;

const TRAINER_OPTIONS = ['resume', 'overwrite', 'dataset', 'events', 'store', 'memoryLimit', 'backend'];

/** A warning is printed once when a logged loss exceeds its first logged value this many times. */
const LOSS_BLOWUP = 1e3;

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
  private lastPreviewStep: number | null = null;
  /** (step, mean loss) of each logged window, for the loss curve. */
  private logged: Array<[number, number]> = [];
  /** (step, FID) of each measurement (train.evalEvery), for the FID curve. */
  private fids: Array<[number, number]> = [];
  /** What FIDs compare samples with (train.evalEvery > 0): generated faces or MNIST's held-out digits. */
  private reference: ReferenceSet | null = null;
  /** What every FID measurement reuses: the feature network and the held-out images' statistics, with their floor. */
  private heldOut: HeldOut | null = null;
  private window: number[] = [];
  private warnedLoss = false;
  /** The store's claim for this run (null once given back, or for a store without claims). */
  private claim: { release(): Promise<void> } | null = null;

  private constructor(
    readonly store: RunStore,
    readonly config: Config,
    readonly model: UNet,
    readonly data: Dataset,
    readonly rng: Rng,
    private readonly events: TrainerEvents,
  ) {
    this.schedule = makeSchedule(config.diffusion);
    this.optimizer = new Adam(model.parameters(), { lr: config.train.lr });
    this.ema = new EMA(model, { decay: config.train.emaDecay, warmup: config.train.emaWarmup });
    this.emaModel = new UNet(config.model, { rng: new Rng(0) });
  }

  get outDir(): string {
    return this.config.train.outDir;
  }

  get checkpointPath(): string {
    return this.store.describe(CHECKPOINT);
  }

  /**
   * A trainer for a validated config. Everything is checked before anything is written to
   * outDir: that it holds no earlier run (unless `resume` or `overwrite`), the checkpoint and
   * log a resume continues, that the run fits in memory, and the data. With `resume`, the run
   * continues from outDir's checkpoint.
   */
  static async create(given: Config, options: TrainerOptions = {}): Promise<Trainer> {
    // Plain JavaScript callers too: a config is checked by the config's rules (a resolved one
    // passes unchanged), and an option that is not one is named rather than ignored.
    const config = resolveConfig(given);
    const unknown = Object.keys(options ?? {}).filter((k) => !TRAINER_OPTIONS.includes(k));
    if (unknown.length) throw new Error(`Trainer.create: ${unknown.map((k) => `'${k}'`).join(', ')} is not an option (options: ${TRAINER_OPTIONS.join(', ')})`);
    const { resume = false, overwrite = false, dataset, events = {}, store = platform().openStore(config.train.outDir), memoryLimit = platform().totalMemory(), backend } = options;
    if (resume && overwrite) throw new Error('resume and overwrite exclude each other: resume continues the run in outDir, overwrite replaces it');
    if (backend) setBackend(backend);
    else await useBackend(config.backend, { log: events.log });
    await setThreads(config.threads ?? (await availableCores()));
    await store.check?.();
    // One run per store at a time: the claim (a folder's lock) is taken before anything of an
    // earlier run is read, and given back if the run does not start.
    const claim = await store.claim?.(events.log);
    try {
      const trainer = await Trainer.open(store, config, { resume, overwrite, dataset, events, memoryLimit });
      trainer.claim = claim ?? null;
      return trainer;
    } catch (e) {
      await claim?.release();
      throw e;
    }
  }

  /** Trainer.create's checks and start, once the store is claimed. */
  private static async open(store: RunStore, config: Config, { resume, overwrite, dataset, events, memoryLimit }: { resume: boolean; overwrite: boolean; dataset?: Dataset; events: TrainerEvents; memoryLimit: number }): Promise<Trainer> {
    let checkpoint: LoadedCheckpoint | null = null;
    let log: Awaited<ReturnType<typeof readLog>> = { entries: [], fids: [], kept: [] };
    if (resume) {
      const bytes = await store.read(CHECKPOINT);
      if (!bytes) throw new Error(`cannot resume: there is no checkpoint at ${store.describe(CHECKPOINT)}`);
      checkpoint = parseCheckpoint(bytes, store.describe(CHECKPOINT));
      assertCompatible(checkpoint.config, config, checkpoint.path);
      if (config.train.steps < checkpoint.step) {
        throw new Error(`cannot resume from ${checkpoint.path}: it is at step ${checkpoint.step} and train.steps asks for ${config.train.steps}; a resumed run never goes backwards. Ask for ${checkpoint.step} steps or more; nothing was changed`);
      }
      log = await readLog(store, checkpoint.step, events.log);
    } else if (!overwrite) {
      await assertFolderFree(store, config.train.outDir);
    }
    const model = new UNet(config.model, { rng: streamRng(config.seed, 'init') });
    assertFits(config, model.numParameters(), memoryLimit);
    let reference: ReferenceSet | null = null;
    if (config.train.evalEvery > 0) {
      reference = await platform().referenceSet(config.data).catch((e: Error) => {
        throw new Error(`train.evalEvery is ${config.train.evalEvery}, but ${e.message}; set train.evalEvery to 0`);
      });
      if (config.train.evalCount > maxEvalCount(reference)) {
        throw new Error(`train.evalCount is ${config.train.evalCount}, but ${reference.name} has ${reference.heldOutSize} ${reference.heldOutDescription}: enough for an FID of at most ${maxEvalCount(reference)} (the floor takes a second set as large)`);
      }
    }
    const data = dataset ?? (await platform().loadDataset(config.data, { warn: events.log }));
    if (data.imageSize !== config.data.imageSize || data.channels !== config.data.channels) {
      throw new Error(`dataset gives ${data.channels}×${data.imageSize}×${data.imageSize} images, config.data asks for ${config.data.channels}×${config.data.imageSize}×${config.data.imageSize}`);
    }
    const trainer = new Trainer(store, config, model, data, streamRng(config.seed, 'train'), events);
    trainer.reference = reference;
    if (checkpoint) {
      model.loadStateDict(checkpoint.model);
      trainer.ema.loadStateDict(checkpoint.ema, checkpoint.emaUpdates);
      const names = model.namedParameters().map(([n]) => n);
      const opt = checkpoint.optimizer;
      trainer.optimizer.loadState({ step: opt.step, m: names.map((n) => opt.m.get(n)!), v: names.map((n) => opt.v.get(n)!) });
      trainer.rng.setState(checkpoint.rng);
      if (checkpoint.writtenBy) events.log?.(`${checkpoint.path} was written by ${checkpoint.writtenBy}: its random state does not cross over, so the noise stream restarts here (from the state the file gives)`);
      trainer.step = checkpoint.step;
      trainer.lastCheckpointStep = checkpoint.step;
      trainer.logged = log.entries;
      trainer.fids = log.fids;
    }
    // Only now is anything written.
    await trainer.stopOnWriteError('the run did not start', async () => {
      await store.prepare();
      if (checkpoint) {
        await store.write(LOG, log.kept.map((line) => line + '\n').join(''));
        events.log?.(`resumed from ${checkpoint.path} at step ${checkpoint.step}`);
      } else {
        if (overwrite) await removePreviews(store);
        await store.write(LOG, '');
      }
      // An identical config.json is left as it is (it may be the file the caller's config came from).
      const text = configFileText(config);
      const existing = await store.read(CONFIG);
      if (!existing || new TextDecoder().decode(existing) !== text) await store.write(CONFIG, text);
    });
    return trainer;
  }

  /** Gives back the store's claim (a folder's lock) so another run may use it; train() does this when it ends. */
  async close(): Promise<void> {
    const claim = this.claim;
    this.claim = null;
    await claim?.release();
  }

  /**
   * One optimisation step; resolves to its loss. Throws TrainingDivergedError before touching
   * the weights if the loss or the gradient's norm is not finite.
   *
   * The step reads back once: the loss (and the gradient's norm), between the backward pass and
   * the update. On a GPU backend whose ops only enqueue work (WebGPU), that read is where the
   * step waits for its forward and backward passes; everything else stays on the GPU.
   */
  async trainStep(): Promise<number> {
    const { train, data } = this.config;
    return this.stepOn(() => {
      const x0 = sampleBatch(this.data, train.batchSize, this.rng, data.flip);
      const t = Array.from({ length: train.batchSize }, () => this.rng.int(this.schedule.T));
      return { x0, t, noise: randn(x0.shape, this.rng) };
    });
  }

  /**
   * One training step on the batch `batch()` makes (inside the step's scope): trainStep draws
   * it from the run's generator; the equivalence tests with PyTorch (examples/torch) pass theirs.
   */
  async stepOn(batch: () => { x0: Tensor; t: number[]; noise: Tensor }): Promise<number> {
    const { train, diffusion } = this.config;
    // Everything the passes create (batch, activations, temporaries) is freed when the scope
    // ends; the gradients belong to the parameters, and the two values read come out of it.
    // With clipping, the norm and its scale come out too: the norm is read (a diverged step stops
    // here), and Adam applies the scale as it reads the gradients (no launch a gradient).
    const { loss, norm, scale } = tidy(() => {
      const { x0, t, noise } = batch();
      const xt = qSample(this.schedule, x0, t, noise);
      const target = trainingTarget(diffusion.prediction, this.schedule, x0, noise, t);
      const weights = train.minSnrGamma > 0 ? minSnrWeights(diffusion.prediction, this.schedule, t, train.minSnrGamma, x0) : undefined;
      const loss = F.mseLoss(this.model.forward(xt, t), target, weights);
      this.optimizer.zeroGrad();
      loss.backward();
      const clip = train.gradClip > 0 ? clipScale(this.model.parameters(), train.gradClip) : null;
      return { loss: loss.detach(), norm: clip?.norm ?? null, scale: clip?.scale ?? null };
    });
    let lossValue: number;
    try {
      const [value, normValue] = await Promise.all([loss.data(), norm?.data()]).finally(() => {
        dispose(loss);
        if (norm) dispose(norm);
      });
      lossValue = value[0]!;
      if (!Number.isFinite(lossValue)) this.diverged(`the loss is ${lossValue}`);
      if (normValue && !Number.isFinite(normValue[0])) this.diverged(`the gradient norm is ${normValue[0]}`);
      tidy(() => {
        this.optimizer.lr = scheduledLr(train.lr, this.step, train.warmupSteps, train.steps, train.lrSchedule);
        this.optimizer.step(scale ?? undefined);
        this.ema.update();
      });
    } finally {
      if (scale) dispose(scale);
    }
    this.step++;
    this.losses.push(lossValue);
    return lossValue;
  }

  private diverged(what: string): never {
    const kept = this.lastCheckpointStep === null ? 'no checkpoint was written yet' : `the last good checkpoint (step ${this.lastCheckpointStep}) is kept at ${this.checkpointPath}`;
    throw new TrainingDivergedError(`training diverged at step ${this.step + 1}: ${what}. Nothing was saved for this step; ${kept}. Try a lower train.lr (now ${this.config.train.lr}) or a gradient clip (train.gradClip, now ${this.config.train.gradClip}).`);
  }

  /** Asks the loop to stop after the current step, checkpoint and return (Ctrl-C). */
  requestStop(): void {
    this.stopRequested = true;
  }

  /** Trains up to config.train.steps, with logging, previews and checkpoints; then gives back the store's claim. */
  async train(): Promise<'finished' | 'interrupted'> {
    try {
      return await this.trainLoop();
    } finally {
      await this.close();
    }
  }

  private async trainLoop(): Promise<'finished' | 'interrupted'> {
    const { train } = this.config;
    const total = train.steps;
    this.events.log?.(`training on ${this.data.description}: ${this.model.numParameters().toLocaleString('en-US')} parameters, batch ${train.batchSize}, steps ${this.step} → ${total}, ${getThreads()} thread(s); outputs in ${this.store.location ?? this.outDir}`);
    const durations: number[] = [];
    while (this.step < total) {
      if (this.stopRequested) {
        await this.stopOnWriteError(null, () => this.saveCheckpoint());
        return 'interrupted';
      }
      const started = performance.now();
      const loss = await this.trainStep();
      durations.push((performance.now() - started) / 1000);
      if (durations.length > 20) durations.shift();
      const secondsPerStep = durations.reduce((a, b) => a + b, 0) / durations.length;
      this.window.push(loss);
      this.events.progress?.({ step: this.step, totalSteps: total, loss, lr: this.optimizer.lr, stepsPerSecond: 1 / secondsPerStep, etaSeconds: (total - this.step) * secondsPerStep });
      await this.stopOnWriteError(null, async () => {
        if (this.step % train.logEvery === 0 || this.step === total) await this.writeLog(secondsPerStep);
        if (train.checkpointEvery > 0 && this.step % train.checkpointEvery === 0) await this.saveCheckpoint();
        if (train.sampleEvery > 0 && (this.step % train.sampleEvery === 0 || this.step === FIRST_PREVIEW_STEP)) await this.writePreview();
        if (train.evalEvery > 0 && this.step % train.evalEvery === 0) await this.writeEvaluation();
      });
      // Let signal handlers (Ctrl-C) run between steps.
      await new Promise((resolve) => setImmediate(resolve));
    }
    await this.stopOnWriteError(null, async () => {
      // The last step may already have been saved and drawn by the loop (a multiple of checkpointEvery or sampleEvery).
      if (this.lastCheckpointStep !== this.step) await this.saveCheckpoint();
      if (this.lastPreviewStep !== this.step) await this.writePreview();
      await this.writeDenoisingStrip('denoising.png');
    });
    return 'finished';
  }

  /**
   * Runs `write`; a file that cannot be written (full disk, read-only folder) stops the run with
   * one message: which file, why, and what was kept (or `outcome`, when given). Checkpoints are
   * replaced atomically, so the last one written is always whole.
   */
  private async stopOnWriteError(outcome: string | null, write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (e) {
      if (!(e instanceof StoreWriteError)) throw e;
      if (outcome) throw new RunWriteError(`${e.message}; ${outcome}.`);
      const kept = this.lastCheckpointStep === null
        ? 'no checkpoint had been written yet'
        : `the checkpoint of step ${this.lastCheckpointStep} at ${this.checkpointPath} is whole and unchanged${this.lastCheckpointStep < this.step ? '; continue from it with --resume once the problem is fixed' : ''}`;
      throw new RunWriteError(`${e.message}. Training stopped at step ${this.step}; ${kept}.`);
    }
  }

  async saveCheckpoint(): Promise<void> {
    await this.store.write(CHECKPOINT, await serializeCheckpoint({ model: this.model, ema: this.ema, optimizer: this.optimizer }, { step: this.step, config: this.config, rng: this.rng.getState() }));
    this.lastCheckpointStep = this.step;
    this.events.log?.(`checkpoint at step ${this.step}: ${this.checkpointPath}`);
  }

  private async writeLog(secondsPerStep: number): Promise<void> {
    const mean = this.window.reduce((a, b) => a + b, 0) / this.window.length;
    this.window = [];
    const first = this.logged[0];
    if (first && !this.warnedLoss && mean > LOSS_BLOWUP * first[1]) {
      this.warnedLoss = true;
      this.events.log?.(`warning: at step ${this.step} the loss (${mean.toPrecision(3)}) is over ${LOSS_BLOWUP}× its first logged value (${first[1].toPrecision(3)} at step ${first[0]}): training is probably diverging; try a lower train.lr (now ${this.config.train.lr})`);
    }
    this.logged.push([this.step, mean]);
    const line = { step: this.step, loss: mean, lr: this.optimizer.lr, secondsPerStep: +secondsPerStep.toFixed(4), time: new Date().toISOString() };
    await this.store.append(LOG, JSON.stringify(line) + '\n');
  }

  /**
   * Samples from the EMA weights with config.sample; the same starting noise every time, so
   * previews show progress. `what` names the drawing in the `sampling` event.
   */
  sampleEma(count = this.config.sample.count, trajectoryFrames = 0, what = `samples at step ${this.step}`): SampleResult {
    this.emaModel.loadStateDict(this.ema.stateDict());
    const { data } = this.config;
    const report = this.events.sampling;
    return sample(this.emaModel.eval(), this.schedule, samplerOptionsFor(this.config), {
      count, channels: data.channels, imageSize: data.imageSize, rng: streamRng(this.config.seed, 'preview'), trajectoryFrames,
      ...(report ? { onStep: (done: number, total: number) => report(done, total, what) } : {}),
    });
  }

  /** A sample grid at samples/step-NNNNNN.png and the loss curve at loss.png; returns where the grid went. */
  async writePreview(): Promise<string> {
    const { count } = this.config.sample;
    const { channels, imageSize } = this.config.data;
    const images = await this.sampleEma().images.data();
    const name = `samples/step-${String(this.step).padStart(6, '0')}.png`;
    const scale = Math.max(1, Math.round(96 / imageSize));
    await this.store.writeImage(name, imageGrid(images, count, channels, imageSize, { scale }));
    await this.store.writeImage('loss.png', lossCurve(this.logged));
    this.lastPreviewStep = this.step;
    this.events.log?.(`samples at step ${this.step}: ${this.store.describe(name)}`);
    return this.store.describe(name);
  }

  /**
   * The FID of train.evalCount samples of the EMA weights (config.sample, the preview's noise)
   * against as many held-out real images (generated faces, or MNIST digits), in the features of
   * the reference set's network, with the real-vs-real floor for that count (src/metrics,
   * examples/eval.js).
   */
  async evaluate(): Promise<{ fid: number; floor: number }> {
    const { evalCount } = this.config.train;
    const { imageSize, channels } = this.config.data;
    const reference = (this.reference ??= await platform().referenceSet(this.config.data));
    this.heldOut ??= await heldOutReal(reference, await platform().featureNet(reference, defaultFeatureRecipe(imageSize, channels), this.events.log), evalCount);
    const samples = this.sampleEma(evalCount, 0, `FID samples at step ${this.step}`).images;
    const fid = await fidAgainst(this.heldOut, samples);
    dispose(samples);
    return { fid, floor: this.heldOut.floor };
  }

  /** An FID measurement into log.jsonl (a line with `fid` instead of `loss`) and the curve at fid.png. */
  async writeEvaluation(): Promise<void> {
    const { fid, floor } = await this.evaluate();
    this.fids.push([this.step, fid]);
    await this.store.append(LOG, JSON.stringify({ step: this.step, fid, floor, evalCount: this.config.train.evalCount, time: new Date().toISOString() }) + '\n');
    await this.store.writeImage('fid.png', lossCurve(this.fids, 640, 360, 'fid'));
    this.events.log?.(`FID at step ${this.step}: ${fid.toFixed(2)} (${this.config.train.evalCount} samples; real-vs-real floor ${floor.toFixed(2)})`);
  }

  /** Rows of images denoising from x_T (left) to x_0 (right), as the store's file `name`. */
  async writeDenoisingStrip(name: string, rows = 4, frames = 10): Promise<void> {
    const { channels, imageSize } = this.config.data;
    const { trajectory } = this.sampleEma(rows, frames, 'the denoising strip');
    const strip = trajectoryStrip(await Promise.all(trajectory.map((f) => f.data())), rows, channels, imageSize, Math.max(1, Math.round(64 / imageSize)));
    await this.store.writeImage(name, strip);
    this.events.log?.(`denoising strip (x_T … x_0): ${this.store.describe(name)}`);
  }
}

/** The run's files in its store. */
const CHECKPOINT = 'checkpoint.safetensors';
const LOG = 'log.jsonl';
const CONFIG = 'config.json';
/** Every file a run may write (samples/step-NNNNNN.png: a grid each sampleEvery steps). */
export const RUN_FILES = [CONFIG, LOG, CHECKPOINT, 'loss.png', 'fid.png', 'denoising.png'];
const SAMPLE_GRID = /^samples\/step-\d+\.png$/;

/** config.json as a run writes it. */
export function configFileText(config: Config): string {
  return JSON.stringify(config, null, 2) + '\n';
}

/**
 * Refuses a store that a fresh run (neither resume nor overwrite) would write over: one that
 * holds a run (a checkpoint, or a log with entries: a run stopped before its first checkpoint),
 * or, holding no run, files a run would write (a user's config.json, loss.png,
 * samples/step-000100.png …), which are named; only `overwrite` replaces them. The folder is
 * listed once and the log read once (the checkpoint is only looked for: it may be large).
 */
async function assertFolderFree(store: RunStore, outDir: string): Promise<void> {
  const names = await store.list('');
  const log = names.includes(LOG) ? await store.read(LOG) : null;
  const run = names.includes(CHECKPOINT) ? `a checkpoint (${store.describe(CHECKPOINT)})` : (log?.length ?? 0) > 0 ? `a training log (${store.describe(LOG)})` : null;
  if (run) {
    throw new RunExistsError(`${outDir} already holds a training run: ${run}. Nothing was changed. To continue it, add --resume; to start afresh and replace it, add --overwrite (or choose another folder with --out)`);
  }
  // An empty log is a run's own (one that stopped before it logged a step): it and its config.json are a run's start, not a user's files.
  const started = log !== null;
  const found = [...names.filter((n) => RUN_FILES.includes(n) && !(started && (n === LOG || n === CONFIG))), ...(await store.list('samples/')).filter((n) => SAMPLE_GRID.test(n))];
  if (found.length === 0) return;
  const named = found.slice(0, 6).map((n) => store.describe(n)).join(', ') + (found.length > 6 ? ` and ${found.length - 6} more` : '');
  throw new RunExistsError(`${outDir} holds files a run would write, but no run: ${named}. Nothing was changed. Choose another folder with --out, or add --overwrite to replace them`);
}

/** Deletes the sample grids of a run being overwritten (they would mix with the new run's). */
async function removePreviews(store: RunStore): Promise<void> {
  for (const name of await store.list('samples/')) if (SAMPLE_GRID.test(name)) await store.remove(name);
}

/**
 * The (step, loss) entries of a run's log up to `step` (a resumed run rewrites what came after
 * its checkpoint). A partial last line is what a kill during a write leaves: it is dropped. Any
 * other line that is not a log entry is an error naming the file and the line.
 */
async function readLog(store: RunStore, step: number, note?: (message: string) => void): Promise<{ entries: Array<[number, number]>; fids: Array<[number, number]>; kept: string[] }> {
  const bytes = await store.read(LOG);
  if (!bytes) return { entries: [], fids: [], kept: [] };
  const text = new TextDecoder().decode(bytes);
  const path = store.describe(LOG);
  const lines = text.split('\n');
  const partial = lines.pop()!; // '' when the file ends with a newline
  if (partial.trim()) note?.(`${path}: dropped an unfinished last line (the write in progress when the run stopped)`);
  const entries: Array<[number, number]> = [], fids: Array<[number, number]> = [], kept: string[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let entry: { step?: unknown; loss?: unknown; fid?: unknown };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      throw new Error(`${path} line ${i + 1} is not a log entry (not valid JSON): ${line.slice(0, 80)}; fix or delete that line, then resume`);
    }
    if (!Number.isInteger(entry?.step) || (typeof entry.loss !== 'number' && typeof entry.fid !== 'number')) {
      throw new Error(`${path} line ${i + 1} is not a log entry (needs a whole-number "step" and a numeric "loss", or "fid"): ${line.slice(0, 80)}`);
    }
    if ((entry.step as number) <= step) {
      if (typeof entry.loss === 'number') entries.push([entry.step as number, entry.loss]);
      else fids.push([entry.step as number, entry.fid as number]);
      kept.push(line);
    }
  });
  return { entries, fids, kept };
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
