// The demo page in real Chromium (Debian's, driven by playwright-core; WebGL2 on SwiftShader):
// it loads without a console error, is cross-origin isolated, passes the UNet-S PyTorch fixture
// on the cpu backend and on the gpu backend (WebGL2), and trains 20 steps on each, drawing its
// sample grid. Chromium is required in CI (.ci/run installs it); elsewhere, without it, the
// tests say they were skipped.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { chromium, type Browser, type Page } from 'playwright-core';

const repoRoot = new URL('../../', import.meta.url).pathname;
const CHROMIUM = '/usr/bin/chromium';

interface Fixture { backend: string; renderer: string | null; out: number; gradX: number; params: number; count: number }

describe('the demo page in Chromium', function () {
  this.timeout(600000);
  let browser: Browser;
  let page: Page;
  let server: { url: string; close(): Promise<void> };
  const problems: string[] = [];

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      if (process.env.CI) throw new Error(`CI needs Debian's chromium at ${CHROMIUM} (.ci/run installs it)`);
      return this.skip();
    }
    const { buildBrowser } = await import(join(repoRoot, 'examples/browser/build.mjs'));
    await buildBrowser();
    const { startServer } = await import(join(repoRoot, 'examples/browser/serve.mjs'));
    server = await startServer({ port: 0 });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--no-sandbox'] });
    page = await browser.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await page.goto(server.url);
    await page.waitForFunction(() => (window as unknown as { ddpmDemo?: { ready: boolean } }).ddpmDemo?.ready === true);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('loads with no console error, cross-origin isolated (SharedArrayBuffer available)', async () => {
    expect(problems).to.deep.equal([]);
    expect(await page.evaluate(() => crossOriginIsolated && typeof SharedArrayBuffer === 'function')).to.equal(true);
    expect(await page.locator('.notice').count()).to.equal(0);
  });

  for (const backend of ['cpu', 'gpu'] as const) {
    it(`UNet-S matches PyTorch in the page on the ${backend} backend (output, gradX, all parameter gradients ≤ 1e-3)`, async () => {
      const r = await page.evaluate((b) => (window as unknown as { ddpmDemo: { unetFixture(b: string): Promise<Fixture> } }).ddpmDemo.unetFixture(b), backend);
      expect(r.backend).to.equal(backend);
      if (backend === 'gpu') expect(r.renderer).to.match(/WebGL.*SwiftShader/);
      expect(r.count).to.equal(166);
      expect(r.out, 'output').to.be.at.most(1e-3);
      expect(r.gradX, 'gradX').to.be.at.most(1e-3);
      expect(r.params, 'parameter gradients').to.be.at.most(1e-3);
    });

    it(`trains 20 steps in the page on the ${backend} backend, with finite losses, and draws the sample grid`, async () => {
      const losses = await page.evaluate((b) => (window as unknown as { ddpmDemo: { train(b: string, steps: number, every: number): Promise<number[]> } }).ddpmDemo.train(b, 20, 10), backend);
      expect(losses).to.have.length(20);
      expect(losses.every(Number.isFinite)).to.equal(true);
      const colours = await page.evaluate(() => (window as unknown as { ddpmDemo: { drawn(id: string): number } }).ddpmDemo.drawn('grid'));
      expect(colours).to.be.above(50);
      expect(problems).to.deep.equal([]);
    });
  }
});
