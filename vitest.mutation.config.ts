import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The killers of `npm run mutation` (stryker.config.mjs, docs/mutation.md): the unit tests of the
 * mutated code (policies, budget ledger, usage and allowance checks, the router through the real SDKs
 * and the simulator) and the shipped scenario library at reduced load. Not the whole suite: Stryker
 * runs, per mutant, only the tests that reach it, and a test outside the decisions would only slow
 * that down.
 */
export const MUTATION_KILLERS = [
  'core/test/policies/**/*.test.ts',
  'core/test/cost/budget*.test.ts',
  'core/test/cost/usage*.test.ts',
  'core/test/cost/allowance*.test.ts',
  'core/test/router/**/*.test.ts',
  // The state operations against both stores: a MemoryStore runs an operation's reference function
  // whatever its name, a RedisStore runs redis-ops.lua by that name; and the budgets' fail-closed
  // refusal when Redis is gone. Each starts a private redis-server (a second or two).
  'core/test/runtime/state-contract.test.ts',
  'core/test/runtime/redis-outage.test.ts',
  'core/test/scenarios/library.test.ts',
  'core/test/scenarios/weakened.test.ts',
];

/**
 * Fast unit tests first, the scenario runs last: a mutant's run stops at its first failing test
 * (Stryker bails), so a mutant a unit test kills never waits for a scenario.
 */
class UnitTestsFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const slow = (spec: TestSpecification) => (spec.moduleId.includes('/test/scenarios/') ? 1 : 0);
    return [...files].sort((a, b) => slow(a) - slow(b) || a.moduleId.localeCompare(b.moduleId));
  }
}

export default defineConfig({
  test: {
    include: MUTATION_KILLERS,
    testTimeout: 60_000,
    hookTimeout: 20_000,
    pool: 'forks',
    // One worker loads the SDKs, the tokenizer and zod once, not once per test file (~0.35 s each).
    isolate: false,
    sequence: { sequencer: UnitTestsFirst },
  },
});
