// The gpu backends' tests again, on real GPU APIs, with software drivers on a machine without a GPU:
//
//   webgl   headless-gl (the optional package `gl`) under a virtual X display, shaders compiled
//           by Mesa (llvmpipe);
//   webgpu  Dawn (the optional package `webgpu`) on SwiftShader's Vulkan driver from Debian's
//           chromium package, through the Vulkan loader (Debian's libvulkan1).
//
// In CI (CI=true) both must run and pass: a missing package, driver or display fails the run.
// Elsewhere, what is missing is said and that part is skipped. DDPM_GPU_RUNS=webgl (or webgpu)
// runs one of them.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const ci = Boolean(process.env.CI);
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const mocha = ['node_modules/.bin/mocha', '--no-config', '--require', 'build/test/setup.js', '--node-option', 'expose-gc', '--timeout', '900000', 'build/test/gpu-backend.test.js'];

/** What a run needs that this machine lacks (empty when it can run). */
async function missingFor(run) {
  const missing = [];
  if (run === 'webgl') {
    await import('gl').catch((e) => missing.push(`the optional package 'gl' does not load (${e.message.split('\n')[0]}); see the README's Backends section`));
    if (!process.env.DISPLAY && spawnSync('xvfb-run', ['--help'], { stdio: 'ignore' }).error) missing.push('no X display and no xvfb-run (Debian package xvfb)');
  } else {
    await import('webgpu').catch((e) => missing.push(`the optional package 'webgpu' does not load (${e.message.split('\n')[0]})`));
    if (!process.env.VK_ICD_FILENAMES && !existsSync(SWIFTSHADER_ICD)) missing.push(`no Vulkan driver named by VK_ICD_FILENAMES, and no SwiftShader at ${SWIFTSHADER_ICD} (Debian package chromium)`);
    if (spawnSync('sh', ['-c', 'ldconfig -p | grep -q libvulkan.so.1']).status !== 0) missing.push('no Vulkan loader libvulkan.so.1 (Debian package libvulkan1)');
  }
  return missing;
}

const runs = (process.env.DDPM_GPU_RUNS ?? 'webgl,webgpu').split(',');
let failed = false;
for (const run of runs) {
  const missing = await missingFor(run);
  if (missing.length) {
    if (ci) {
      console.error(`${run} tests cannot run in CI: ${missing.join('; ')}`);
      process.exit(1);
    }
    console.log(`${run} tests skipped: ${missing.join('; ')}`);
    continue;
  }
  const env = { ...process.env };
  let command;
  if (run === 'webgl') {
    env.DDPM_GPU_MODES = 'headlessgl';
    command = env.DISPLAY ? mocha : ['xvfb-run', '-a', '-s', '-screen 0 1280x1024x24', ...mocha];
  } else {
    env.DDPM_GPU_MODES = 'webgpu';
    env.VK_ICD_FILENAMES ??= SWIFTSHADER_ICD;
    env.XDG_RUNTIME_DIR ??= '/tmp'; // the Vulkan loader warns on every start without one
    command = mocha;
  }
  console.log(`${run} tests: DDPM_GPU_MODES=${env.DDPM_GPU_MODES}${run === 'webgpu' ? ` VK_ICD_FILENAMES=${env.VK_ICD_FILENAMES}` : ''} ${command.join(' ')}`);
  const result = spawnSync(command[0], command.slice(1), { stdio: 'inherit', env });
  if (result.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
