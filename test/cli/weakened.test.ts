import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEAKENED_CASES } from '../../core/test/scenarios/library.ts';
import { runCli } from './helpers.ts';

/**
 * The harness must catch a weakened router: each config in scenarios/weakened/ removes one
 * protection, and the scenarios written for that protection must fail on exactly the hypotheses
 * that check it, while the default config passes the same scenarios.
 */
const CASES = WEAKENED_CASES;

interface JsonRun {
  verdict: string;
  scenarios: Array<{
    name: string;
    verdict: string;
    hypotheses: Array<{ id: string; passed: boolean; verdict: string }>;
  }>;
}

let out: string;
beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'switchyard-weakened-'));
});
afterAll(async () => {
  await rm(out, { recursive: true, force: true });
});

describe('weakened router configs are caught', () => {
  for (const c of CASES) {
    it(`${c.config} fails ${Object.values(c.mustFail).flat().join(', ')}`, async () => {
      const result = await runCli([
        'run',
        ...c.scenarios,
        '--router',
        c.config,
        '--json',
        '--out',
        join(out, c.config),
      ]);
      expect(result.code, result.stderr).toBe(1);
      const run = JSON.parse(result.stdout) as JsonRun;
      for (const [name, ids] of Object.entries(c.mustFail)) {
        const scenario = run.scenarios.find((s) => s.name === name)!;
        expect(scenario.verdict).toBe('failed');
        // Failed on evidence: not merely inconclusive.
        for (const id of ids)
          expect(scenario.hypotheses.find((h) => h.id === id)?.verdict, `${name} ${id}`).toBe('failed');
      }
    }, 240_000);
  }

  it('the default configs pass the same scenarios', async () => {
    const scenarios = [...new Set(CASES.flatMap((c) => c.scenarios))];
    const result = await runCli(['run', ...scenarios, '--json', '--out', join(out, 'default')]);
    const run = JSON.parse(result.stdout) as JsonRun;
    const failed = run.scenarios.flatMap((s) =>
      s.hypotheses.filter((h) => !h.passed).map((h) => `${s.name} ${h.id}`),
    );
    expect(failed).toEqual([]);
    // The hypotheses the weakened configs fail held on evidence with the default ones.
    for (const c of CASES)
      for (const [name, ids] of Object.entries(c.mustFail))
        for (const id of ids)
          expect(
            run.scenarios.find((s) => s.name === name)?.hypotheses.find((h) => h.id === id)?.verdict,
            `${name} ${id}`,
          ).toBe('passed');
    expect(result.code).toBe(0);
  }, 240_000);
});
