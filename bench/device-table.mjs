// bench/device.sh's last step: the JSON lines its benches printed (npm run bench --backend
// webgpu and webgl, bench/torch_unet.py), as one Markdown table, written to OUT and printed.
//
//   node bench/device-table.mjs OUT.md LOG...

import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';

const [out, ...logs] = process.argv.slice(2);
if (!out || logs.length === 0) {
  console.error('usage: node bench/device-table.mjs OUT.md LOG...');
  process.exit(2);
}

/** The last line of a log that is a JSON object, or null (the step failed or was skipped: its log says why). */
function lastJson(text) {
  for (const line of text.trim().split('\n').reverse()) {
    if (!line.startsWith('{')) continue;
    try {
      return JSON.parse(line);
    } catch {
      // a line that only looks like JSON
    }
  }
  return null;
}

const runs = Object.fromEntries(logs.map((path) => [basename(path, '.txt'), { text: readFileSync(path, 'utf8'), json: lastJson(readFileSync(path, 'utf8')) }]));
const rows = [
  ['tinyLaunch', 'a tiny launch (add of 16 values, chain of 500)'],
  ['gemm', 'GEMM 512³'],
  ['convF', 'conv3×3 [16,64,16,16]→64 forward'],
  ['convFB', 'conv3×3 forward + backward'],
  ['forward', 'UNet-S forward, batch 16'],
  ['train', 'UNet-S train step, batch 16 (fwd+bwd+Adam)'],
];
const time = (s) => (s === undefined || s === null ? '-' : s < 1e-3 ? `${(s * 1e6).toFixed(1)} µs` : s < 1 ? `${(s * 1e3).toFixed(1)} ms` : `${s.toFixed(2)} s`);
const gflops = (s) => (s ? `${((2 * 512 ** 3) / s / 1e9).toFixed(1)} GFLOP/s` : '-');
const cell = (row, s) => (row === 'gemm' ? gflops(s) : time(s));

const gpu = { webgpu: runs.webgpu?.json, webgl: runs.webgl?.json };
const torch = runs.torch?.json?.torch ?? null;
const cpu = gpu.webgpu ?? gpu.webgl;
const columns = [
  ...['webgpu', 'webgl'].filter((k) => gpu[k]).map((k) => ({ head: `ddpm-ts ${k}`, get: (row) => gpu[k][row]?.seconds?.gpu })),
  ...(cpu ? [{ head: `ddpm-ts cpu (${cpu.threads} threads)`, get: (row) => cpu[row]?.seconds?.cpu }] : []),
  ...(gpu.webgpu?.tfjsWebgpu ? [{ head: `TF.js ${gpu.webgpu.tfjsWebgpu.version} webgpu`, get: (row) => gpu.webgpu[row]?.seconds?.tfjsWebgpu }] : []),
  ...(gpu.webgl?.tfjsWebgl ? [{ head: `TF.js ${gpu.webgl.tfjsWebgl.version} webgl`, get: (row) => gpu.webgl[row]?.seconds?.tfjsWebgl }] : []),
  ...(torch ? [{ head: `PyTorch ${torch.version} CUDA`, get: (row) => torch[row] }] : []),
  ...(gpu.webgpu?.tfjsWebgpu ? [{ head: 'webgpu / TF.js webgpu', get: (row) => gpu.webgpu[row]?.gpuOverTfjsWebgpu, ratio: true }] : []),
  ...(gpu.webgpu && torch ? [{ head: 'webgpu / PyTorch', get: (row) => (torch[row] && gpu.webgpu[row] ? gpu.webgpu[row].seconds.gpu / torch[row] : undefined), ratio: true }] : []),
];

const lines = [`# ddpm-ts on this machine's GPU (bench/device.sh, ${new Date().toISOString()})`, ''];
for (const k of ['webgpu', 'webgl']) {
  const j = gpu[k];
  lines.push(j ? `- ${k}: gpu.js mode '${j.mode}' on ${j.renderer}${j.perCall?.train ? `; ${j.perCall.forward?.launches ?? '?'} launches a forward, ${j.perCall.train.launches} a training step${j.perCall.trainerStep ? `, ${j.perCall.trainerStep.launches} as the trainer runs it (clipping, Adam, EMA)` : ''}` : ''}` : `- ${k}: no result (${(runs[k]?.text ?? 'not run').trim().split('\n').pop()})`);
}
lines.push(torch ? `- PyTorch ${torch.version} on ${torch.device}` : '- PyTorch on CUDA: no result (no CUDA device, or no torch)', '');
if (columns.length) {
  lines.push(`| | ${columns.map((c) => c.head).join(' | ')} |`, `|---|${columns.map(() => '---|').join('')}`);
  for (const [row, label] of rows) {
    const cells = columns.map((c) => {
      const v = c.get(row);
      return c.ratio ? (v === undefined ? '-' : `${v.toFixed(2)}×`) : cell(row, v);
    });
    if (cells.some((c) => c !== '-')) lines.push(`| ${label} | ${cells.join(' | ')} |`);
  }
  lines.push('', 'Times are medians (a tiny launch: the best round), each side on this machine in one run; ratios below 1× mean ddpm-ts webgpu is faster.');
}
const text = lines.join('\n') + '\n';
writeFileSync(out, text);
console.log(`\n${text}\nwritten to ${out}`);
