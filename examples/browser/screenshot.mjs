// Trains the demo page for a while in headless Chromium and saves a screenshot of it, for the
// README (docs/demo.png):  node examples/browser/screenshot.mjs [--steps 300] [--backend cpu|webgl|webgpu]

import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { openDemo } from './open-demo.mjs';

const { values } = parseArgs({ options: { steps: { type: 'string', default: '300' }, backend: { type: 'string', default: 'cpu' }, out: { type: 'string', default: fileURLToPath(new URL('../../docs/demo.png', import.meta.url)) } } });
const backends = ['cpu', 'webgl', 'webgpu'];
if (!backends.includes(values.backend)) {
  console.error(`--backend must be one of ${backends.join(', ')}, got ${values.backend}`);
  process.exit(2);
}
const { page, close } = await openDemo({ viewport: { width: 1000, height: 900 } });
try {
  await page.waitForFunction(() => window.ddpmDemo?.pretrained.ready === true, undefined, { timeout: 600000 });
  await page.evaluate((backend) => {
    document.getElementById('t').value = '120';
    document.getElementById('t').dispatchEvent(new Event('input'));
    // The picture's backend menu shows the backend the steps below train on.
    document.getElementById('backend').value = backend;
  }, values.backend);
  const steps = Number(values.steps);
  await page.evaluate(([b, n]) => window.ddpmDemo.train(b, n, 50), [values.backend, steps]);
  await page.screenshot({ path: values.out, fullPage: true });
  console.log(`trained ${steps} steps on ${values.backend}; screenshot: ${values.out}`);
} finally {
  await close();
}
