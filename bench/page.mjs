// The page row of npm run bench: the UNet-S training step (batch 16) timed inside the demo page
// in Debian's Chromium (headless, via playwright-core), on the cpu backend with Web Workers and
// on the webgl (WebGL2) and webgpu backends, with the same model and batch as the Node rows.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { CHROMIUM, openDemo } from '../examples/browser/open-demo.mjs';
import { bestPerLaunch, ddpmChain, tfjsBestPerLaunch } from './tiny-launch.mjs';

export { CHROMIUM };

/**
 * Waits until the page has opened and sampled its pretrained model (or failed to): until then its
 * main thread samples in slices, and a timing taken meanwhile measures that (a tiny launch's
 * read waited about 100 ms for it).
 */
async function untilIdle(page) {
  await page.waitForFunction(() => window.ddpmDemo.pretrained.ready || window.ddpmDemo.pretrained.failed !== null, undefined, { timeout: 300000 });
}

/**
 * Opens the demo page and times `reps` training steps (after one warm-up) on each backend: the cpu
 * backend on `threads` threads (the page's own and threads − 1 Web Workers), then the webgl and
 * webgpu backends. Resolves to { cpu, webgl, webgpu } as the page's benchTrainStep reports them, or null without Chromium.
 */
export async function benchInPage({ reps, threads }) {
  if (!existsSync(CHROMIUM)) return null;
  const { page, close } = await openDemo();
  try {
    await untilIdle(page);
    if (!(await page.evaluate(() => crossOriginIsolated))) throw new Error('the demo page is not cross-origin isolated: its cpu backend would run on one thread');
    const timeStep = (backend, n) => page.evaluate(([b, r, t]) => window.ddpmDemo.benchTrainStep(b, r, t), [backend, reps, n]);
    return { cpu: await timeStep('cpu', threads), webgl: await timeStep('webgl', 1), webgpu: await timeStep('webgpu', 1) };
  } finally {
    await close();
  }
}

/**
 * bench/tiny-launch.mjs's chain of `count` tiny adds, in the demo page in Chromium on its WebGPU:
 * ddpm-ts's webgpu backend (the page's bundle), then TF.js's webgpu backend (its browser bundles,
 * added to the page). Resolves to { ours, tfjs } seconds a launch (best of `rounds`) and the
 * adapter, or null without Chromium.
 */
export async function tinyLaunchInPage({ count, rounds }) {
  if (!existsSync(CHROMIUM)) return null;
  const { page, close } = await openDemo();
  try {
    await untilIdle(page);
    const ours = await page.evaluate(`(async () => {
      const ddpmChain = ${ddpmChain}, bestPerLaunch = ${bestPerLaunch};
      const ddpm = window.ddpmDemo.ddpm;
      const backend = await ddpm.useBackend('webgpu');
      if (backend.name !== 'webgpu') throw new Error('the page has no WebGPU backend (' + backend.name + ')');
      try {
        return { seconds: await bestPerLaunch(ddpmChain(ddpm, ${count}), ${count}, ${rounds}), renderer: backend.renderer };
      } finally {
        ddpm.setBackend('cpu');
      }
    })()`);
    const require = createRequire(import.meta.url);
    for (const bundle of ['@tensorflow/tfjs-core/dist/tf-core.min.js', '@tensorflow/tfjs-backend-webgpu/dist/tf-backend-webgpu.min.js']) {
      await page.addScriptTag({ path: require.resolve(bundle) });
    }
    const tfjs = await page.evaluate(`(async () => {
      const tfjsBestPerLaunch = ${tfjsBestPerLaunch}, bestPerLaunch = ${bestPerLaunch};
      return tfjsBestPerLaunch(window.tf, ${count}, ${rounds}, bestPerLaunch);
    })()`);
    return { ours: ours.seconds, tfjs, renderer: ours.renderer };
  } finally {
    await close();
  }
}
