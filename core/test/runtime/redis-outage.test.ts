import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/runtime/clock.ts';
import type { BreakerConfig } from '../../src/runtime/config/schema.ts';
import { BudgetLedger } from '../../src/runtime/cost/budget.ts';
import { CircuitBreakers } from '../../src/runtime/policies/breaker.ts';
import { connectRedisStore, type RedisStoreEvent, redactRedisUrl } from '../../src/runtime/state/redis.ts';
import { redisForTests, WITH_REDIS } from '../support/redis.ts';

/**
 * Redis going away under a RedisStore, kind by kind: breakers fall back to this process's own
 * state, budgets fail closed (or open, when asked), a settle that could not be written is replayed
 * once Redis is back, and every fallback is reported.
 */

const redis = redisForTests('always');

const BREAKER = {
  enabled: true,
  mode: 'consecutive',
  consecutiveFailures: 2,
  openMs: 60_000,
  windowMs: 10_000,
  failureRate: 0.5,
  slowCallRate: 0.5,
  minimumRequests: 4,
} as BreakerConfig;

async function until(check: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.runIf(WITH_REDIS)('a RedisStore whose Redis goes away', () => {
  it('falls back per kind, reports it, reconnects and replays the settles it kept', async () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 1, 12));
    const store = await redis.store({ clock });
    const events: RedisStoreEvent[] = [];
    store.onEvent((e) => events.push(e));
    const ledger = new BudgetLedger(store, clock, [{ tenant: 't', period: 'day', limitUsd: 1 }]);
    const breakers = new CircuitBreakers(store, clock, BREAKER);
    const held = await ledger.reserve('t', 0.3);

    await redis.server!.kill();
    // Budgets fail closed: refused, with the reason.
    await expect(ledger.reserve('t', 0.01)).rejects.toThrow(/unavailable.*fail closed/);
    // The settle is kept for later; the caller is not failed.
    await ledger.settle(held, 0.2);
    // Breakers work on this process's own state meanwhile.
    await breakers.record('d', 'failure', false);
    await breakers.record('d', 'failure', false);
    expect(await breakers.acquire('d')).toEqual({ allowed: false, retryInMs: 60_000 });
    expect(store.degraded).toBe(true);
    expect(events[0]).toMatchObject({ type: 'down' });
    const fallbacks = events.filter((e) => e.type === 'fallback');
    expect(fallbacks.map((e) => e.type === 'fallback' && `${e.kind}:${e.policy}`)).toEqual(
      expect.arrayContaining(['budget:closed', 'breaker:local']),
    );

    await redis.server!.restart();
    await until(() => events.some((e) => e.type === 'up'));
    expect(events.find((e) => e.type === 'up')).toEqual({ type: 'up', replayed: 1 });
    expect(store.degraded).toBe(false);
    // The ledger in Redis (persisted across the crash) has the settle: $0.2 spent, nothing held.
    expect(await ledger.snapshot('t')).toMatchObject([{ spentUsd: 0.2, reservedUsd: 0 }]);
    // Redis is the authority again: its breaker never saw the local failures.
    expect(await breakers.acquire('d')).toEqual({ allowed: true, probe: false });
  }, 60_000);

  it('keeps a ledger of its own when budgets fail open', async () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 1, 12));
    const store = await redis.store({ clock, budgets: 'open' });
    const ledger = new BudgetLedger(store, clock, [{ tenant: 't', period: 'day', limitUsd: 0.05 }]);
    await redis.server!.kill();
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => ledger.reserve('t', 0.01)));
    // Within this process's own limit: five of ten.
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(5);
    await redis.server!.restart();
  }, 60_000);
});

describe('a Redis URL', () => {
  it('never shows its password: not in errors, not when printed', async () => {
    expect(redactRedisUrl('redis://:s3cret-canary@127.0.0.1:6390/2')).toBe('redis://:***@127.0.0.1:6390/2');
    // Nothing listens on port 1: the error names the server without the password.
    const error = await connectRedisStore({
      url: 'redis://user:s3cret-canary@127.0.0.1:1/0',
      clock: new VirtualClock(0),
      connectTimeoutMs: 2_000,
    }).catch((e: Error) => e);
    expect(String((error as Error).message)).toMatch(
      /cannot reach Redis at redis:\/\/user:\*\*\*@127\.0\.0\.1:1\/0/,
    );
    expect(String((error as Error).message)).not.toContain('s3cret-canary');
    await expect(
      connectRedisStore({ url: 'http://127.0.0.1:6379', clock: new VirtualClock(0) }),
    ).rejects.toThrow(/must start with redis:\/\/ or rediss:\/\//);
  });
});
