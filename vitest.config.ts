import { defineConfig } from 'vitest/config';

export default defineConfig({
  // @switchyard/core's exports point at its compiled dist/ for users; inside the repo the
  // '@switchyard/source' condition resolves them to the TypeScript sources (no build needed to test).
  // Node's own conditions otherwise, as Node resolves them (not 'module': a bundler's entry points).
  ssr: { resolve: { conditions: ['@switchyard/source', 'node'] } },
  test: {
    include: ['core/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Real HTTP on loopback and real SDKs: keep workers few on these 2-core machines.
    pool: 'forks',
    maxWorkers: 2,
  },
});
