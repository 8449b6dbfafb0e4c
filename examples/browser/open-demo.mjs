// Opens the demo page in Debian's Chromium (headless, driven by playwright-core): builds the
// bundle, serves the page on a free 127.0.0.1 port, launches Chromium with WebGL2 on SwiftShader
// (no GPU needed; DDPM_PAGE_GPU=1 leaves Chromium its own GPU), and waits until the page's script
// has run. Shared by the page's tests, the bench's page rows and screenshot.mjs.

import { chromium } from 'playwright-core';
import { buildBrowser } from './build.mjs';
import { startServer } from './serve.mjs';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Resolves to { page, close }. `onPage` sees the page before it loads (to listen for console
 * errors); `viewport` sizes it.
 */
export async function openDemo({ viewport, onPage } = {}) {
  await buildBrowser();
  const server = await startServer({ port: 0 });
  let browser = null;
  const close = async () => {
    await browser?.close();
    await server.close();
  };
  try {
    const swiftshader = process.env.DDPM_PAGE_GPU ? [] : ['--use-angle=swiftshader', '--enable-unsafe-swiftshader'];
    // WebGPU in headless Chromium (on SwiftShader's Vulkan here) needs the unsafe flag.
    browser = await chromium.launch({ executablePath: CHROMIUM, args: [...swiftshader, '--enable-unsafe-webgpu', '--no-sandbox'] });
    const page = await browser.newPage(viewport ? { viewport } : {});
    onPage?.(page);
    await page.goto(server.url);
    // Playwright's default wait is 30 s; a page's first load on a busy 2-core machine took longer once.
    await page.waitForFunction(() => window.ddpmDemo?.ready === true, undefined, { timeout: 120000 });
    return { page, close };
  } catch (e) {
    await close();
    throw e;
  }
}
