// The demo page in real Chromium (Debian's, driven by playwright-core; WebGL2 on SwiftShader):
// it loads without a console error, is cross-origin isolated, passes the UNet-S PyTorch fixture
// on the cpu backend and on the gpu backend (WebGL2), and trains 20 steps on each, drawing its
// sample grid. Chromium is required in CI (.ci/run installs it); elsewhere, without it, the
// tests say they were skipped.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { Rng, UNet, data, diffusion, io, resolveConfig, tensor } from 'ddpm-ts';
import { pngClaiming } from './helpers.js';
import type { Page } from 'playwright-core';

const repoRoot = new URL('../../', import.meta.url).pathname;

/** examples/browser/open-demo.mjs, as this test uses it. */
interface OpenDemoModule {
  CHROMIUM: string;
  openDemo(options?: { onPage?: (page: Page) => void }): Promise<{ page: Page; close(): Promise<void> }>;
}

interface Fixture { backend: string; renderer: string | null; out: number; gradX: number; params: number; count: number }

describe('the demo page in Chromium', function () {
  this.timeout(600000);
  let page: Page;
  let close: (() => Promise<void>) | undefined;
  const problems: string[] = [];

  before(async function () {
    const demo = (await import(join(repoRoot, 'examples/browser/open-demo.mjs'))) as OpenDemoModule;
    if (!existsSync(demo.CHROMIUM)) {
      if (process.env.CI) throw new Error(`CI needs Debian's chromium at ${demo.CHROMIUM} (.ci/run installs it)`);
      return this.skip();
    }
    ({ page, close } = await demo.openDemo({
      onPage: (p) => {
        p.on('console', (m) => {
          if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
        });
        p.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      },
    }));
  });

  after(async () => {
    await close?.();
  });

  // Any error the page did not catch fails the suite, after the test it happened in (a test that
  // provokes one on purpose takes its own out).
  afterEach(() => {
    const found = problems.splice(0);
    if (found.length) throw new Error(`the page reported: ${found.join(' | ')}`);
  });

  it('loads with no console error, cross-origin isolated (SharedArrayBuffer available), and samples from the pretrained model', async () => {
    await page.waitForFunction(() => (window as unknown as { ddpmDemo: { pretrained: { ready: boolean } } }).ddpmDemo.pretrained.ready === true, undefined, { timeout: 300000 });
    expect(await page.evaluate(() => (window as unknown as { ddpmDemo: { drawn(id: string): number } }).ddpmDemo.drawn('samples'))).to.be.above(50);
    expect(await page.locator('#modelInfo').textContent()).to.match(/^A [\d,]+-parameter UNet trained for \d+ steps on generated 16×16 faces/);
    expect(problems).to.deep.equal([]);
    expect(await page.evaluate(() => crossOriginIsolated && typeof SharedArrayBuffer === 'function')).to.equal(true);
    // All three backends work here, WebGPU and WebGL2 on SwiftShader, a software renderer: the menu
    // offers them with the adapter's full name, and the page chooses cpu, saying why in one notice.
    expect(await page.locator('#backend option:not([disabled])').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value))).to.deep.equal(['webgpu', 'webgl', 'cpu']);
    expect(await page.locator('#backend option[value=webgpu]').textContent()).to.match(/^webgpu \(WebGPU, .*swiftshader.*; software, slower than cpu\)$/i);
    expect(await page.locator('#backend').inputValue()).to.equal('cpu');
    const said = await page.locator('.notice').allTextContents();
    expect(said).to.have.length(1);
    expect(said[0]).to.match(/^Training and sampling use the cpu backend here; webgpu runs on .*swiftshader.* and webgl runs on .*: a software renderer, slower than the cpu backend \(pick it in the menu to use it anyway\)\.×$/i);
    await page.click('.notice .close'); // the later tests count their own notices
  });

  type Demo = { run: { running: boolean; paused: boolean; trainer: { step: number; model: { parameters(): Array<{ backend: { name: string } }> } } | null } };
  const notices = async () => page.locator('.notice').allTextContents();
  const setField = (id: string, value: string) => page.locator(`#${id}`).fill(value);
  /** Clicks Start for a cpu run of `steps` steps on generated faces and waits for it to end. */
  async function trainFromButtons(steps: number) {
    await page.selectOption('#backend', 'cpu');
    await page.selectOption('#dataSource', 'faces');
    await setField('steps', String(steps));
    await setField('sampleEvery', '50');
    await page.click('#start');
    await page.waitForFunction(() => !(window as unknown as { ddpmDemo: Demo }).ddpmDemo.run.running && !(document.getElementById('start') as HTMLButtonElement).disabled, undefined, { timeout: 120000 });
  }

  it('Download before the trainer exists is not offered, and says so when pressed; once it exists, the download is a checkpoint', async () => {
    expect(await page.locator('#download').isDisabled()).to.equal(true);
    await page.selectOption('#backend', 'cpu');
    await page.selectOption('#dataSource', 'faces');
    await setField('steps', '3');
    // Start, then Download in the same tick: the run has no trainer yet.
    const early = await page.evaluate(() => {
      document.getElementById('start')!.click();
      const download = document.getElementById('download') as HTMLButtonElement;
      const offered = !download.disabled;
      download.click(); // disabled: the browser drops it
      (download.onclick as () => void)(); // as a click that came before the button was disabled // as a click that came before the button was disabled
      return offered;
    });
    expect(early).to.equal(false);
    await page.waitForFunction(() => !(window as unknown as { ddpmDemo: Demo }).ddpmDemo.run.running, undefined, { timeout: 120000 });
    expect(await notices()).to.deep.equal(['There is no checkpoint to download yet: the training run is still starting (or none was started).×']);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    const bytes = readFileSync((await download.path())!);
    expect(diffusion.parseCheckpoint(bytes, 'downloaded').step).to.equal(3);
    expect(await notices(), 'the notice went with the download that worked').to.deep.equal([]);
  });

  it('after cpu training, "Sample again" samples the pretrained model on its own backend', async () => {
    expect(await page.locator('#modelInfo').textContent()).to.match(/sampled here on the cpu backend/);
    await page.evaluate(() => {
      const c = document.getElementById('samples') as HTMLCanvasElement;
      c.getContext('2d')!.clearRect(0, 0, c.width, c.height);
      // 2 DDIM steps: the gpu backend runs on SwiftShader here, a CPU drawing pixels.
      const slider = document.getElementById('ddimSteps') as HTMLInputElement;
      slider.value = '2';
      slider.dispatchEvent(new Event('input'));
    });
    await page.click('#sampleAgain');
    // The button is off while the samples are drawn (the reads are asynchronous), then on again.
    await page.waitForFunction(() => !(document.getElementById('sampleAgain') as HTMLButtonElement).disabled, undefined, { timeout: 120000 });
    expect(await page.evaluate(() => (window as unknown as { ddpmDemo: { drawn(id: string): number } }).ddpmDemo.drawn('samples'))).to.be.above(50);
    expect(await notices()).to.deep.equal([]);
  });

  it('the sampling panel has its own backend menu: on another backend the shown model is sampled there, a line counting its steps as x_t is drawn', async () => {
    const menu = (id: string) => page.locator(`#${id} option`).evaluateAll((os) => os.map((o) => `${(o as HTMLOptionElement).value}|${o.textContent}|${(o as HTMLOptionElement).disabled}`));
    expect(await menu('sampleBackend')).to.deep.equal(await menu('backend'));
    await page.evaluate(() => {
      const lines: string[] = [];
      (window as unknown as { progressLines: string[] }).progressLines = lines;
      const line = document.getElementById('sampleProgress')!;
      new MutationObserver(() => lines.push(line.textContent!)).observe(line, { childList: true, characterData: true, subtree: true });
      const slider = document.getElementById('ddimSteps') as HTMLInputElement;
      slider.value = '5';
      slider.dispatchEvent(new Event('input'));
    });
    await page.selectOption('#sampleBackend', 'webgpu');
    await page.waitForFunction(() => !(document.getElementById('sampleBackend') as HTMLSelectElement).disabled && /on the webgpu backend\.$/.test(document.getElementById('modelInfo')!.textContent!), undefined, { timeout: 300000 });
    expect(await notices()).to.deep.equal([]);
    const lines = await page.evaluate(() => (window as unknown as { progressLines: string[] }).progressLines);
    const steps = lines.filter((l) => l.startsWith('Sampling on webgpu'));
    expect(steps).to.deep.equal([1, 2, 3, 4, 5].map((k) => `Sampling on webgpu: step ${k} of 5`));
    expect(lines.at(-1), 'the line goes when the samples are drawn').to.equal('');
    expect(await page.evaluate(() => (window as unknown as { ddpmDemo: { drawn(id: string): number } }).ddpmDemo.drawn('samples'))).to.be.above(50);
    // Back on cpu for the tests after this one.
    await page.selectOption('#sampleBackend', 'cpu');
    await page.waitForFunction(() => !(document.getElementById('sampleBackend') as HTMLSelectElement).disabled && /on the cpu backend\.$/.test(document.getElementById('modelInfo')!.textContent!), undefined, { timeout: 300000 });
  });

  it('a checkpoint picked while training runs (paused) is sampled in the top panel; the run\'s progress line is left alone and it finishes', async () => {
    const outDir = join(mkdtempSync(join(tmpdir(), 'ddpm-ts-page-')), 'run');
    await (await diffusion.Trainer.create(resolveConfig({
      seed: 4, data: { imageSize: 8 }, diffusion: { timesteps: 50 },
      model: { baseChannels: 8, channelMults: [1, 2], numResBlocks: 1, attnResolutions: [4], groups: 2, timeEmbDim: 16 },
      train: { batchSize: 2, steps: 2, logEvery: 1, sampleEvery: 0, checkpointEvery: 2, outDir },
    }))).train();
    await page.selectOption('#backend', 'cpu');
    await setField('steps', '20');
    await setField('sampleEvery', '50');
    await page.click('#start');
    await page.waitForFunction(() => /^step +\d+\/20/.test(document.getElementById('progress')!.textContent!), undefined, { timeout: 120000 });
    await page.click('#pause');
    const paused = await page.locator('#progress').textContent();
    expect(paused).to.match(/^step +\d+\/20 .* \(paused\)$/);
    await page.setInputFiles('#load', join(outDir, 'checkpoint.safetensors'));
    await page.waitForFunction(() => /from step 2 of the picked file/.test(document.getElementById('modelInfo')!.textContent!), undefined, { timeout: 120000 });
    expect(await page.locator('#progress').textContent()).to.equal(paused);
    expect(await page.locator('#continue').isDisabled(), 'continuing waits for the running training').to.equal(true);
    await page.click('#pause');
    await page.waitForFunction(() => !(window as unknown as { ddpmDemo: Demo }).ddpmDemo.run.running, undefined, { timeout: 300000 });
    expect(await page.locator('#progress').textContent()).to.match(/^step 20\/20/);
    expect(await page.evaluate(() => (window as unknown as { ddpmDemo: Demo }).ddpmDemo.run.trainer!.step)).to.equal(20);
    expect(await page.locator('#continue').isDisabled()).to.equal(false);
    expect(await page.locator('#pause').isDisabled(), 'Pause is off while idle').to.equal(true);
    expect(await notices()).to.deep.equal([]);
  });

  it('a checkpoint written by PyTorch (examples/torch/train_ddp.py) opens in the page: picked, it is sampled and offered to continue', async function () {
    const dir = mkdtempSync(join(tmpdir(), 'ddpm-ts-page-'));
    const outDir = join(dir, 'run');
    const config = resolveConfig({
      seed: 6, data: { imageSize: 8 }, diffusion: { timesteps: 50 },
      model: { baseChannels: 8, channelMults: [1, 2], numResBlocks: 1, attnResolutions: [4], groups: 2, timeEmbDim: 16 },
      train: { batchSize: 2, steps: 2, logEvery: 1, sampleEvery: 0, checkpointEvery: 2, outDir },
    });
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    const faces = new Float32Array(8 * 192);
    for (let i = 0; i < 8; i++) faces.set(data.facesDataset(8, 3).image(i), i * 192);
    await io.saveSafetensors(join(dir, 'faces.safetensors'), { images: tensor(faces, [8, 3, 8, 8]) }, { source: 'faces' });
    const python = process.env.DDPM_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
    if (spawnSync(python, ['-c', 'import torch']).status !== 0) {
      if (process.env.CI) throw new Error(`CI needs PyTorch for ${python} (Debian's python3-torch; .ci/run installs it)`);
      return this.skip();
    }
    const r = spawnSync(python, [join(repoRoot, 'examples/torch/train_ddp.py'), '--config', join(dir, 'config.json'), '--data', join(dir, 'faces.safetensors')], { encoding: 'utf8' });
    expect(r.status, `train_ddp.py (needs PyTorch: Debian's python3-torch): ${r.stderr}`).to.equal(0);
    expect((await io.loadSafetensors(join(outDir, 'checkpoint.safetensors'))).metadata.writtenBy).to.match(/^train_ddp\.py/);
    await page.setInputFiles('#load', join(outDir, 'checkpoint.safetensors'));
    await page.waitForFunction(() => /from step 2 of the picked file/.test(document.getElementById('modelInfo')!.textContent!), undefined, { timeout: 120000 });
    expect(await page.locator('#continue').isDisabled(), 'a training checkpoint can be continued').to.equal(false);
    expect(await notices()).to.deep.equal([]);
  });

  it('an empty or zero steps field is named and starts nothing; Pause while idle does not carry over', async () => {
    const before = await page.locator('#progress').textContent();
    for (const [value, shown] of [['', 'empty'], ['0', '"0"'], ['2.5', '"2.5"'], ['1e9', '"1e9"']] as const) {
      await setField('steps', value);
      await page.click('#start');
      expect(await notices()).to.deep.equal([`Steps must be a whole number from 1 to 100,000 (it is ${shown}).×`]);
      expect(await page.evaluate(() => (window as unknown as { ddpmDemo: Demo }).ddpmDemo.run.running)).to.equal(false);
      expect(await page.locator('#progress').textContent()).to.equal(before);
    }
    // Pause is disabled while idle; pressed anyway (its handler called), it changes nothing.
    await page.evaluate(() => (document.getElementById('pause')!.onclick as () => void)());
    expect(await page.evaluate(() => (window as unknown as { ddpmDemo: Demo }).ddpmDemo.run.paused)).to.equal(false);
    await trainFromButtons(2);
    expect(await page.locator('#progress').textContent()).to.match(/^step 2\/2/);
    expect(await notices(), 'the field notice went once Start worked').to.deep.equal([]);
  });

  it('Pause twice reads "(paused)" once; Stop ends a run (paused or not) and keeps its checkpoint: Start, Continue and Download work after it', async () => {
    await page.selectOption('#backend', 'cpu');
    await page.selectOption('#dataSource', 'faces');
    await setField('steps', '100000');
    await setField('sampleEvery', '100000');
    await page.click('#start');
    await page.waitForFunction(() => ((window as unknown as { ddpmDemo: Demo }).ddpmDemo.run.trainer?.step ?? 0) >= 2, undefined, { timeout: 120000 });
    for (let i = 0; i < 2; i++) {
      await page.click('#pause'); // paused
      expect(await page.locator('#progress').textContent()).to.match(/^step +\d+\/100000 .* \(paused\)$/);
      await page.click('#pause'); // running again
      expect(await page.locator('#progress').textContent()).not.to.contain('(paused)');
    }
    await page.click('#pause');
    await page.waitForTimeout(1500); // a step that was running when Pause was pressed ends
    expect((await page.locator('#progress').textContent())!.match(/\(paused\)/g)).to.have.length(1);
    const pausedAt = await page.evaluate(() => (window as unknown as { ddpmDemo: Demo }).ddpmDemo.run.trainer!.step);
    await page.waitForTimeout(500);
    expect(await page.evaluate(() => (window as unknown as { ddpmDemo: Demo }).ddpmDemo.run.trainer!.step), 'no step while paused').to.equal(pausedAt);
    await page.click('#stop');
    await page.waitForFunction(() => !(window as unknown as { ddpmDemo: Demo }).ddpmDemo.run.running, undefined, { timeout: 60000 });
    expect(await page.locator('#progress').textContent()).to.equal(`Stopped at step ${pausedAt} of 100000; its checkpoint is kept: Continue trains on from it, Download saves it.`);
    expect(await page.locator('#start').isDisabled()).to.equal(false);
    expect(await page.locator('#continue').isDisabled()).to.equal(false);
    expect(await page.locator('#stop').isDisabled()).to.equal(true);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    expect(diffusion.parseCheckpoint(readFileSync((await download.path())!), 'downloaded').step).to.equal(pausedAt);
    // Continue trains on from the stopped run's checkpoint.
    await setField('steps', '2');
    await page.click('#continue');
    await page.waitForFunction(() => !(window as unknown as { ddpmDemo: Demo }).ddpmDemo.run.running && !(document.getElementById('start') as HTMLButtonElement).disabled, undefined, { timeout: 120000 });
    expect(await page.locator('#progress').textContent()).to.match(new RegExp(`^step ${pausedAt + 2}/${pausedAt + 2} `));
    await setField('sampleEvery', '50');
  });

  it('photos: a failed pick says so (not "Reading…"), one notice per kind that replaces the last, counts in words, and a 10000×10000 image refused from its header', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ddpm-ts-photos-'));
    writeFileSync(join(dir, 'notes.txt'), 'not an image');
    writeFileSync(join(dir, 'huge.png'), pngClaiming(10000, 10000, 1));
    await io.writePng(join(dir, 'good.png'), { width: 20, height: 20, data: new Uint8Array(1600).fill(180) });
    const info = () => page.locator('#photoInfo').textContent();
    const before = await info();
    for (let attempt = 0; attempt < 2; attempt++) {
      await page.setInputFiles('#photos', [join(dir, 'notes.txt')]);
      await page.waitForFunction(() => !/Reading/.test(document.getElementById('photoInfo')!.textContent!), undefined, { timeout: 60000 });
      expect(await info(), 'the training set it had').to.equal(before);
      expect(await notices()).to.deep.equal(['Those photos cannot be used: 1 file given: its one file is not a readable image×']);
    }
    await page.setInputFiles('#photos', [join(dir, 'huge.png'), join(dir, 'good.png')]);
    await page.waitForFunction(() => /^Training set/.test(document.getElementById('photoInfo')!.textContent!), undefined, { timeout: 60000 });
    expect(await info()).to.equal('Training set: 1 image from 2 files given (1 skipped), 16×16.');
    // The decoder never saw it: its header's claim is refused (a decode would fail on its one row of data).
    expect(await notices()).to.deep.equal(['Skipped 1 file: huge.png: 10000×10000 pixels is over the limit of 67,108,864 (8192×8192); shrink the image first×']);
    await page.click('.notice .close');
    expect(await notices()).to.deep.equal([]);
    // A failed pick afterwards keeps the training set it had.
    await page.setInputFiles('#photos', [join(dir, 'notes.txt')]);
    await page.waitForFunction(() => !/Reading/.test(document.getElementById('photoInfo')!.textContent!), undefined, { timeout: 60000 });
    expect(await info()).to.equal('Training set: 1 image from 2 files given (1 skipped), 16×16.');
    await page.click('.notice .close');
  });

  it('any uncaught error or rejected promise becomes a visible notice', async () => {
    expect(await notices()).to.deep.equal([]);
    await page.evaluate(() => {
      setTimeout(() => {
        throw new Error('test: an uncaught error');
      });
      void Promise.reject(new Error('test: a rejected promise'));
    });
    // Both arrive; the second replaces the first (one notice for unexpected errors, the latest).
    await page.waitForFunction(() => document.querySelectorAll('.notice').length > 0, undefined, { timeout: 10000 });
    await page.waitForTimeout(300);
    const shown = await notices();
    expect(shown).to.have.length(1);
    expect(shown[0]).to.match(/^Something went wrong: test: (an uncaught error|a rejected promise)×$/);
    // Playwright saw them too: they are this test's own, so they are taken out.
    expect(problems.filter((p) => p.includes('test: '))).to.have.length(2);
    problems.splice(0, problems.length, ...problems.filter((p) => !p.includes('test: ')));
    await page.evaluate(() => document.querySelectorAll('.notice').forEach((n) => n.remove()));
  });

  it('a checkpoint trained in Node gives the same DDIM samples in the page (cpu backend, ≤ 1e-5) and continues training there as in Node; one made in the page loads in Node', async () => {
    const outDir = join(mkdtempSync(join(tmpdir(), 'ddpm-ts-page-')), 'run');
    const config = resolveConfig({
      seed: 3, data: { imageSize: 8 }, diffusion: { timesteps: 50 },
      model: { baseChannels: 8, channelMults: [1, 2], numResBlocks: 1, attnResolutions: [4], groups: 2, timeEmbDim: 16 },
      train: { batchSize: 2, steps: 3, logEvery: 1, sampleEvery: 0, checkpointEvery: 3, outDir },
    });
    await (await diffusion.Trainer.create(config)).train();
    const bytes = readFileSync(join(outDir, 'checkpoint.safetensors'));
    const checkpoint = await diffusion.loadCheckpoint(join(outDir, 'checkpoint.safetensors'));
    const net = new UNet(checkpoint.config.model);
    net.loadStateDict(checkpoint.ema);
    const options = { ...config.sample, sampler: 'ddim' as const, steps: 5, prediction: config.diffusion.prediction, variance: config.diffusion.variance };
    const inNode = diffusion.sample(net.eval(), diffusion.makeSchedule(config.diffusion), options, { count: 4, channels: 3, imageSize: 8, rng: new Rng(9) }).images.toFloat32Array();
    const { values: inPage, resumable } = await page.evaluate(([b]) => (window as unknown as { ddpmDemo: { sampleCheckpoint(b: Uint8Array, o: object): Promise<{ values: number[]; resumable: boolean }> } }).ddpmDemo.sampleCheckpoint(new Uint8Array(b as number[]), { backend: 'cpu', steps: 5, count: 4, seed: 9 }), [Array.from(bytes)]);
    expect(resumable).to.equal(true);
    expect(inPage).to.have.length(inNode.length);
    expect(Math.max(...inPage.map((v, i) => Math.abs(v - inNode[i]!)))).to.be.at.most(1e-5);
    // Continuing that run in the page ("Continue training it") takes the same steps as --resume in Node.
    const nodeDir = join(mkdtempSync(join(tmpdir(), 'ddpm-ts-page-')), 'run');
    mkdirSync(nodeDir);
    writeFileSync(join(nodeDir, 'checkpoint.safetensors'), bytes);
    const resumedInNode = await diffusion.Trainer.create(resolveConfig({ ...config, train: { ...config.train, steps: 5, outDir: nodeDir } }), { resume: true });
    for (let i = 0; i < 2; i++) await resumedInNode.trainStep();
    const resumedInPage = await page.evaluate(([b]) => (window as unknown as { ddpmDemo: { train(b: string, n: number, e: number, o: object): Promise<number[]> } }).ddpmDemo.train('cpu', 2, 2, { resume: new Uint8Array(b as number[]) }), [Array.from(bytes)]);
    expect(resumedInPage).to.have.length(2);
    expect(resumedInPage.map((l, i) => Math.abs(l - resumedInNode.losses[i]!) / resumedInNode.losses[i]!)).to.satisfy((d: number[]) => d.every((v) => v <= 1e-6));
    // The other way: a page's checkpoint (what its download button saves) loads in Node and resumes there.
    await page.evaluate(() => (window as unknown as { ddpmDemo: { train(b: string, n: number, e: number, o: object): Promise<number[]> } }).ddpmDemo.train('cpu', 2, 2, { source: 'faces' }));
    const fromPage = Uint8Array.from(await page.evaluate(() => (window as unknown as { ddpmDemo: { checkpointBytes(): Promise<number[]> } }).ddpmDemo.checkpointBytes()));
    const pageDir = join(mkdtempSync(join(tmpdir(), 'ddpm-ts-page-')), 'run');
    const pageCheckpoint = diffusion.parseCheckpoint(fromPage, 'page checkpoint');
    expect(pageCheckpoint.step).to.equal(2);
    mkdirSync(pageDir);
    writeFileSync(join(pageDir, 'checkpoint.safetensors'), fromPage);
    const resumed = await diffusion.Trainer.create(resolveConfig({ ...pageCheckpoint.config, train: { ...pageCheckpoint.config.train, steps: 3, outDir: pageDir } }), { resume: true });
    expect(resumed.step).to.equal(2);
    expect(await resumed.train()).to.equal('finished');
    expect(problems).to.deep.equal([]);
  });

  it('runs the cpu backend on Web Workers over shared memory: every worker does its part, with bit-identical results', async () => {
    const r = await page.evaluate(async () => {
      const demo = (window as unknown as { ddpmDemo: { ddpm: any } }).ddpmDemo;
      const { F, Rng, randn, setThreads, getThreads, threadTaskCounts, useBackend, availableCores } = demo.ddpm;
      await useBackend('cpu');
      const cores = await availableCores();
      const work = () => {
        const rng = new Rng(5);
        const x = randn([4, 32, 24, 24], rng, { requiresGrad: true }), w = randn([48, 32, 3, 3], rng, { requiresGrad: true });
        const y = F.groupNormSilu(F.conv2d(x, w, null, { padding: 1 }), 8);
        y.backward(randn(y.shape, rng));
        const a = randn([200, 300], rng), b = randn([300, 180], rng);
        return [y, x.grad, w.grad, F.matmul(a, b)].map((t: any) => Array.from(t.toFloat32Array() as Float32Array));
      };
      await setThreads(1);
      const one = work();
      await setThreads(3);
      const threads = getThreads();
      const three = work();
      const parts = threadTaskCounts();
      const same = one.every((arr: number[], k: number) => arr.length === three[k]!.length && arr.every((v, i) => Object.is(v, three[k]![i])));
      await setThreads(cores);
      return { cores, hardware: navigator.hardwareConcurrency, threads, parts, same };
    });
    expect(r.cores).to.equal(r.hardware);
    expect(r.threads).to.equal(3);
    expect(r.parts).to.have.length(3);
    // Thread 0 is the page's own; threads 1 and 2 are Web Workers, and each ran part of every parallel task.
    expect(r.parts[1]).to.be.above(0);
    expect(r.parts[2]).to.equal(r.parts[1]);
    expect(r.parts[0]).to.equal(r.parts[1]);
    expect(r.same).to.equal(true);
    expect(problems).to.deep.equal([]);
  });

  it('trains on photos dropped onto the page: decoded by the browser, cropped and resized exactly as Node\'s folder loader', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ddpm-ts-photos-'));
    const rng = new Rng(11);
    const sizes = [[37, 23], [20, 31], [16, 16], [64, 48]] as const;
    for (const [k, [width, height]] of sizes.entries()) {
      const pixels = Uint8Array.from({ length: width * height * 4 }, (_, i) => (i % 4 === 3 ? 255 : rng.int(256)));
      writeFileSync(join(dir, `photo-${k}.png`), await io.encodePng({ width, height, data: pixels }));
    }
    const inNode = await data.folderDataset(dir, { imageSize: 16, channels: 3 });
    const files = sizes.map((_, k) => join(dir, `photo-${k}.png`)).reverse(); // the page sorts them by name, as Node does
    await page.setInputFiles('#photos', files);
    await page.waitForFunction(() => /^Training set: 4 images/.test(document.getElementById('photoInfo')!.textContent!), undefined, { timeout: 60000 });
    const inPage = await page.evaluate(() => (window as unknown as { ddpmDemo: { photoImages(): number[][] } }).ddpmDemo.photoImages());
    expect(inPage).to.have.length(4);
    inPage.forEach((img, k) => expect(img, `photo-${k}.png`).to.deep.equal(Array.from(inNode.image(k))));
    const losses = await page.evaluate(() => (window as unknown as { ddpmDemo: { train(b: string, steps: number, every: number, o: object): Promise<number[]> } }).ddpmDemo.train('cpu', 3, 3, { source: 'photos' }));
    expect(losses).to.have.length(3);
    expect(losses.every(Number.isFinite)).to.equal(true);
    expect(problems).to.deep.equal([]);
  });

  for (const backend of ['cpu', 'webgl', 'webgpu'] as const) {
    it(`UNet-S matches PyTorch in the page on the ${backend} backend (output, gradX, all parameter gradients ≤ 1e-3)`, async () => {
      const r = await page.evaluate((b) => (window as unknown as { ddpmDemo: { unetFixture(b: string): Promise<Fixture> } }).ddpmDemo.unetFixture(b), backend);
      expect(r.backend).to.equal(backend);
      if (backend === 'webgl') expect(r.renderer).to.match(/WebGL.*SwiftShader/);
      if (backend === 'webgpu') expect(r.renderer).to.match(/^WebGPU, .*swiftshader/);
      expect(r.count).to.equal(166);
      expect(r.out, 'output').to.be.at.most(1e-3);
      expect(r.gradX, 'gradX').to.be.at.most(1e-3);
      expect(r.params, 'parameter gradients').to.be.at.most(1e-3);
    });

    // The GPU backends run on SwiftShader here (a CPU drawing pixels; WebGL2 takes about 20 s a
    // step of the page's batch of 16): they train a batch of 2 and sample with 2 DDIM steps.
    const steps = backend === 'cpu' ? 20 : 4;
    const config = backend === 'cpu' ? {} : { train: { batchSize: 2 }, sample: { steps: 2 } };
    it(`trains ${steps} steps in the page on the ${backend} backend, with finite losses, and draws the sample grid`, async () => {
      await page.evaluate(() => {
        const lines: string[] = [];
        (window as unknown as { trainLines: string[] }).trainLines = lines;
        const line = document.getElementById('progress')!;
        new MutationObserver(() => lines.push(line.textContent!)).observe(line, { childList: true, characterData: true, subtree: true });
      });
      const losses = await page.evaluate(([b, n, c]) => (window as unknown as { ddpmDemo: { train(b: string, steps: number, every: number, o: object): Promise<number[]> } }).ddpmDemo.train(b as string, n as number, (n as number) / 2, { source: 'faces', config: c }), [backend, steps, config] as const);
      expect(losses).to.have.length(steps);
      // The model trained is on the backend asked for (not the config's default).
      expect(await page.evaluate(() => (window as unknown as { ddpmDemo: { run: { trainer: { model: { parameters(): Array<{ backend: { name: string } }> } } } } }).ddpmDemo.run.trainer.model.parameters()[0]!.backend.name)).to.equal(backend);
      expect(losses.every(Number.isFinite)).to.equal(true);
      const colours = await page.evaluate(() => (window as unknown as { ddpmDemo: { drawn(id: string): number } }).ddpmDemo.drawn('grid'));
      expect(colours).to.be.above(50);
      expect(problems).to.deep.equal([]);
      if (backend === 'webgpu') {
        // WebGPU compiles while the page runs: the first step's line counts the seconds and the kernels compiled.
        const lines = await page.evaluate(() => (window as unknown as { trainLines: string[] }).trainLines);
        expect(lines.some((l) => /^Step 1 of 4: the first step compiles the backend's kernels \(\d+ s; GPU kernels compiled: \d+ of \d+\)…$/.test(l)), lines.slice(0, 5).join(' / ')).to.equal(true);
      }
    });
  }
});
