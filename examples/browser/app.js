// The demo page: samples from a model this project trained; trains a small DDPM live on
// generated faces or on photos dropped onto the page (gpu via WebGL2, or cpu on Web Workers),
// drawing EMA samples and the loss as it goes; samples from or continues a picked checkpoint; and
// shows the forward process on a face. It uses the browser bundle of ddpm-ts
// (npm run build:browser), nothing else.

import * as ddpm from '/lib/ddpm-ts.js';

const { diffusion, data, io, resolveConfig } = ddpm;
const $ = (id) => document.getElementById(id);

// ------------------------------------------------------------------ notices
/**
 * Shows a notice with a button that closes it. A notice with a `key` replaces the earlier one of
 * that key (a second failed pick replaces the first's message), and clearNotice(key) removes it
 * once the user's next try works; the oldest go when more than MAX_NOTICES are shown.
 */
const MAX_NOTICES = 4;
function notice(text, key = null) {
  if (key) clearNotice(key);
  const p = document.createElement('p');
  p.className = 'notice';
  if (key) p.dataset.key = key;
  const close = Object.assign(document.createElement('button'), { textContent: '×', title: 'close', className: 'close' });
  close.onclick = () => p.remove();
  p.append(text, close);
  $('notices').append(p);
  while ($('notices').children.length > MAX_NOTICES) $('notices').firstElementChild.remove();
}
function clearNotice(key) {
  for (const p of $('notices').querySelectorAll('.notice')) if (p.dataset.key === key) p.remove();
}
// Nothing fails silently: any error no handler caught becomes a notice.
window.addEventListener('error', (e) => notice(`Something went wrong: ${e.message}`, 'uncaught'));
window.addEventListener('unhandledrejection', (e) => notice(`Something went wrong: ${e.reason?.message ?? e.reason}`, 'uncaught'));

// ------------------------------------------------------------------ what this browser can do
if (!crossOriginIsolated) notice('This page is not cross-origin isolated (it needs the COOP/COEP headers that npm run demo sends), so workers cannot share memory: the cpu backend runs on one thread, several times slower than on all cores.');
// The cpu backend runs its big kernels on Web Workers, one per core (1 where memory cannot be shared).
const cores = await ddpm.availableCores();
for (const option of document.querySelectorAll('#backend option[value=cpu], #sampleBackend option[value=cpu]')) option.textContent = `cpu (${cores} thread${cores > 1 ? 's' : ''})`;

/**
 * The backends this browser runs, tried in order: WebGPU, then WebGL2, then cpu. Each GPU one is
 * opened and probed once (a kernel must run in that very mode); one that does not work is shown
 * greyed out in the menu, with why, and the first that works is chosen.
 */
async function probeBackends() {
  const missing = [], software = [];
  for (const name of ['webgpu', 'webgl']) {
    // The training menu and the sampling panel's offer the same backends.
    const options = document.querySelectorAll(`#backend option[value=${name}], #sampleBackend option[value=${name}]`);
    try {
      const backend = await ddpm.useBackend(name);
      // The adapter's full name, and whether it is software (SwiftShader, llvmpipe, WARP, …).
      const soft = ddpm.isSoftwareRenderer(backend.renderer);
      for (const option of options) {
        option.textContent = `${name} (${backend.renderer}${soft ? '; software, slower than cpu' : ''})`;
        option.dataset.software = soft ? 'yes' : '';
      }
      if (soft) software.push(`${name} runs on ${backend.renderer}`);
    } catch (e) {
      for (const option of options) {
        option.disabled = true;
        option.textContent = `${name} (not available here)`;
      }
      missing.push(`${name}: ${e.message.replace(/^backend '\w+' needs /, 'needs ')}`);
    }
  }
  // The first backend that works on real hardware; a software GPU is never chosen over cpu.
  const first = [...$('backend').options].find((o) => !o.disabled && !o.dataset.software);
  $('backend').value = $('sampleBackend').value = first.value;
  const why = [
    ...(software.length ? [`${software.join(' and ')}: a software renderer, slower than the cpu backend (pick it in the menu to use it anyway)`] : []),
    ...(missing.length ? [`not available: ${missing.join('; ')}`] : []),
  ];
  if (why.length) notice(`Training and sampling use the ${first.value} backend here; ${why.join('; ')}.`, 'backends');
  ddpm.setBackend('cpu');
}
await probeBackends();

/** The backend called `name` ('webgpu', 'webgl' or 'cpu'), opened once. */
async function selectBackend(name) {
  return ddpm.useBackend(name);
}

/**
 * Runs `work` (synchronous) on `backend`, then puts back the backend that was current. The page
 * holds models on both backends at once (the pretrained one, a picked one, a training run), and
 * handlers interleave between training steps: each computation names its own backend, so none
 * finds its tensors on another ("operands live on different backends").
 */
function onBackend(backend, work) {
  const previous = ddpm.getBackend();
  ddpm.setBackend(backend);
  try {
    return work();
  } finally {
    ddpm.setBackend(previous);
  }
}

/**
 * Runs `work` (asynchronous) while `line` says what it waits for, every half second: `label`, the
 * seconds so far and, on a GPU backend, its kernels compiled of those made (a GPU's first steps
 * compile them; WebGPU compiles while the page stays responsive).
 */
async function saying(line, label, backend, work) {
  const started = performance.now();
  const timer = setInterval(() => {
    const kernels = backend.kernelCount?.();
    const compiling = kernels && kernels.compiled < kernels.made ? `; GPU kernels compiled: ${kernels.compiled} of ${kernels.made}` : '';
    line.textContent = `${label} (${Math.round((performance.now() - started) / 1000)} s${compiling})…`;
  }, 500);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

/** A whole number ≥ 1 from an input field, or a notice naming the field and null. */
function positiveInteger(id, label, max) {
  const text = $(id).value.trim();
  const value = Number(text);
  if (text !== '' && Number.isInteger(value) && value >= 1 && value <= max) return value;
  notice(`${label} must be a whole number from 1 to ${max.toLocaleString('en-US')} (it is ${text === '' ? 'empty' : `"${text}"`}).`, 'fields');
  return null;
}

/**
 * The most steps one run in the page may ask for: at the cpu backend's 1 to 2 steps a second, a
 * day. More is a typo (1e9 would never end); a longer run continues from its checkpoint.
 */
const MAX_PAGE_STEPS = 100_000;

/** Draws an RGBA image (io.imageGrid's output) on a canvas, resizing the canvas to it. */
function draw(canvas, image) {
  canvas.width = image.width;
  canvas.height = image.height;
  canvas.getContext('2d').putImageData(new ImageData(new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.data.byteLength), image.width, image.height), 0, 0);
}

/** A line chart of [x, y] series on a canvas, each in its colour. */
function chart(canvas, series, { logY = false, marker = null } = {}) {
  const ctx = canvas.getContext('2d');
  const { width: w, height: h } = canvas;
  ctx.clearRect(0, 0, w, h);
  const points = series.flatMap((s) => s.points);
  if (points.length < 2) return;
  const ys = points.map(([, y]) => (logY ? Math.log10(y) : y));
  const [x0, x1] = [Math.min(...points.map(([x]) => x)), Math.max(...points.map(([x]) => x))];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const px = (x) => 8 + ((x - x0) / (x1 - x0 || 1)) * (w - 16);
  const py = (y) => h - 8 - (((logY ? Math.log10(y) : y) - y0) / (y1 - y0 || 1)) * (h - 16);
  for (const { points: pts, colour } of series) {
    ctx.strokeStyle = colour;
    ctx.beginPath();
    pts.forEach(([x, y], i) => (i ? ctx.lineTo(px(x), py(y)) : ctx.moveTo(px(x), py(y))));
    ctx.stroke();
  }
  if (marker !== null) {
    ctx.strokeStyle = '#999';
    ctx.beginPath();
    ctx.moveTo(px(marker), 0);
    ctx.lineTo(px(marker), h);
    ctx.stroke();
  }
}

// ------------------------------------------------------------------ training
/**
 * The small model the page trains: 16×16 faces, fast enough to watch them form. `changes` (a
 * partial config, e.g. a smaller batch for a test on a software GPU) go over it, section by section.
 */
function demoConfig(steps, sampleEvery, changes = {}) {
  const base = {
    data: { imageSize: 16 },
    model: { baseChannels: 16, channelMults: [1, 2], numResBlocks: 1, attnResolutions: [8], groups: 4, timeEmbDim: 64 },
    // A short EMA (0.99): in a run of a few hundred steps the samples follow the model closely.
    train: { batchSize: 16, lr: 2e-3, warmupSteps: 50, emaDecay: 0.99, logEvery: 10, checkpointEvery: 0 },
    // Epsilon scaling off: it pays after long training (the pretrained model's 4,000 steps, the
    // hour on 32×32 faces) and cost at 32×32 after a few hundred steps; these runs are that short.
    sample: { sampler: 'ddim', steps: 20, count: 16, epsScale: 1 },
  };
  const merged = Object.fromEntries(Object.entries(base).map(([section, fields]) => [section, { ...fields, ...changes[section] }]));
  return resolveConfig({ ...merged, train: { ...merged.train, steps, sampleEvery } });
}

const run = { trainer: null, store: null, backend: null, paused: false, running: false, stopRequested: false, losses: [] };

/**
 * Trains on `backend`, yielding to the page between steps; resolves with the losses. A fresh run
 * trains `steps` steps; given a checkpoint's bytes (`resume`), the run continues from it for
 * `steps` more, exactly as `--resume` does in Node.
 */
async function train(backend, steps, sampleEvery, { onStep, source = $('dataSource').value, resume = null, config = {} } = {}) {
  if (run.running) throw new Error('a training run is already going: pause it or let it finish');
  run.running = true;
  try {
    return await trainRun(backend, steps, sampleEvery, { onStep, source, resume, changes: config });
  } finally {
    run.running = false;
    run.paused = false;
    run.stopRequested = false;
    $('pause').textContent = 'Pause';
  }
}

async function trainRun(backend, steps, sampleEvery, { onStep, source, resume, changes }) {
  run.trainer = null;
  run.backend = await selectBackend(backend);
  run.store = new diffusion.MemoryStore('page');
  let config = demoConfig(steps, sampleEvery, changes);
  if (resume) {
    const checkpoint = diffusion.parseCheckpoint(resume, 'the loaded checkpoint');
    config = resolveConfig({ ...checkpoint.config, train: { ...checkpoint.config.train, steps: checkpoint.step + steps, sampleEvery, checkpointEvery: 0 } });
    run.store.files.set('checkpoint.safetensors', resume);
  }
  const { imageSize, channels } = config.data;
  const usePhotos = source === 'photos' && photos.dataset?.imageSize === imageSize && photos.dataset.channels === channels;
  const dataset = usePhotos ? photos.dataset : data.facesDataset(imageSize, channels);
  run.trainer = await diffusion.Trainer.create(config, { store: run.store, dataset, resume: !!resume, backend: run.backend });
  $('download').disabled = false;
  run.losses = [];
  const started = performance.now(), first = run.trainer.step, total = config.train.steps;
  while (run.trainer.step < total) {
    if (run.stopRequested) {
      // Stop: the run ends here and keeps its checkpoint, which Continue (or Download) takes.
      await onBackend(run.backend, () => run.trainer.saveCheckpoint());
      loaded.bytes = run.store.files.get('checkpoint.safetensors');
      $('progress').textContent = `Stopped at step ${run.trainer.step} of ${total}; its checkpoint is kept: Continue trains on from it, Download saves it.`;
      break;
    }
    if (run.paused) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    // The step's passes are issued on the run's backend; it resolves once its loss is read back.
    const step = () => onBackend(run.backend, () => run.trainer.trainStep());
    const loss = run.trainer.step === first ? await saying($('progress'), `Step ${first + 1} of ${total}: the first step compiles the backend's kernels`, run.backend, step) : await step();
    run.losses.push([run.trainer.step, loss]);
    const perStep = (performance.now() - started) / 1000 / (run.trainer.step - first);
    // A step that was running when Pause was pressed ends after it: its line keeps the mark.
    $('progress').textContent = ddpm.formatProgress({ step: run.trainer.step, totalSteps: total, loss, lr: run.trainer.optimizer.lr, stepsPerSecond: 1 / perStep, etaSeconds: (total - run.trainer.step) * perStep }, 20) + (run.paused ? ' (paused)' : '');
    if (run.trainer.step % 10 === 0 || run.trainer.step === total) chart($('loss'), [{ points: run.losses, colour: '#1565c0' }], { logY: true });
    if (run.trainer.step % sampleEvery === 0 || run.trainer.step === total) await drawSamples();
    onStep?.(run.trainer.step, loss);
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return run.losses.map(([, l]) => l);
}

/** Scale of a grid of images 16 px or so wide, drawn about 48 px wide. */
const gridScale = (imageSize) => Math.max(1, Math.round(48 / imageSize));

async function drawSamples() {
  const { imageSize, channels } = run.trainer.config.data;
  const images = await onBackend(run.backend, () => run.trainer.sampleEma(16).images).data();
  draw($('grid'), io.imageGrid(images, 16, channels, imageSize, { scale: gridScale(imageSize) }));
}

/** Runs a training session from the buttons, reporting a failure in the page. */
async function startTraining(options) {
  const steps = positiveInteger('steps', 'Steps', MAX_PAGE_STEPS), sampleEvery = positiveInteger('sampleEvery', '"Samples every"', MAX_PAGE_STEPS);
  if (steps === null || sampleEvery === null) return;
  clearNotice('fields');
  clearNotice('training');
  $('start').disabled = $('continue').disabled = true;
  $('pause').disabled = $('stop').disabled = false;
  $('progress').textContent = 'Starting…';
  try {
    await train($('backend').value, steps, sampleEvery, options);
  } catch (e) {
    notice(`Training stopped: ${e.message}`, 'training');
    $('progress').textContent = 'Training stopped (see the notice above).';
  }
  $('start').disabled = false;
  $('pause').disabled = $('stop').disabled = true;
  $('continue').disabled = !loaded.bytes;
}

$('start').onclick = () => startTraining({});
$('continue').onclick = () => startTraining({ resume: loaded.bytes });
$('pause').onclick = () => {
  if (!run.running) return;
  run.paused = !run.paused;
  $('pause').textContent = run.paused ? 'Resume' : 'Pause';
  const line = $('progress').textContent.replace(/ \(paused\)$/, '');
  $('progress').textContent = run.paused ? `${line} (paused)` : line;
};
$('stop').onclick = () => {
  if (!run.running) return;
  run.stopRequested = true;
  run.paused = false; // a paused run stops too
  $('pause').textContent = 'Pause';
};
/** Saves the running (or last) training run's checkpoint and offers it as a download. */
async function downloadCheckpoint() {
  if (!run.trainer) {
    notice('There is no checkpoint to download yet: the training run is still starting (or none was started).', 'download');
    return;
  }
  clearNotice('download');
  await onBackend(run.backend, () => run.trainer.saveCheckpoint());
  const url = URL.createObjectURL(new Blob([run.store.files.get('checkpoint.safetensors')]));
  Object.assign(document.createElement('a'), { href: url, download: 'checkpoint.safetensors' }).click();
  URL.revokeObjectURL(url);
}
$('download').onclick = () => downloadCheckpoint().catch((e) => notice(`The checkpoint could not be saved: ${e.message}`, 'download'));

// ------------------------------------------------------------------ the user's photos
const photos = { dataset: null };

/** Makes dropped or picked image files the training set (decoded here; nothing leaves the page). */
async function usePhotos(files) {
  clearNotice('photos');
  if (files.length === 0) throw new Error('no files were given');
  const before = photos.dataset ? `Training set: ${photos.dataset.description}.` : '';
  $('photoInfo').textContent = `Reading ${countOf(files.length, 'file')}…`;
  const skipped = [];
  try {
    photos.dataset = await data.imageFilesDataset(files, {
      imageSize: 16, channels: 3, skipBad: true,
      warn: (message) => skipped.push(message.replace(/^warning: skipping /, '')),
    });
  } catch (e) {
    $('photoInfo').textContent = before;
    throw e;
  } finally {
    // One notice for the files skipped, however many there are.
    if (skipped.length) notice(`Skipped ${countOf(skipped.length, 'file')}: ${skipped.join('; ')}`, 'photos');
  }
  $('photoInfo').textContent = `Training set: ${photos.dataset.description}.`;
  $('dataSource').querySelector('option[value=photos]').disabled = false;
  $('dataSource').value = 'photos';
  return photos.dataset.size;
}
/** The training images as the network sees them (for the tests). */
const photoImages = () => Array.from({ length: photos.dataset.size }, (_, i) => Array.from(photos.dataset.image(i)));

const reportPhotos = (promise) => promise.catch((e) => notice(`Those photos cannot be used: ${e.message}`, 'photos'));
const countOf = (n, noun) => (n === 0 ? `no ${noun}s` : `${n} ${noun}${n === 1 ? '' : 's'}`);
$('photos').onchange = () => reportPhotos(usePhotos($('photos').files));
$('drop').ondragover = (e) => {
  e.preventDefault();
  $('drop').classList.add('over');
};
$('drop').ondragleave = () => $('drop').classList.remove('over');
$('drop').ondrop = (e) => {
  e.preventDefault();
  $('drop').classList.remove('over');
  reportPhotos(usePhotos(e.dataTransfer.files));
};

/** The bytes at a URL of this page. */
const fetchBytes = async (url) => new Uint8Array(await (await fetch(url)).arrayBuffer());

/**
 * The model of a file's bytes (a training checkpoint's EMA weights, or a weights-only file) on
 * `backend`: its UNet in evaluation mode, schedule and config (diffusion.samplingSetup, so it is
 * sampled with the prediction and variance it was trained for), its step and kind, and the bytes,
 * to open it again on another backend.
 */
function openWeights(bytes, name, backend) {
  return onBackend(backend, () => {
    const file = diffusion.parseSamplingWeights(bytes, name);
    const { model, schedule, config } = diffusion.samplingSetup(file);
    return { net: model, schedule, config, step: file.step, resumable: file.resumable, backend, bytes, name };
  });
}

/**
 * Draws `count` images from the shown model one denoising step at a time, giving the page back
 * between steps: the line under the panel counts the steps (and, while a GPU's first steps compile
 * its kernels, those), and the grid shows x_t sharpening, redrawn every 0.3 s. Resolves with the
 * sampling result, read back: the images and the trajectory's frames.
 */
async function sampleProgressively({ sampler, steps, count, seed, trajectoryFrames = 0 }) {
  const { config, net, schedule, backend } = shown;
  const { channels, imageSize } = config.data;
  const options = diffusion.samplerOptionsFor({ ...config, sample: { ...config.sample, sampler, steps } });
  const chain = diffusion.sampleSteps(net, schedule, options, { count, channels, imageSize, rng: new ddpm.Rng(seed), trajectoryFrames });
  const line = $('sampleProgress');
  let drawnAt = 0;
  for (let k = 0; ; k++) {
    // Each step is issued on the model's backend and read back before the next (a GPU's reads are asynchronous).
    const next = onBackend(backend, () => chain.next());
    if (next.done) {
      line.textContent = '';
      const images = await next.value.images.data();
      return { images, frames: await Promise.all(next.value.trajectory.map((f) => f.data())) };
    }
    const { done, total, x } = next.value;
    const read = () => x.data();
    const values = k === 0 ? await saying(line, `Sampling: step 1 of ${total}`, backend, read) : await read();
    line.textContent = `Sampling on ${backend.name}: step ${done} of ${total}`;
    if (performance.now() - drawnAt > 300) {
      draw($('samples'), io.imageGrid(values, x.shape[0], channels, imageSize, { scale: gridScale(imageSize) }));
      drawnAt = performance.now();
    }
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

/**
 * Draws images from a checkpoint's bytes (a Node run's, or one downloaded here) or a weights
 * file's with DDIM, on the sampling panel's backend: its weights, its config, the given seed.
 * The picked model becomes the one the panel samples ("Sample again"); a training run is left
 * alone. Returns the images' values and whether the file is a checkpoint a run can continue from.
 */
async function sampleCheckpoint(bytes, { backend = $('sampleBackend').value, steps = 20, count = 16, seed = 0 } = {}) {
  const model = openWeights(bytes, 'the loaded file', await selectBackend(backend));
  $('sampleBackend').value = model.backend.name;
  clearInterval(shown.timer);
  Object.assign(shown, model);
  const { images } = await sampleProgressively({ sampler: 'ddim', steps, count, seed });
  const { channels, imageSize } = model.config.data;
  draw($('samples'), io.imageGrid(images, count, channels, imageSize, { scale: gridScale(imageSize) }));
  $('modelInfo').textContent = `${count} samples (DDIM, ${steps} steps) from ${model.step === null ? 'the picked weights' : `step ${model.step} of the picked file`}, a ${model.net.numParameters().toLocaleString('en-US')}-parameter UNet for ${model.config.data.imageSize}×${model.config.data.imageSize} images, on the ${model.backend.name} backend.`;
  return { values: Array.from(images), resumable: model.resumable };
}

/** The current run's checkpoint, as the bytes a download would hold. */
async function checkpointBytes() {
  await onBackend(run.backend, () => run.trainer.saveCheckpoint());
  return Array.from(run.store.files.get('checkpoint.safetensors'));
}

/** The file picked last (a checkpoint from Node or this page, or a weights file): sampled at once; a checkpoint can also be continued. */
const loaded = { bytes: null };
$('load').onchange = async () => {
  const file = $('load').files[0];
  if (!file) return;
  try {
    clearNotice('load');
    const bytes = new Uint8Array(await file.arrayBuffer());
    // A weights-only file samples, but only a training checkpoint (optimizer and random state) continues.
    const { resumable } = await sampleCheckpoint(bytes);
    loaded.bytes = resumable ? bytes : null;
    $('continue').disabled = !resumable || run.running;
  } catch (e) {
    notice(`That checkpoint cannot be used: ${e.message}`, 'load');
  }
};

// ------------------------------------------------------------------ the model the top panel samples
/** The model shown at the top (openWeights' fields): the pretrained one, until a file is picked. */
const shown = { net: null, config: null, backend: null, timer: null };
/** Whether the pretrained model has been opened and sampled (`failed`: why it could not be). */
const pretrained = { ready: false, failed: null };

/** Samples 16 images from the shown model with the chosen sampler and plays the first one's chain x_T → x_0. */
async function sampleShown() {
  const { channels, imageSize } = shown.config.data;
  const { images, frames } = await sampleProgressively({ sampler: $('sampler').value, steps: Number($('ddimSteps').value), count: 16, seed: Date.now() % 1e9, trajectoryFrames: 24 });
  const first = frames.map((f) => f.slice(0, channels * imageSize * imageSize));
  draw($('samples'), io.imageGrid(images, 16, channels, imageSize, { scale: gridScale(imageSize) }));
  clearInterval(shown.timer);
  let k = 0;
  shown.timer = setInterval(() => {
    draw($('denoise'), io.imageGrid(first[Math.min(k, first.length - 1)], 1, channels, imageSize, { pad: 0, scale: Math.max(1, Math.round(96 / imageSize)) }));
    k = (k + 1) % (first.length + 12); // hold x_0 a moment before starting again
  }, 120);
}

/** Opens the model this project trained (EMA weights and config, see the README) and samples from it. */
async function openPretrained() {
  const name = 'model/faces-16.safetensors';
  Object.assign(shown, openWeights(await fetchBytes(name), name, await selectBackend($('sampleBackend').value)));
  $('modelInfo').textContent = `A ${shown.net.numParameters().toLocaleString('en-US')}-parameter UNet trained for ${shown.step} steps on generated 16×16 faces with node examples/train-faces.js, sampled here on the ${shown.backend.name} backend.`;
  await sampleShown();
  $('sampleAgain').disabled = false;
  pretrained.ready = true;
}

/** Runs a sampling from the panel's controls with its button off, reporting a failure in the page. */
async function fromPanel(work) {
  try {
    clearNotice('sample');
    $('sampleAgain').disabled = $('sampleBackend').disabled = true;
    await work();
  } catch (e) {
    notice(`Sampling failed: ${e.message}`, 'sample');
    $('sampleProgress').textContent = '';
  } finally {
    $('sampleAgain').disabled = $('sampleBackend').disabled = false;
  }
}
$('sampleAgain').onclick = () => fromPanel(sampleShown);
// Another backend: the shown model is opened there (from its file's bytes) and sampled again.
$('sampleBackend').onchange = () => fromPanel(async () => {
  if (!shown.bytes) return;
  const backend = await selectBackend($('sampleBackend').value);
  Object.assign(shown, openWeights(shown.bytes, shown.name, backend));
  $('modelInfo').textContent = $('modelInfo').textContent.replace(/on the \w+ backend\.$/, `on the ${backend.name} backend.`);
  await sampleShown();
});
$('ddimSteps').oninput = () => ($('ddimValue').textContent = $('ddimSteps').value);

// ------------------------------------------------------------------ the forward process
const schedules = { linear: diffusion.makeSchedule({ schedule: 'linear', timesteps: 1000, betaStart: 1e-4, betaEnd: 0.02 }), cosine: diffusion.makeSchedule({ schedule: 'cosine', timesteps: 1000, betaStart: 1e-4, betaEnd: 0.02 }) };
const face = data.facesDataset(32, 3).image(0);
const noise = await ddpm.randn([1, 3, 32, 32], new ddpm.Rng(1)).data();
function showForward() {
  const t = Number($('t').value);
  $('tValue').textContent = String(t);
  const a = schedules.linear.alphasCumprod[t];
  const xt = face.map((x0, i) => Math.sqrt(a) * x0 + Math.sqrt(1 - a) * noise[i]);
  draw($('xt'), io.imageGrid(xt, 1, 3, 32, { pad: 0 }));
  const curve = (s) => Array.from(s.alphasCumprod, (v, i) => [i, v]);
  chart($('alphaBar'), [{ points: curve(schedules.linear), colour: '#1565c0' }, { points: curve(schedules.cosine), colour: '#ef6c00' }], { marker: t });
}
$('t').oninput = showForward;
showForward();

// ------------------------------------------------------------------ self-checks (for the tests)
/** max |a − b| / max |b|, as the Node tests measure it. */
function relError(a, b) {
  let d = 0, m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return Number.isNaN(d) ? Infinity : d / m;
}

/** A PyTorch fixture file (test/fixtures/, served at /fixtures/). */
const fixture = async (name) => io.parseSafetensors(await fetchBytes(`/fixtures/${name}`), name);

/** The UNet-S PyTorch fixture on `backend`: the worst relative error of the output, gradX and every parameter's gradient. */
async function unetFixture(backend) {
  const chosen = await selectBackend(backend);
  const weights = await fixture('unet-s.safetensors'), ref = await fixture('unet-s.io.safetensors');
  const net = new ddpm.UNet(JSON.parse(weights.metadata.config));
  net.loadStateDict(weights.tensors);
  const x = ref.tensors.get('x');
  x.requiresGrad = true;
  const out = net.forward(x, Array.from(await ref.tensors.get('t').data()));
  ddpm.F.sum(ddpm.F.mul(out, ref.tensors.get('gradOut'))).backward();
  const error = async (got, name) => relError(await got.data(), await ref.tensors.get(name).data());
  const params = [];
  for (const [name, p] of net.namedParameters()) params.push(await error(p.grad, `grad.${name}`));
  return {
    backend: chosen.name, renderer: chosen.renderer ?? null,
    out: await error(out, 'out'), gradX: await error(x.grad, 'gradX'),
    params: Math.max(...params), count: params.length,
  };
}

/** Whether a canvas has been drawn: pixels that differ from each other. */
function drawn(id) {
  const c = $(id);
  const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  return new Set(Array.from({ length: px.length / 4 }, (_, i) => px[4 * i] * 65536 + px[4 * i + 1] * 256 + px[4 * i + 2])).size;
}

/**
 * For npm run bench: seconds per UNet-S training step (batch 16, 32×32, forward + backward + Adam)
 * on `backend` with `threads` cpu threads, the median of `reps` after one warm-up step.
 */
async function benchTrainStep(backend, reps, threads) {
  const chosen = await selectBackend(backend);
  await ddpm.setThreads(threads);
  const weights = await fixture('unet-s.safetensors');
  const net = new ddpm.UNet({ ...JSON.parse(weights.metadata.config), zeroInitOut: false });
  net.loadStateDict(weights.tensors);
  const optimizer = new ddpm.optim.Adam(net.parameters(), { lr: 1e-4 });
  const rng = new ddpm.Rng(1);
  const x = ddpm.randn([16, 3, 32, 32], rng), noise = ddpm.randn([16, 3, 32, 32], rng);
  const t = Array.from({ length: 16 }, () => rng.int(1000));
  const step = async () => {
    const loss = ddpm.tidy(() => {
      const loss = ddpm.F.mseLoss(net.forward(x, t), noise);
      optimizer.zeroGrad();
      loss.backward();
      optimizer.step();
      return loss;
    });
    const value = (await loss.data())[0];
    ddpm.dispose(loss);
    return value;
  };
  await step();
  const times = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await step();
    times.push((performance.now() - t0) / 1000);
  }
  return { backend: chosen.name, renderer: chosen.renderer ?? null, threads: ddpm.getThreads(), seconds: times.sort((a, b) => a - b)[Math.floor(reps / 2)] };
}

window.ddpmDemo = { ddpm, train, run, unetFixture, drawn, sampleCheckpoint, checkpointBytes, usePhotos, photoImages, benchTrainStep, crossOriginIsolated, pretrained, ready: true };
openPretrained().catch((e) => {
  pretrained.failed = e.message;
  notice(`The pretrained model could not be opened: ${e.message}`, 'pretrained');
});
