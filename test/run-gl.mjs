// The gpu backend's tests again, on real GL: headless-gl (the optional package `gl`) under a
// virtual X display, shaders compiled by Mesa (llvmpipe) on a machine without a GPU.
// In CI (CI=true) this must run and pass: a `gl` that did not build, or no xvfb-run, fails it.
// Elsewhere, without `gl`, it says why it skipped.

import { spawnSync } from 'node:child_process';

const ci = Boolean(process.env.CI);
const missing = [];
try {
  await import('gl');
} catch (e) {
  missing.push(`the optional package 'gl' does not load (${e.message.split('\n')[0]}); see the README's Backends section`);
}
const display = Boolean(process.env.DISPLAY);
if (!display && spawnSync('xvfb-run', ['--help'], { stdio: 'ignore' }).error) missing.push('no X display and no xvfb-run (Debian package xvfb)');
if (missing.length) {
  if (ci) {
    console.error(`GL tests cannot run in CI: ${missing.join('; ')}`);
    process.exit(1);
  }
  console.log(`GL tests skipped: ${missing.join('; ')}`);
  process.exit(0);
}

const mocha = ['node_modules/.bin/mocha', '--no-config', '--require', 'build/test/setup.js', '--node-option', 'expose-gc', '--timeout', '900000', 'build/test/gpu-backend.test.js'];
const command = display ? mocha : ['xvfb-run', '-a', '-s', '-screen 0 1280x1024x24', ...mocha];
console.log(`GL tests: DDPM_GPU_MODES=headlessgl ${command.join(' ')}`);
const run = spawnSync(command[0], command.slice(1), { stdio: 'inherit', env: { ...process.env, DDPM_GPU_MODES: 'headlessgl' } });
process.exit(run.status ?? 1);
