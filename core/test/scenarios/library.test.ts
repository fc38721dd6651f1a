import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenario, runScenario } from '../../src/scenarios/index.ts';
import { LIBRARY, LIBRARY_FILES, reduced } from './library.ts';

/**
 * The shipped scenario library, in process on the virtual clock, at a fraction of its load (see
 * reduced()): every hypothesis must hold on evidence. This is the scenario library as a killer of
 * mutants (`npm run mutation`, docs/mutation.md): the CLI run of the whole library
 * (test/cli/library*.test.ts) takes minutes, far too slow to run per mutant; this one takes seconds,
 * and each scenario is its own test, so Stryker runs only the scenarios that reach a mutant.
 */
describe('the shipped library at reduced load, in process', () => {
  it('is all here', () => {
    expect(LIBRARY_FILES.length).toBeGreaterThanOrEqual(16);
  });

  for (const file of LIBRARY_FILES) {
    it(`${file}: every hypothesis holds`, async () => {
      const journal = await runScenario(reduced(await loadScenario(join(LIBRARY, file))));
      expect(journal.status).toBe('complete');
      const notPassed = journal.hypotheses
        .filter((h) => h.verdict !== 'passed')
        .map((h) => `${h.id} (${h.verdict}): ${h.actual}`);
      expect(notPassed).toEqual([]);
    }, 60_000);
  }
});
