// Mocha root hooks: the suite runs with DDPM_TEST_THREADS worker threads (default 2), so every
// numerical test also exercises the parallel matrix products.

import { setThreads } from 'ddpm-ts';

export const mochaHooks = {
  async beforeAll(): Promise<void> {
    await setThreads(Number(process.env.DDPM_TEST_THREADS ?? 2));
  },
};
