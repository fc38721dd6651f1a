// @ts-check
/**
 * Mutation testing of the router's decisions (`npm run mutation`; docs/mutation.md says what is
 * mutated, what kills the mutants, the score, and why each survivor is left).
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  mutate: [
    'core/src/runtime/policies/**/*.ts',
    '!core/src/runtime/policies/index.ts',
    'core/src/runtime/cost/budget.ts',
    'core/src/runtime/cost/allowance.ts',
    'core/src/runtime/cost/usage.ts',
    'core/src/runtime/router.ts',
  ],
  // Each mutant runs only the tests that reached it in the first, instrumented run.
  coverageAnalysis: 'perTest',
  // Two cores, shared: two workers at most (run it with nice, as `npm run mutation` does).
  concurrency: 2,
  // Re-runs only mutants whose code or covering tests changed since the last run.
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  // A mutant that turns a deadline into an endless wait shows as a timeout (counted as killed).
  timeoutMS: 30_000,
  timeoutFactor: 2,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  // The score table and each surviving mutant (file:line:column, the change); not the test lists.
  clearTextReporter: { allowColor: false, logTests: false, reportTests: false, reportMutants: true },
  thresholds: { high: 90, low: 85, break: null },
  // Stryker rewrites a tsconfig's `extends` and `references` for the sandbox through the TypeScript
  // compiler API, which TypeScript 7 no longer ships; ours has neither, so there is nothing to rewrite.
  tsconfigFile: 'tsconfig.mutation-none.json',
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
  // The sandbox needs the sources, the tests, the scenario library and the configs; node_modules is
  // linked, not copied.
  ignorePatterns: ['/extension', '/bench', '/reports', '/docs', '/.git', '/test', '/core/dist'],
};
