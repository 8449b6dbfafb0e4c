// Mocha root hooks: the suite runs with DDPM_TEST_THREADS worker threads (default 2), so every
// numerical test also exercises the parallel matrix products.
//
// Every test that writes files makes its folder under os.tmpdir(), and so do the examples and
// browsers it starts. Pointing TMPDIR at one folder of this run's own, before any test file
// loads, lets the run remove them all at its end instead of leaving about 13 MB behind each time.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setThreads } from 'ddpm-ts';

const runTmp = mkdtempSync(join(tmpdir(), 'ddpm-ts-test-'));
process.env.TMPDIR = runTmp;

export const mochaHooks = {
  async beforeAll(): Promise<void> {
    await setThreads(Number(process.env.DDPM_TEST_THREADS ?? 2));
  },
  afterAll(): void {
    try {
      rmSync(runTmp, { recursive: true, force: true });
    } catch (e) {
      console.warn(`could not remove the tests' temporary folder ${runTmp}: ${(e as Error).message}`);
    }
  },
};
