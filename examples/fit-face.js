// A first taste of ddpm-ts: a small network learns to draw a face.
//
// Each pixel's coordinates go in, its brightness comes out. The network (Fourier features of
// (x, y) -> Linear -> SiLU -> Linear -> SiLU -> Linear) is trained with Adam on the mean squared
// error, and its drawing is printed as it improves. Everything runs on ddpm-ts's own tensors,
// autodiff and CPU backend.
//
//   node examples/fit-face.js [--steps 400]

import { F, Rng, noGrad, optim, tensor } from 'ddpm-ts';
import { parseFlags, run, UsageError } from './cli.js';

const USAGE = `A small network learns to draw a face, printed as it improves.

Usage: node examples/fit-face.js [--steps N]

  --steps N  training steps, a positive integer (default 400)
  --help     show this help`;

let steps = 400;
await run(USAGE, async () => {
  const flags = parseFlags(process.argv.slice(2), { steps: { type: 'string', number: true } });
  steps = flags.steps ?? steps;
  if (!Number.isInteger(steps) || steps < 1) throw new UsageError(`--steps must be a positive integer (got ${steps})`);
});

const S = 24; // picture size
const FREQS = 6; // Fourier features per axis

/** The picture to learn: brightness in [-1, 1] of a smiling face at (u, v) in [-1, 1]². */
function face(u, v) {
  const r = Math.hypot(u, v);
  if (r > 0.9) return -1; // background
  if (r > 0.8) return 1; // outline
  const eye = (cx) => Math.hypot(u - cx, v + 0.3) < 0.13;
  if (eye(-0.32) || eye(0.32)) return 1;
  const smile = Math.hypot(u, v + 0.05);
  if (smile > 0.42 && smile < 0.55 && v > 0.12) return 1;
  return -0.6;
}

/** Inputs [S*S, 4*FREQS] (sines and cosines of both coordinates) and targets [S*S, 1]. */
function dataset() {
  const feats = [], target = [];
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const u = (2 * x + 1) / S - 1, v = (2 * y + 1) / S - 1;
      for (let k = 1; k <= FREQS; k++) {
        feats.push(Math.sin(k * Math.PI * u / 2), Math.cos(k * Math.PI * u / 2));
        feats.push(Math.sin(k * Math.PI * v / 2), Math.cos(k * Math.PI * v / 2));
      }
      target.push(face(u, v));
    }
  }
  return { x: tensor(feats, [S * S, 4 * FREQS]), y: tensor(target, [S * S, 1]) };
}

// PyTorch-style default initialisation, uniform in ±1/sqrt(fan_in), from a seeded generator.
const rng = new Rng(1);
function layer(inF, outF) {
  const bound = 1 / Math.sqrt(inF);
  const init = (n) => Float32Array.from({ length: n }, () => (2 * rng.uniform() - 1) * bound);
  return {
    weight: tensor(init(outF * inF), [outF, inF], { requiresGrad: true }),
    bias: tensor(init(outF), [outF], { requiresGrad: true }),
  };
}
const layers = [layer(4 * FREQS, 64), layer(64, 64), layer(64, 1)];
const params = layers.flatMap((l) => [l.weight, l.bias]);

function forward(x) {
  let h = x;
  layers.forEach((l, i) => {
    h = F.linear(h, l.weight, l.bias);
    if (i < layers.length - 1) h = F.silu(h);
  });
  return h;
}

const optimizer = new optim.Adam(params, { lr: 5e-3 });

const SHADES = ' .:-=+*#%@';
function render(values) {
  const lines = [];
  for (let y = 0; y < S; y += 2) {
    let line = '';
    for (let x = 0; x < S; x++) {
      const b = (values[y * S + x] + values[(y + 1) * S + x]) / 2; // two rows per text line
      const i = Math.round(((Math.max(-1, Math.min(1, b)) + 1) / 2) * (SHADES.length - 1));
      line += SHADES[i];
    }
    lines.push(line);
  }
  return lines;
}

const { x, y } = dataset();
const target = render(y.toFloat32Array());
const started = Date.now();
for (let step = 1; step <= steps; step++) {
  const loss = F.mseLoss(forward(x), y);
  optimizer.zeroGrad();
  loss.backward();
  optimizer.step();
  if (step === 1 || step % 100 === 0 || step === steps) {
    const drawing = render(noGrad(() => forward(x)).toFloat32Array());
    console.log(`step ${step}/${steps}  loss ${loss.item().toFixed(4)}  (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    console.log(`  ${'network'.padEnd(S)}    target`);
    drawing.forEach((line, i) => console.log(`  ${line}    ${target[i]}`));
  }
}
console.log('Done: the network drew the face from coordinates alone. Next: `npm test` checks every op against PyTorch.');
