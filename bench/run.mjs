// npm run bench: ddpm-ts's CPU core against TensorFlow.js (`wasm` with SIMD, and pure-JS `cpu`)
// on the same work, interleaved in one run (this machine's cores are shared and noisy): medians
// and ratios, a readable table, and a final JSON line. Per-core rows compare ddpm-ts on one
// thread with TF.js wasm (which runs one thread in Node).
//
//   npm run bench [-- --reps 3] [-- --rows gemm,convF,convFB,forward,train] [-- --threads N] [-- --no-tfjs-cpu] [-- --no-page] [-- --soak STEPS [--soak-model tiny]] [-- --backend webgpu|webgl|gpu [--no-tfjs-webgl] [--no-tfjs-webgpu]]
//
// With --backend webgpu (Dawn; VK_ICD_FILENAMES names a Vulkan driver without a GPU) or webgl
// (headless-gl; under xvfb-run without a display), or gpu (webgpu, else webgl), the same rows run
// on that GPU backend against the cpu backend, in the same run, with the adapter or renderer
// named, and the launches (every gpu.js kernel call, counted by a wrapper around the compiled
// kernels) and new textures or buffers (counted by a wrapper around the WebGL context's
// createTexture or the WebGPU device's createBuffer) of one training step.
// On webgl (headless-gl), TF.js's own webgl backend runs the same rows on a headless-gl context
// of its own (bench/tfjs-webgl.mjs), as the reference a WebGL library can reach (--no-tfjs-webgl
// skips it); on webgpu, TF.js's webgpu backend (@tensorflow/tfjs-backend-webgpu) on the same
// Dawn adapter (--no-tfjs-webgpu skips it), with a row for the cost of one tiny launch
// (bench/tiny-launch.mjs), and one for the same in the demo page on Chromium's WebGPU.
// The UNet-S training step is also timed in the demo page in Chromium (bench/page.mjs): its cpu
// backend on the same threads as Node's, and its gpu backend (WebGL2), against Node in the same run.
// Last, STEPS (default 20; 0 skips it) training steps of UNet-S run in a fresh process without
// TF.js, which reports ddpm-ts's own peak RSS (and its RSS, or the gpu backend's live textures,
// every 100 steps, for --soak 1000).

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { F, GpuBackend, Rng, availableCores, diffusion, dispose, getBackend, io, nn, noGrad, optim, randn, setBackend, setThreads, tensor, tidy, useBackend } from 'ddpm-ts';
import { makeConv, tfUNet } from './tfjs-unet.mjs';
import { benchInPage, CHROMIUM, tinyLaunchInPage } from './page.mjs';
import { useTfjsOnHeadlessGl } from './tfjs-webgl.mjs';
import { ddpmTinyLaunch, tfjsTinyLaunch } from './tiny-launch.mjs';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : args[i + 1] === undefined || args[i + 1].startsWith('--') ? true : args[i + 1];
};
const REPS = Number(flag('reps', 3));
const threads = Number(flag('threads', await availableCores())); // as the trainer: one per core
await setThreads(threads);
const BATCH = 16;
const fixture = fileURLToPath(new URL('../test/fixtures/unet-s.safetensors', import.meta.url));

function maxRelError(a, b) {
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** Seconds `fn` takes, its result (a read on a GPU backend) awaited. */
const time = async (fn) => {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
};
let peakRss = 0;
const sampleRss = () => (peakRss = Math.max(peakRss, process.memoryUsage().rss));

// ---------------------------------------------------------------- the shared problem
const { tensors: weights, metadata } = await io.loadSafetensors(fixture);
const config = JSON.parse(metadata.config);
const rng = new Rng(1);
const x0 = randn([BATCH, 3, 32, 32], rng), noise = randn([BATCH, 3, 32, 32], rng);
const t = Array.from({ length: BATCH }, () => rng.int(1000));
const schedule = diffusion.makeSchedule({ schedule: 'linear', timesteps: 1000, betaStart: 1e-4, betaEnd: 0.02 });
const xt = diffusion.qSample(schedule, x0, t, noise);
const temb = F.timestepEmbedding(t, config.baseChannels);

// ---------------------------------------------------------------- ddpm-ts
/** The timed functions, with the model and its inputs on `backend`. */
function makeOurs(backend) {
  setBackend(backend);
  const onIt = (x) => tensor(x.toFloat32Array(), x.shape); // a copy on `backend`
  const [bxt, bnoise] = [xt, noise].map(onIt);
  const net = new nn.UNet({ ...config, zeroInitOut: false });
  net.loadStateDict(new Map([...weights].map(([n, w]) => [n, onIt(w)])));
  const opt = new optim.Adam(net.parameters(), { lr: 1e-4 });
  const ema = new optim.EMA(net);
  // Each function issues its work and returns the tensor whose values end it (read below).
  const gemm = (n) => {
    const a = randn([n, n], new Rng(2)), b = randn([n, n], new Rng(3));
    return () => F.matmul(a, b);
  };
  const conv = (backward) => {
    const r = new Rng(4);
    const x = randn([16, 64, 16, 16], r, { requiresGrad: backward }), w = randn([64, 64, 3, 3], r, { requiresGrad: backward });
    return () => {
      const y = F.conv2d(x, w, null, { padding: 1 });
      if (!backward) return y;
      y.backward(y.detach());
      return F.sum(w.grad); // ends after the weight gradient
    };
  };
  const fns = {
    gemm: gemm(512), convF: conv(false), convFB: conv(true),
    forward: () => noGrad(() => net.forward(bxt, t)),
    train: () => {
      const loss = F.mseLoss(net.forward(bxt, t), bnoise);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      sampleRss();
      return F.sum(net.convOut.weight); // ends after the update
    },
    // A step as the trainer runs it (counted, not timed): the same, with gradient clipping (its
    // scale applied by Adam) and the EMA update.
    trainerStep: () => {
      const loss = F.mseLoss(net.forward(bxt, t), bnoise);
      opt.zeroGrad();
      loss.backward();
      opt.step(optim.clipScale(net.parameters(), 1).scale);
      ema.update();
      return F.sum(net.convOut.weight);
    },
  };
  // Each call runs on `backend`, whatever is current, frees what it made (tidy) as the trainer
  // does, and reads its result back (await data(): the point where a WebGPU program waits).
  return Object.fromEntries(Object.entries(fns).map(([k, fn]) => [k, async () => {
    setBackend(backend);
    const out = tidy(fn);
    const values = await out.data();
    dispose(out);
    return values;
  }]));
}

const rows = {
  gemm: { label: 'GEMM 512³ (GFLOP/s)', flops: 2 * 512 ** 3 },
  convF: { label: 'conv3×3 [16,64,16,16]→64 forward' },
  convFB: { label: 'conv3×3 forward + backward' },
  forward: { label: 'UNet-S forward, batch 16' },
  train: { label: 'UNet-S train step, batch 16 (fwd+bwd+Adam)' },
};
// --rows gemm,convF,… times only those rows (bench/device.sh's quick check, on a software GPU).
const onlyRows = flag('rows', false);
if (onlyRows) for (const row of Object.keys(rows)) if (!String(onlyRows).split(',').includes(row)) delete rows[row];
const fmt = (row, s) => (row === 'gemm' ? `${(rows.gemm.flops / s / 1e9).toFixed(2)} GFLOP/s` : s >= 1 ? `${s.toFixed(2)} s` : `${(s * 1000).toFixed(1)} ms`);
/** Prints rows of cells as an aligned table. */
function printTable(table) {
  const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
  console.log('');
  for (const [i, r] of table.entries()) {
    console.log(r.map((c, k) => (k === 0 ? c.padEnd(widths[k]) : c.padStart(widths[k]))).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}
/** Runs the soak in a fresh process and adds its report to `summary`. */
function soakRun(summary, backend) {
  const soak = Number(flag('soak', 20));
  if (soak <= 0) return;
  const model = flag('soak-model', 'unet-s');
  const child = spawnSync(process.execPath, [fileURLToPath(new URL('./soak.mjs', import.meta.url)), String(soak), String(threads), backend, model], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`the soak run failed (exit ${child.status})`);
  const lines = child.stdout.trim().split('\n');
  lines.slice(0, -1).forEach((l) => console.log(l));
  summary.soak = JSON.parse(lines.at(-1));
  console.log(`ddpm-ts alone (${backend} backend), training ${model === 'tiny' ? 'a tiny UNet at batch 4' : 'UNet-S at batch 16'} for ${soak} steps in a fresh process: peak RSS ${summary.soak.peakRssMB} MB`);
}

// ---------------------------------------------------------------- TensorFlow.js
const tf = await import('@tensorflow/tfjs');
await import('@tensorflow/tfjs-backend-wasm');
const engines = ['wasm'].concat(flag('no-tfjs-cpu', false) ? [] : ['cpu']);
const weightList = new Map([...weights].map(([n, w]) => [n, { data: w.toFloat32Array(), shape: [...w.shape] }]));
const xtValues = xt.toFloat32Array(); // NCHW; each TF.js model transposes it to NHWC

async function tfSetup(backend, { async = false } = {}) {
  await tf.setBackend(backend);
  await tf.ready();
  const model = tfUNet(tf, config, weightList, `${backend}:`);
  const x = tf.transpose(tf.tensor(xtValues, [...xt.shape]), [0, 2, 3, 1]);
  const e = tf.tensor(temb.toFloat32Array(), temb.shape);
  const target = tf.transpose(tf.tensor(noise.toFloat32Array(), noise.shape), [0, 2, 3, 1]);
  const opt = tf.train.adam(1e-4, 0.9, 0.999, 1e-8);
  const conv = makeConv(tf);
  const a = tf.randomNormal([512, 512], 0, 1, 'float32', 2), b = tf.randomNormal([512, 512], 0, 1, 'float32', 3);
  const cx = tf.randomNormal([16, 16, 16, 64], 0, 1, 'float32', 4), cw = tf.variable(tf.randomNormal([3, 3, 64, 64], 0, 1, "float32", 5), true, `${backend}:convw`);
  // Results are read outside tf.tidy: reading inside it measured 10× slower on wasm. WebGPU
  // reads asynchronously (its dataSync needs an OffscreenCanvas, which Node has not).
  const read = (make) => {
    const out = tf.tidy(make);
    if (async) return out.data().then((values) => (out.dispose(), values));
    const values = out.dataSync();
    out.dispose();
    return values;
  };
  return {
    forward: () => read(() => model.forward(x, e)),
    train: () => read(() => opt.minimize(() => tf.losses.meanSquaredError(target, model.forward(x, e)), true)),
    gemm: () => read(() => tf.matMul(a, b)),
    convF: () => read(() => tf.conv2d(cx, cw, 1, 'same')),
    convFB: () => read(() => tf.variableGrads(() => tf.sum(tf.square(conv(cx, cw, 1, 1))).mul(0.5), [cw]).grads[cw.name]),
    outputNchw: () => read(() => tf.transpose(model.forward(x, e), [0, 3, 1, 2])),
  };
}

// ---------------------------------------------------------------- --backend webgpu|webgl|gpu: a GPU backend against cpu
/** Counts, from outside the backend, what the GPU is asked for: kernel calls and new textures (WebGL) or buffers (WebGPU). */
const counts = { launches: 0, created: 0, byKernel: new Map() };
function countCreations(gpu) {
  const context = gpu.context;
  if (!context) return;
  const target = gpu.name === 'webgpu' ? context.device : context;
  const method = gpu.name === 'webgpu' ? 'createBuffer' : 'createTexture';
  const original = target[method].bind(target);
  target[method] = (...a) => {
    counts.created++;
    return original(...a);
  };
}
const instrument = (kernel, name) => (...a) => {
  counts.launches++;
  counts.byKernel.set(name, (counts.byKernel.get(name) ?? 0) + 1);
  return kernel(...a);
};

const gpuChoice = flag('backend', 'cpu');
if (gpuChoice !== 'cpu') {
  const cpu = getBackend();
  // The backend useBackend picks, opened again with the counting wrapper (one GPU context more, same mode).
  const picked = await useBackend(gpuChoice, { log: (m) => console.log(m) });
  const gpu = await GpuBackend.create({ mode: picked.mode, instrument });
  countCreations(gpu);
  const sides = { gpu: makeOurs(gpu), cpu: makeOurs(cpu) };
  console.log(`ddpm-ts bench, ${gpu.name} backend: gpu.js mode '${gpu.mode}' on ${gpu.renderer}; against the cpu backend on ${threads} thread(s); ${REPS} reps, node ${process.version}`);
  // Same model, same answer, before a UNet row is timed (a run of other rows only skips it: compiling UNet-S is minutes on a software GPU).
  const unetRows = 'forward' in rows || 'train' in rows;
  const reference = unetRows ? await sides.cpu.forward() : null;
  const matchCpu = unetRows ? maxRelError(await sides.gpu.forward(), reference) : null;
  if (unetRows) {
    console.log(`check: UNet-S output on the ${gpu.name} backend vs the cpu backend, max relative error ${matchCpu.toExponential(2)}`);
    if (!(matchCpu < 1e-3)) throw new Error(`the ${gpu.name} backend does not compute the same function; timings would mean nothing`);
  }
  // TF.js's own backend of that kind, on the same device: webgl on a headless-gl context of its
  // own (the same renderer), webgpu on Dawn's navigator.gpu (the same adapter); the same model and step.
  let tfRenderer = null;
  const tfKind = gpu.name;
  if (gpu.name === 'webgl' && gpu.mode === 'headlessgl' && !flag('no-tfjs-webgl', false)) {
    tfRenderer = await useTfjsOnHeadlessGl(tf);
    sides.tfjs = await tfSetup('webgl');
  } else if (gpu.name === 'webgpu' && !flag('no-tfjs-webgpu', false)) {
    await import('@tensorflow/tfjs-backend-webgpu');
    sides.tfjs = await tfSetup('webgpu', { async: true });
    tfRenderer = gpu.renderer;
  }
  if (sides.tfjs && unetRows) {
    const matchTf = maxRelError(await sides.tfjs.outputNchw(), reference);
    console.log(`check: UNet-S output of TF.js ${tf.version.tfjs} ${tfKind} (${tfRenderer}) vs ddpm-ts's cpu backend, max relative error ${matchTf.toExponential(2)}`);
    if (!(matchTf < 1e-3)) throw new Error(`TF.js ${tfKind} does not compute the same function; timings would mean nothing`);
  }
  const times = {};
  for (const row of Object.keys(rows)) {
    for (let rep = 0; rep < REPS + 1; rep++) {
      for (const side of Object.keys(sides)) {
        if (side === 'tfjs') await tf.setBackend(tfKind);
        const s = await time(sides[side][row]);
        if (rep > 0) ((times[row] ??= {})[side] ??= []).push(s);
      }
    }
    process.stdout.write(`  ${rows[row].label}: done\n`);
  }
  // On webgpu, what one launch costs beyond its arithmetic: a chain of tiny adds, end to end (bench/tiny-launch.mjs).
  let tiny = null;
  if (gpu.name === 'webgpu') {
    const count = 500, rounds = Math.max(5, 2 * REPS);
    tiny = { ours: (await ddpmTinyLaunch(count, rounds)).seconds, tfjs: sides.tfjs ? (await tfjsTinyLaunch(count, rounds)).seconds : null };
    process.stdout.write('  a tiny launch: done\n');
    // The same chain in the demo page, on Chromium's WebGPU (both sides there), unless --no-page.
    if (!flag('no-page', false)) {
      tiny.page = await tinyLaunchInPage({ count, rounds });
      if (tiny.page) process.stdout.write('  a tiny launch, in a page: done\n');
    }
  }
  // One more training step and one forward, counted (the steps above compiled everything).
  const perCall = {};
  if ('train' in rows) await sides.gpu.trainerStep(); // compiles clipping's and the EMA's kernels
  for (const row of ['forward', 'train', 'trainerStep'].filter((r) => r in rows || (r === 'trainerStep' && 'train' in rows))) {
    Object.assign(counts, { launches: 0, created: 0, byKernel: new Map() });
    await sides.gpu[row]();
    perCall[row] = { launches: counts.launches, created: counts.created, byKernel: Object.fromEntries([...counts.byKernel].sort((a, b) => b[1] - a[1])) };
  }
  const what = gpu.name === 'webgpu' ? 'buffers' : 'textures';
  if (perCall.forward) console.log(`per UNet-S forward: ${perCall.forward.launches} launches, ${perCall.forward.created} new ${what}`);
  if (perCall.train) {
    console.log(`per train step: ${perCall.train.launches} launches, ${perCall.train.created} new ${what}`);
    console.log(`launches of a train step by kernel: ${Object.entries(perCall.train.byKernel).map(([k, n]) => `${k} ${n}`).join(', ')}`);
    const s = perCall.trainerStep;
    console.log(`per train step as the trainer runs it (gradient clipping, Adam, EMA): ${s.launches} launches, ${s.created} new ${what}; by kernel: ${Object.entries(s.byKernel).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  }
  const summary = { backend: gpu.name, mode: gpu.mode, renderer: gpu.renderer, threads, reps: REPS, matchVsCpu: matchCpu, perCall };
  const tfKey = tfKind === 'webgpu' ? 'Webgpu' : 'Webgl';
  const table = [['', `ddpm-ts ${gpu.name} (${gpu.renderer})`, `ddpm-ts cpu (${threads} thread(s))`, 'gpu / cpu', ...(tfRenderer ? [`TF.js ${tf.version.tfjs} ${tfKind}`, 'gpu / TF.js'] : [])]];
  if (tiny) {
    const us = (s) => `${(s * 1e6).toFixed(1)} µs`;
    table.push(['a tiny launch (add of 16 values, in a chain of 500)', us(tiny.ours), '-', '-', ...(tfRenderer ? [us(tiny.tfjs), `${(tiny.ours / tiny.tfjs).toFixed(2)}×`] : [])]);
    summary.tinyLaunch = { seconds: { gpu: tiny.ours, ...(tiny.tfjs ? { [`tfjs${tfKey}`]: tiny.tfjs } : {}) }, ...(tiny.tfjs ? { [`gpuOverTfjs${tfKey}`]: tiny.ours / tiny.tfjs } : {}) };
    if (tiny.page && tfRenderer) {
      table.push([`the same, in a Chromium page (${tiny.page.renderer})`, us(tiny.page.ours), '-', '-', us(tiny.page.tfjs), `${(tiny.page.ours / tiny.page.tfjs).toFixed(2)}×`]);
      summary.tinyLaunchInPage = { seconds: { gpu: tiny.page.ours, [`tfjs${tfKey}`]: tiny.page.tfjs }, [`gpuOverTfjs${tfKey}`]: tiny.page.ours / tiny.page.tfjs, renderer: tiny.page.renderer };
    }
  }
  for (const [row, { label }] of Object.entries(rows)) {
    const g = median(times[row].gpu), c = median(times[row].cpu), t = tfRenderer ? median(times[row].tfjs) : null;
    table.push([label, fmt(row, g), fmt(row, c), `${(g / c).toFixed(2)}×`, ...(t ? [fmt(row, t), `${(g / t).toFixed(2)}×`] : [])]);
    summary[row] = { seconds: { gpu: g, cpu: c, ...(t ? { [`tfjs${tfKey}`]: t } : {}) }, gpuOverCpu: g / c, ...(t ? { [`gpuOverTfjs${tfKey}`]: g / t } : {}) };
  }
  if (tfRenderer) summary[`tfjs${tfKey}`] = { version: tf.version.tfjs, renderer: tfRenderer };
  printTable(table);
  console.log(`\nratios below 1× mean the ${gpu.name} backend is faster (time gpu / time of the other). GPU memory now: ${JSON.stringify(gpu.memory())}, pooled for reuse: ${JSON.stringify(gpu.pooled())}`);
  soakRun(summary, gpu.name);
  console.log(JSON.stringify(summary));
  process.exit(0);
}

// ---------------------------------------------------------------- run, interleaved
const results = {}; // results[row][engine] = [seconds]
const record = (row, engine, s) => ((results[row] ??= {})[engine] ??= []).push(s);
const oursFns = makeOurs(getBackend());

console.log(`ddpm-ts bench: ${threads} thread(s), ${REPS} reps, TensorFlow.js ${tf.version.tfjs} (${engines.join(', ')}), node ${process.version}`);
const tfEngines = {};
for (const engine of engines) tfEngines[engine] = await tfSetup(engine);

// Same model, same answer: check before timing anything.
await tf.setBackend('wasm');
const matchWasm = maxRelError(tfEngines.wasm.outputNchw(), await oursFns.forward());
console.log(`check: TF.js wasm UNet-S output vs ddpm-ts, max relative error ${matchWasm.toExponential(2)}`);
if (!(matchWasm < 1e-4)) throw new Error('the TF.js model does not compute the same function; timings would mean nothing');

for (const row of Object.keys(rows)) {
  for (let rep = 0; rep < REPS + 1; rep++) {
    const warm = rep === 0;
    const s = await time(oursFns[row]);
    if (!warm) record(row, 'ddpm-ts', s);
    for (const engine of engines) {
      // TF.js cpu is ~100× slower on the big rows: one timed rep there.
      if (engine === 'cpu' && (row === 'train' || row === 'forward') && rep > 1) continue;
      await tf.setBackend(engine);
      const te = await time(tfEngines[engine][row]);
      if (!warm || (engine === 'cpu' && (row === 'train' || row === 'forward') && rep === 1)) record(row, `tfjs-${engine}`, te);
    }
  }
  process.stdout.write(`  ${rows[row].label}: done\n`);
}

// Per core: ddpm-ts on one thread against TF.js wasm, which runs one thread in Node.
let pageSummary = null;
const perCore = Object.fromEntries([['forward1', 'forward'], ['train1', 'train']].filter(([, of]) => of in rows));
if (threads > 1) {
  await setThreads(1);
  for (const [row, of] of Object.entries(perCore)) {
    rows[row] = { label: `${rows[of].label}, per core: ours on 1 thread` };
    for (let rep = 0; rep < REPS + 1; rep++) {
      const s = await time(oursFns[of]);
      if (rep > 0) record(row, 'ddpm-ts', s);
    }
    results[row]['tfjs-wasm'] = results[of]['tfjs-wasm'];
  }
  await setThreads(threads);
}

// ---------------------------------------------------------------- in a page
// The same training step in the demo page (Chromium), between two Node runs of it on the same
// number of threads: the page's cpu backend against Node's, and its webgl (WebGL2) and webgpu backends.
const pageRows = [];
if (!flag('no-page', false) && rows.train) {
  const nodeTrain = [];
  const timeNode = async () => {
    for (let rep = 0; rep < REPS; rep++) nodeTrain.push(await time(oursFns.train));
  };
  await timeNode();
  const inPage = await benchInPage({ reps: REPS, threads });
  await timeNode();
  if (!inPage) {
    console.log(`  page row skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
  } else {
    const node = median(nodeTrain);
    pageRows.push([`${rows.train.label}, in a page: cpu backend, ${inPage.cpu.threads} thread(s) (Web Workers)`, fmt('train', inPage.cpu.seconds), fmt('train', node), `${(inPage.cpu.seconds / node).toFixed(2)}×`]);
    for (const kind of ['webgl', 'webgpu']) {
      pageRows.push([`${rows.train.label}, in a page: ${kind} backend (${inPage[kind].renderer})`, fmt('train', inPage[kind].seconds), fmt('train', node), `${(inPage[kind].seconds / node).toFixed(2)}×`]);
    }
    pageSummary = { node, cpu: inPage.cpu, webgl: inPage.webgl, webgpu: inPage.webgpu, cpuPageOverNode: inPage.cpu.seconds / node };
  }
  process.stdout.write('  page rows: done\n');
}

// ---------------------------------------------------------------- table
const cols = ['ddpm-ts', ...engines.map((e) => `tfjs-${e}`)];
const header = ['', `ddpm-ts (${threads} thread(s))`, ...engines.map((e) => `tfjs-${e}`), ...engines.map((e) => `ours / tfjs-${e}`)];
const table = [header];
const summary = { threads, reps: REPS };
for (const [row, { label }] of Object.entries(rows)) {
  const med = Object.fromEntries(cols.map((c) => [c, results[row]?.[c] ? median(results[row][c]) : null]));
  const ratios = engines.map((e) => (med[`tfjs-${e}`] ? med['ddpm-ts'] / med[`tfjs-${e}`] : null));
  table.push([label, ...cols.map((c) => (med[c] === null ? '-' : fmt(row, med[c]))), ...ratios.map((r) => (r === null ? '-' : `${r.toFixed(2)}×`))]);
  summary[row] = { seconds: med, oursOverTfjs: Object.fromEntries(engines.map((e, i) => [e, ratios[i]])) };
}
if (rows.gemm) summary.gemmGflops = rows.gemm.flops / summary.gemm.seconds['ddpm-ts'] / 1e9;
summary.peakRssMB = Math.round(peakRss / 2 ** 20);
summary.matchVsTfjsWasm = matchWasm;
printTable(table);
if (pageRows.length) {
  printTable([['', 'in the page', `Node cpu (${threads} thread(s))`, 'page / Node'], ...pageRows]);
  console.log(`the page ran in ${CHROMIUM}; its gpu backend on ${pageSummary.gpu.renderer}`);
  summary.page = pageSummary;
}
console.log(`\nddpm-ts ran on ${threads} thread(s) (the per-core rows on 1); ${engines.map((e) => `TF.js ${e} on 1`).join(', ')}.`);
console.log(`ratios below 1× mean ddpm-ts is faster (time ours / time theirs). Peak RSS of this process (all engines loaded): ${summary.peakRssMB} MB`);
soakRun(summary, 'cpu');
console.log(JSON.stringify(summary));
