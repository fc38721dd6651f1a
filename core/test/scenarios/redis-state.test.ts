import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadScenario, type RunJournal, runScenario } from '../../src/scenarios/index.ts';
import { type LocalRedis, startLocalRedis, WITH_REDIS } from '../support/redis.ts';

/**
 * A scenario with `state: redis` on the virtual clock: the router's state lives in a real
 * redis-server, and the same seed still gives the same journal (the store holds every answer until
 * the driver lets it in between turns, whatever the network's timing).
 */

const scenarios = join(import.meta.dirname, '../../../scenarios');
const comparable = (journal: RunJournal) => ({ ...journal, runId: undefined, wall: undefined });

let server: LocalRedis | undefined;
beforeAll(async () => {
  if (WITH_REDIS) server = await startLocalRedis({ persistence: 'none' });
});
afterAll(async () => {
  await server?.stop();
});

describe.runIf(WITH_REDIS)('a scenario with state: redis', () => {
  it('is deterministic per seed, and its hypotheses hold as with the memory store', async () => {
    const base = await loadScenario(join(scenarios, 'provider-outage-failover.yaml'));
    const scenario = { ...base, state: 'redis' as const };
    const first = await runScenario(scenario, { redisUrl: server!.url });
    const second = await runScenario(scenario, { redisUrl: server!.url });
    expect(first.status).toBe('complete');
    expect(comparable(second)).toEqual(comparable(first));
    expect(first.breakerTransitions.length).toBeGreaterThan(0);
    const memory = await runScenario(base);
    expect(first.hypotheses.map((h) => [h.id, h.passed])).toEqual(
      memory.hypotheses.map((h) => [h.id, h.passed]),
    );
  }, 120_000);

  it('keeps a budget under concurrency, against a Redis the run starts itself', async () => {
    const scenario = {
      ...(await loadScenario(join(scenarios, 'budget-race.yaml'))),
      state: 'redis' as const,
    };
    const journal = await runScenario(scenario);
    const budget = journal.hypotheses.filter((h) => h.kind === 'budget_never_exceeded');
    expect(budget.length).toBeGreaterThan(0);
    expect(budget.every((h) => h.passed)).toBe(true);
    expect(journal.requests.some((r) => r.outcome === 'success')).toBe(true);
  }, 120_000);
});
