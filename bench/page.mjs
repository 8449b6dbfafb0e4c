// The page row of npm run bench: the UNet-S training step (batch 16) timed inside the demo page
// in Debian's Chromium (headless, via playwright-core), on the cpu backend with Web Workers and
// on the webgl (WebGL2) and webgpu backends, with the same model and batch as the Node rows.

import { existsSync } from 'node:fs';
import { CHROMIUM, openDemo } from '../examples/browser/open-demo.mjs';

export { CHROMIUM };

/**
 * Opens the demo page and times `reps` training steps (after one warm-up) on each backend: the cpu
 * backend on `threads` threads (the page's own and threads − 1 Web Workers), then the webgl and
 * webgpu backends. Resolves to { cpu, webgl, webgpu } as the page's benchTrainStep reports them, or null without Chromium.
 */
export async function benchInPage({ reps, threads }) {
  if (!existsSync(CHROMIUM)) return null;
  const { page, close } = await openDemo();
  try {
    if (!(await page.evaluate(() => crossOriginIsolated))) throw new Error('the demo page is not cross-origin isolated: its cpu backend would run on one thread');
    const timeStep = (backend, n) => page.evaluate(([b, r, t]) => window.ddpmDemo.benchTrainStep(b, r, t), [backend, reps, n]);
    return { cpu: await timeStep('cpu', threads), webgl: await timeStep('webgl', 1), webgpu: await timeStep('webgpu', 1) };
  } finally {
    await close();
  }
}
