import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalRedis, newPrefix, REDIS_REQUIRED, startLocalRedis, WITH_REDIS } from '../support/redis.ts';
import { ask, type Fleet, KEYS, metricSum, startFleet } from './fleet.ts';

/**
 * Issue 15: three gateway replicas, separate processes, sharing one real redis-server, in front of
 * one chaos proxy. What one replica spends, sees or is told holds for all three:
 * - 1,000 concurrent requests across the replicas never spend more than a tiny budget (summed from
 *   the attempts' actual costs on every replica's /metrics);
 * - an outage seen by one replica opens the breaker for all three;
 * - a Retry-After seen by one replica holds the others off;
 * - Redis killed mid-run and restarted: no replica crashes, budgets fail closed (no overshoot), and
 *   the fleet recovers.
 * The same fleet with per-process MemoryStores (no --state) overshoots the budget and keeps calling
 * the broken provider: the second describe shows it, so the first one's checks can fail.
 * SWITCHYARD_REPLICAS_STORE=memory runs the first describe without Redis, to watch it fail.
 */

const TINY_USD = 0.005;
const OUTAGE_USD = 0.004;
const LIMITS = { tiny: TINY_USD, outage: OUTAGE_USD };
const withoutRedis = process.env.SWITCHYARD_REPLICAS_STORE === 'memory';

/** Sends `n` requests at once, spread over the replicas in turn, half of them streamed. */
async function burst(fleet: Fleet, n: number, route: string, key: string) {
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const replica = i % fleet.replicas.length;
      return { replica, ...(await ask(fleet.replicas[replica]!, route, key, i % 2 === 1)) };
    }),
  );
}

async function totalCost(fleet: Fleet, tenant: string): Promise<number> {
  let sum = 0;
  for (const replica of fleet.replicas)
    sum += (await metricSum(replica, 'switchyard_gateway_cost_usd_total', { tenant })) || 0; // none yet: 0
  return sum;
}

describe.runIf(WITH_REDIS)(
  `three replicas sharing one Redis${withoutRedis ? ' (run without it)' : ''}`,
  () => {
    let redis: LocalRedis | undefined;
    let fleet: Fleet | undefined;
    beforeAll(async () => {
      redis = await startLocalRedis({ persistence: 'always' });
      fleet = await startFleet({
        replicas: 3,
        limits: LIMITS,
        ...(withoutRedis ? {} : { state: { url: redis.url, prefix: newPrefix() } }),
      });
    }, 180_000);
    afterAll(async () => {
      await fleet?.stop();
      await redis?.stop();
    }, 60_000);

    it('has a redis-server where it is required', () => {
      if (REDIS_REQUIRED) expect(redis).toBeDefined();
    });

    it('never spends more than a tiny budget, whatever the replica: 1,000 concurrent requests', async () => {
      const answers = await burst(fleet!, 1_000, 'spend', KEYS.tiny);
      const served = answers.filter((a) => a.status === 200);
      const refused = answers.filter((a) => a.status === 429);
      expect(served.length + refused.length).toBe(1_000);
      expect(refused.every((a) => a.body.includes('budget_exceeded'))).toBe(true);
      // Every replica took its third of the burst and met the budget's end; which of them served
      // the few that fit is a matter of CPU on a loaded machine (one replica may take them all). With
      // a budget per replica (MemoryStore) each would spend it all: the sum below is the check.
      expect(new Set(refused.map((a) => a.replica)).size).toBe(3);
      const spent = await totalCost(fleet!, 'tiny');
      expect(spent).toBeGreaterThan(TINY_USD * 0.5);
      expect(spent).toBeLessThanOrEqual(TINY_USD);
    }, 120_000);

    it('opens the breaker for all three when one replica sees an outage', async () => {
      const [first, second, third] = fleet!.replicas;
      // Three failures in a row on the first replica open the breaker (consecutiveFailures: 3).
      for (let i = 0; i < 3; i++) {
        const answer = await ask(first!, 'flaky', KEYS.free, i === 1);
        expect(answer.servedBy).toBe('steady');
      }
      const seen = fleet!.upstreamCalls('gpt-4o');
      expect(seen).toBe(3);
      for (const replica of [second!, third!]) {
        for (const stream of [false, true]) {
          const answer = await ask(replica, 'flaky', KEYS.free, stream);
          expect(answer.status).toBe(200);
          expect(answer.servedBy).toBe('steady');
        }
        expect(await metricSum(replica, 'switchyard_gateway_breaker_state', { deployment: 'flaky' })).toBe(2);
      }
      // The others never called the broken provider.
      expect(fleet!.upstreamCalls('gpt-4o')).toBe(seen);
    }, 60_000);

    it('holds every replica off a provider that told one of them to retry after 120 s', async () => {
      const [first, second, third] = fleet!.replicas;
      const told = await ask(first!, 'limited', KEYS.free, false);
      expect(told.servedBy).toBe('steady'); // Retry-After over the cap: fell back at once
      expect(fleet!.upstreamCalls('gpt-5-mini')).toBe(1);
      for (const replica of [second!, third!, first!]) {
        for (const stream of [false, true]) {
          const answer = await ask(replica, 'limited', KEYS.free, stream);
          expect(answer.servedBy).toBe('steady');
        }
      }
      expect(fleet!.upstreamCalls('gpt-5-mini')).toBe(1);
    }, 60_000);

    it('survives Redis killed mid-run and restarted: no crash, budgets fail closed, recovery', async () => {
      const load = (n: number) => burst(fleet!, n, 'spend', KEYS.outage);
      const before = await load(6);
      expect(before.every((a) => a.status === 200)).toBe(true);

      // Killed while requests are in flight: their settles cannot reach Redis and are replayed later.
      const [mid] = await Promise.all([load(30), redis!.kill()]);
      expect(mid.every((a) => a.status === 200 || a.status === 429)).toBe(true);
      const during = await load(30);
      // Budgets fail closed: no budgeted request is served while the ledger cannot be reached.
      expect(during.every((a) => a.status === 429 && a.body.includes('unavailable'))).toBe(true);
      // Breakers and cooldowns fall back to each replica's own state: unbudgeted traffic is served.
      for (const replica of fleet!.replicas)
        expect((await ask(replica, 'limited', KEYS.free, false)).status).toBe(200);
      for (const replica of fleet!.replicas) {
        expect(await metricSum(replica, 'switchyard_gateway_state_store_up')).toBe(0);
        expect(
          await metricSum(replica, 'switchyard_gateway_state_fallbacks_total', { policy: 'closed' }),
        ).toBeGreaterThan(0);
        expect(replica.log.some((line) => line.includes('"state_store_down"'))).toBe(true);
        expect(replica.log.some((line) => line.includes('"state_fallback"'))).toBe(true);
      }

      await redis!.restart();
      // Each replica reconnects by itself (ioredis backs off to a second between tries).
      const until = Date.now() + 30_000;
      let after = await load(3);
      while (!after.some((a) => a.status === 200) && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 500));
        after = await load(3);
      }
      expect(after.some((a) => a.status === 200)).toBe(true);
      for (const replica of fleet!.replicas) {
        expect(replica.child.exitCode).toBeNull();
        expect((await fetch(`${replica.url}/healthz`)).status).toBe(200);
      }
      // Drain the budget: spend across the outage stays within the limit (the fail-closed window is zero).
      await burst(fleet!, 300, 'spend', KEYS.outage);
      const spent = await totalCost(fleet!, 'outage');
      expect(spent).toBeGreaterThan(OUTAGE_USD * 0.5);
      expect(spent).toBeLessThanOrEqual(OUTAGE_USD);
    }, 120_000);
  },
);

describe('three replicas each with its own MemoryStore (what the Redis tests would catch)', () => {
  let fleet: Fleet | undefined;
  beforeAll(async () => {
    fleet = await startFleet({ replicas: 3, limits: LIMITS });
  }, 180_000);
  afterAll(async () => {
    await fleet?.stop();
  }, 60_000);

  it('overshoots the budget and keeps calling a broken provider from the other replicas', async () => {
    await burst(fleet!, 1_000, 'spend', KEYS.tiny);
    expect(await totalCost(fleet!, 'tiny')).toBeGreaterThan(TINY_USD * 1.5);
    for (let i = 0; i < 3; i++) await ask(fleet!.replicas[0]!, 'flaky', KEYS.free, false);
    await ask(fleet!.replicas[1]!, 'flaky', KEYS.free, false);
    expect(fleet!.upstreamCalls('gpt-4o')).toBe(4);
  }, 120_000);
});

describe('switchyard gateway --state', () => {
  it('refuses a URL that is not Redis, or a Redis that does not answer, with exit 2 and no password shown', async () => {
    const { spawnSync } = await import('node:child_process');
    const cli = new URL('../../src/cli/main.ts', import.meta.url).pathname;
    const run = (url: string) =>
      spawnSync(process.execPath, [cli, 'gateway', '--port', '0', '--state', url], {
        encoding: 'utf8',
        timeout: 60_000,
      });
    const wrong = run('http://127.0.0.1:6379');
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toContain('must start with redis:// or rediss://');
    const unreachable = run('redis://:canary-pass@127.0.0.1:1/0');
    expect(unreachable.status).toBe(2);
    expect(unreachable.stderr).toContain('cannot reach Redis at redis://:***@127.0.0.1:1/0');
    expect(unreachable.stderr).not.toContain('canary-pass');
  }, 90_000);
});
