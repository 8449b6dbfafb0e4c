// bench/device.sh, end to end, on this machine: the command a machine with a real GPU runs (see
// the script), here with WebGPU on SwiftShader's Vulkan and WebGL on llvmpipe under xvfb-run, on
// the GEMM row and the tiny launch only (DEVICE_ROWS=gemm: UNet-S takes minutes to compile on a
// software GPU). It must write one table with every column it could fill. And the tiny launch
// timed in the demo page on Chromium's WebGPU (the bench's page row).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';

const repoRoot = new URL('../../', import.meta.url).pathname;
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** bench/page.mjs, a plain ES module of the bench. */
interface PageBench {
  CHROMIUM: string;
  tinyLaunchInPage(o: { count: number; rounds: number }): Promise<{ ours: number; tfjs: number; renderer: string } | null>;
}

describe('bench/device.sh: one command measures a machine\'s GPU and writes one table', function () {
  this.timeout(900000);

  it('on SwiftShader (webgpu) and llvmpipe (webgl): the tiny launch and GEMM rows, against the cpu backend and TF.js, in one Markdown table', function () {
    const missing = [
      ...(existsSync(SWIFTSHADER_ICD) ? [] : [`no SwiftShader at ${SWIFTSHADER_ICD} (Debian package chromium)`]),
      ...(spawnSync('xvfb-run', ['--help'], { stdio: 'ignore' }).error ? ['no xvfb-run (Debian package xvfb)'] : []),
    ];
    if (missing.length) {
      if (process.env.CI) throw new Error(`CI needs ${missing.join(' and ')}: .ci/run installs them`);
      this.skip();
    }
    const out = join(mkdtempSync(join(tmpdir(), 'ddpm-ts-device-')), 'table.md');
    const env: NodeJS.ProcessEnv = { ...process.env, DEVICE_REPS: '1', DEVICE_ROWS: 'gemm', DEVICE_LIMIT: '400', VK_ICD_FILENAMES: SWIFTSHADER_ICD, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' };
    delete env.DISPLAY;
    const r = spawnSync('bash', [join(repoRoot, 'bench', 'device.sh'), out], { cwd: repoRoot, encoding: 'utf8', env, timeout: 840000 });
    expect(r.status, `${r.stdout}\n${r.stderr}`).to.equal(0);
    const table = readFileSync(out, 'utf8');
    expect(table).to.match(/^- webgpu: gpu\.js mode 'webgpu' on WebGPU, SwiftShader/m);
    expect(table).to.match(/^- webgl: gpu\.js mode 'headlessgl' on WebGL 1\.0/m);
    expect(table).to.match(/^- PyTorch on CUDA: no result/m);
    const header = table.split('\n').find((l) => l.startsWith('| |'))!;
    const columns = header.split('|').map((c) => c.trim()).filter(Boolean);
    expect(columns).to.have.length(6);
    expect(columns.join(' / ')).to.match(/^ddpm-ts webgpu \/ ddpm-ts webgl \/ ddpm-ts cpu \(\d+ threads\) \/ TF\.js 4\.22\.0 webgpu \/ TF\.js 4\.22\.0 webgl \/ webgpu \/ TF\.js webgpu$/);
    // The tiny launch: both webgpu sides measured (µs), their ratio; GEMM: a rate in every column.
    expect(table).to.match(/^\| a tiny launch \(add of 16 values, chain of 500\) \| [\d.]+ µs \| - \| - \| [\d.]+ µs \| - \| [\d.]+× \|$/m);
    expect(table).to.match(/^\| GEMM 512³ \| [\d.]+ GFLOP\/s \| [\d.]+ GFLOP\/s \| [\d.]+ GFLOP\/s \| [\d.]+ GFLOP\/s \| [\d.]+ GFLOP\/s \| [\d.]+× \|$/m);
    expect(r.stdout).to.contain(`written to ${out}`);
  });

  it('the tiny launch in the demo page on Chromium\'s WebGPU: ddpm-ts and TF.js each add a chain correctly, in a plausible time a launch', async function () {
    const page = (await import(join(repoRoot, 'bench/page.mjs'))) as PageBench;
    if (!existsSync(page.CHROMIUM)) {
      if (process.env.CI) throw new Error(`CI needs Chromium at ${page.CHROMIUM}: .ci/run installs it`);
      this.skip();
    }
    // Each chain checks its own sum (bench/tiny-launch.mjs) and throws if it is wrong.
    const r = (await page.tinyLaunchInPage({ count: 100, rounds: 2 }))!;
    expect(r.renderer).to.match(/swiftshader/i);
    for (const [side, seconds] of [['ddpm-ts', r.ours], ['TF.js', r.tfjs]] as const) {
      expect(seconds, side).to.be.above(1e-7);
      expect(seconds, side).to.be.below(0.05); // under 50 ms a launch: not a page busy with something else
    }
  });
});
