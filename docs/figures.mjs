// npm run docs:figures: the tour's pictures, made by the library itself, into docs/figures/.
//   forward-process.png  x_t of a generated face at t = 0, 100, …, 900, 999 (linear schedule)
//   alpha-bar.svg        ᾱ_t for the linear and cosine schedules
//   denoising.png        DDIM trajectories of the demo page's model, x_T → x_0
//   autodiff-graph.svg   the graph autodiff records for L = sum(sigmoid(a·b + c))
//   unet.svg             UNet-S's blocks, with the shapes traced on one 32×32 image, and its skips

import { mkdirSync, writeFileSync } from 'node:fs';
import { F, Rng, data, diffusion, io, nn, noGrad, randn, tensor } from 'ddpm-ts';

const out = new URL('./figures/', import.meta.url);
mkdirSync(out, { recursive: true });
const save = (name, content) => {
  writeFileSync(new URL(name, out), content);
  console.log(`wrote docs/figures/${name}`);
};
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
const svg = (w, h, body) => `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="12">\n<rect width="${w}" height="${h}" fill="white"/>\n<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>\n${body}\n</svg>\n`;
const box = (x, y, w, h, lines, fill = '#e3f2fd') => `<rect x="${x}" y="${y}" width="${w}" height="${h}" rx="4" fill="${fill}" stroke="#455a64"/>` +
  lines.map((l, i) => `<text x="${x + w / 2}" y="${y + h / 2 + (i - (lines.length - 1) / 2) * 14 + 4}" text-anchor="middle">${esc(l)}</text>`).join('');
const arrow = (x1, y1, x2, y2, dashed = false) => `<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="#555" ${dashed ? 'stroke-dasharray="4 3"' : ''} marker-end="url(#arrow)"/>`;

// ---------------------------------------------------------------- the forward process
const linear = diffusion.makeSchedule({ schedule: 'linear', timesteps: 1000, betaStart: 1e-4, betaEnd: 0.02 });
const cosine = diffusion.makeSchedule({ schedule: 'cosine', timesteps: 1000, betaStart: 1e-4, betaEnd: 0.02 });
const face = tensor(data.facesDataset(32, 3).image(0), [1, 3, 32, 32]);
const ts = [0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 999];
const z = randn([1, 3, 32, 32], new Rng(1));
const frames = ts.map((t) => diffusion.qSample(linear, face, [t], z).toFloat32Array());
await io.writePng(new URL('forward-process.png', out).pathname, io.trajectoryStrip(frames, 1, 3, 32, 3));
console.log('wrote docs/figures/forward-process.png');

// ---------------------------------------------------------------- ᾱ_t
{
  const [w, h, m] = [520, 260, 40];
  const px = (t) => m + (t / 999) * (w - 2 * m), py = (v) => h - m - v * (h - 2 * m);
  const curve = (s, colour) => `<polyline fill="none" stroke="${colour}" stroke-width="2" points="${Array.from(s.alphasCumprod, (v, t) => `${px(t).toFixed(1)},${py(v).toFixed(1)}`).join(' ')}"/>`;
  const ticks = [0, 250, 500, 750, 999].map((t) => `<text x="${px(t)}" y="${h - m + 16}" text-anchor="middle">${t}</text>`).join('') +
    [0, 0.5, 1].map((v) => `<text x="${m - 6}" y="${py(v) + 4}" text-anchor="end">${v}</text>`).join('');
  save('alpha-bar.svg', svg(w, h, [
    `<line x1="${m}" y1="${h - m}" x2="${w - m}" y2="${h - m}" stroke="#999"/><line x1="${m}" y1="${m}" x2="${m}" y2="${h - m}" stroke="#999"/>`,
    ticks, curve(linear, '#1565c0'), curve(cosine, '#ef6c00'),
    `<text x="${w / 2}" y="${h - 6}" text-anchor="middle">t</text><text x="${m}" y="${m - 12}">ᾱ_t</text>`,
    `<text x="${w - m - 150}" y="${m + 10}" fill="#1565c0">linear β: 1e-4 → 0.02</text><text x="${w - m - 150}" y="${m + 28}" fill="#ef6c00">cosine (s = 0.008)</text>`,
  ].join('\n')));
}

// ---------------------------------------------------------------- a denoising trajectory
{
  const { tensors, metadata } = await io.loadSafetensors(new URL('../examples/browser/model/faces-16.safetensors', import.meta.url).pathname);
  const config = JSON.parse(metadata.config);
  const net = new nn.UNet(config.model).eval();
  net.loadStateDict(tensors);
  const options = { ...config.sample, sampler: 'ddim', steps: 50, prediction: config.diffusion.prediction, variance: config.diffusion.variance };
  const { trajectory } = diffusion.sample(net, diffusion.makeSchedule(config.diffusion), options, { count: 4, channels: 3, imageSize: 16, rng: new Rng(7), trajectoryFrames: 11 });
  await io.writePng(new URL('denoising.png', out).pathname, io.trajectoryStrip(trajectory.map((f) => f.toFloat32Array()), 4, 3, 16, 4));
  console.log('wrote docs/figures/denoising.png');
}

// ---------------------------------------------------------------- the autodiff graph
{
  const a = tensor([0.5, -1, 2], [3], { requiresGrad: true }), b = tensor([1.5, 0.25, -0.5], [3], { requiresGrad: true }), c = tensor([0.1, 0.2, 0.3], [3], { requiresGrad: true });
  const L = F.sum(F.sigmoid(F.add(F.mul(a, b), c)));
  const names = new Map([[a, 'a'], [b, 'b'], [c, 'c']]);
  // Columns by depth from the leaves; one box per tensor, labelled by the op that made it.
  const depth = new Map();
  const visit = (t) => {
    if (!depth.has(t)) depth.set(t, t.gradNode ? 1 + Math.max(...t.gradNode.inputs.map(visit)) : 0);
    return depth.get(t);
  };
  visit(L);
  const columns = [];
  for (const [t, d] of depth) (columns[d] ??= []).push(t);
  const [bw, bh, gx, gy] = [120, 40, 60, 24];
  const at = new Map();
  columns.forEach((col, d) => col.forEach((t, i) => at.set(t, [20 + d * (bw + gx), 20 + i * (bh + gy) + ((3 - col.length) * (bh + gy)) / 2])));
  const parts = [];
  for (const [t, [x, y]] of at) {
    const label = t.gradNode ? [`${t.gradNode.op}`, `[${t.shape}]`] : [`${names.get(t)} (leaf)`, `[${t.shape}]`];
    parts.push(box(x, y, bw, bh, label, t.gradNode ? '#fff3e0' : '#e3f2fd'));
    if (t.gradNode) for (const input of t.gradNode.inputs) {
      const [ix, iy] = at.get(input);
      parts.push(arrow(ix + bw, iy + bh / 2, x, y + bh / 2));
    }
  }
  parts.push(`<text x="20" y="${3 * (bh + gy) + 30}">forward: left to right. backward() visits the same nodes right to left, each op's rule turning dL/d(output) into dL/d(inputs).</text>`);
  save('autodiff-graph.svg', svg(20 + columns.length * (bw + gx), 3 * (bh + gy) + 50, parts.join('\n')));
}

// ---------------------------------------------------------------- the UNet
{
  const config = { imageSize: 32, inChannels: 3, baseChannels: 32, channelMults: [1, 2, 2], numResBlocks: 1, attnResolutions: [8], groups: 8, timeEmbDim: 128 };
  const net = new nn.UNet(config, { rng: new Rng(0) });
  const { trace } = noGrad(() => nn.traceShapes(net, () => net.forward(randn([1, 3, 32, 32], new Rng(1)), [500])));
  const blocks = trace.filter((e) => ['ResBlock', 'AttentionBlock'].includes(e.kind) || /^(convIn|convOut)$|sample$/.test(e.name));
  const label = (e) => [`${e.name} (${e.kind === 'Conv2d' ? (e.name.endsWith('downsample') ? 'conv, stride 2' : e.name.endsWith('upsample') ? '2× up, conv' : 'conv 3×3') : e.kind})`, `→ [${e.output.slice(1)}]`];
  const encoder = blocks.filter((e) => e.name === 'convIn' || e.name.startsWith('down.'));
  const middle = blocks.filter((e) => e.name.startsWith('mid.'));
  const decoder = blocks.filter((e) => e.name.startsWith('up.') || e.name === 'convOut');
  const [bw, bh, step] = [230, 34, 44];
  // The encoder runs down the left, the middle along the bottom, the decoder up the right.
  const base = 70 + (Math.max(encoder.length, decoder.length) - 1) * step;
  const W = 2 * bw + 340, H = base + (middle.length + 1) * step + 40;
  const parts = [box(W / 2 - 120, 10, 240, 36, ['t → sinusoidal → 2 linear layers', 'temb [128], into every ResBlock'], '#f3e5f5')];
  const place = new Map();
  encoder.forEach((e, i) => place.set(e, [20, base - (encoder.length - 1 - i) * step]));
  middle.forEach((e, i) => place.set(e, [W / 2 - bw / 2, base + (i + 1) * step]));
  decoder.forEach((e, i) => place.set(e, [W - bw - 20, base - i * step]));
  const order = [...encoder, ...middle, ...decoder];
  for (let i = 1; i < order.length; i++) {
    const [x0, y0] = place.get(order[i - 1]), [x1, y1] = place.get(order[i]);
    parts.push(y1 > y0 ? arrow(x0 + bw / 2, y0 + bh, x1 + bw / 2, y1) : arrow(x0 + bw / 2, y0, x1 + bw / 2, y1 + bh));
  }
  // Skips: the encoder's outputs (convIn, each block after its attention, each downsample), popped in reverse by the decoder's ResBlocks.
  const pushes = encoder.filter((e, i) => e.kind !== 'ResBlock' || encoder[i + 1]?.kind !== 'AttentionBlock');
  const pops = decoder.filter((e) => e.kind === 'ResBlock');
  pushes.reverse().forEach((from, i) => {
    const [x0, y0] = place.get(from), [x1, y1] = place.get(pops[i]);
    parts.push(arrow(x0 + bw, y0 + bh / 2, x1, y1 + bh / 2, true));
  });
  for (const e of order) {
    const [x, y] = place.get(e);
    parts.push(box(x, y, bw, bh, label(e), e.kind === 'AttentionBlock' ? '#fff3e0' : e.kind === 'ResBlock' ? '#e3f2fd' : '#eceff1'));
  }
  parts.push(`<text x="20" y="${H - 12}">UNet-S on one 32×32 image: [channels, height, width] after each block. Dashed: skip connections (concatenated along channels).</text>`);
  save('unet.svg', svg(W, H, parts.join('\n')));
}
