import { defineConfig } from 'vitest/config';

// Tests spawn worker processes and train tiny models; two cores is the machine we design for.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
