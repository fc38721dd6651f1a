import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['core/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Real HTTP on loopback and real SDKs: keep workers few on these 2-core machines.
    pool: 'forks',
    maxWorkers: 2,
  },
});
