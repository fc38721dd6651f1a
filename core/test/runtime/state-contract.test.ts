import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/faults/chaos/prng.ts';
import { VirtualClock } from '../../src/runtime/clock.ts';
import type { BreakerConfig } from '../../src/runtime/config/schema.ts';
import { BudgetLedger } from '../../src/runtime/cost/budget.ts';
import { isSwitchyardError } from '../../src/runtime/errors.ts';
import { type BreakerTransition, CircuitBreakers } from '../../src/runtime/policies/breaker.ts';
import { Cooldowns } from '../../src/runtime/policies/cooldown.ts';
import { LatencyTracker } from '../../src/runtime/policies/latency.ts';
import { counterNext, setAdd, setRead } from '../../src/runtime/routing/shared.ts';
import { MemoryStore, type StateStore } from '../../src/runtime/state.ts';
import { REDIS_REQUIRED, redisForTests, WITH_REDIS } from '../support/redis.ts';

/**
 * One contract for every StateStore: the same policies over MemoryStore (the reference) and over
 * RedisStore against a real redis-server give the same answers, and a random mix of operations
 * gives identical results on both (the Lua functions are the TypeScript ones, rule for rule).
 */

const redis = redisForTests('none');

it('has a redis-server where it is required', () => {
  if (REDIS_REQUIRED)
    expect(redis.server, 'redis-server is not on PATH (apt-get install redis-server)').toBeDefined();
});

const START = Date.UTC(2026, 0, 1, 12);

type Make = (clock: VirtualClock) => Promise<StateStore>;
const stores: Array<[string, Make]> = [['MemoryStore', async (clock) => new MemoryStore(clock)]];
if (WITH_REDIS)
  stores.push([
    'RedisStore',
    async (clock) => {
      const store = await redis.store({ clock });
      return store;
    },
  ]);

const BREAKER: BreakerConfig = {
  enabled: true,
  mode: 'consecutive',
  consecutiveFailures: 3,
  failureRate: 0.5,
  slowCallRate: 0.5,
  minimumRequests: 4,
  windowMs: 10_000,
  openMs: 5_000,
} as BreakerConfig;

describe.each(stores)('%s', (_name, make) => {
  async function setup() {
    const clock = new VirtualClock(START);
    return { clock, store: await make(clock) };
  }

  it('breaker: opens after N failures, lets exactly one probe through after openMs, closes on its success', async () => {
    const { clock, store } = await setup();
    const breakers = new CircuitBreakers(store, clock, BREAKER, { probeLeaseMs: 30_000 });
    const events: BreakerTransition[] = [];
    breakers.onTransition((e) => events.push(e));
    for (let i = 0; i < 3; i++) {
      expect(await breakers.acquire('a')).toEqual({ allowed: true, probe: false });
      await breakers.record('a', 'failure', false);
    }
    expect(await breakers.state('a')).toBe('open');
    expect(await breakers.acquire('a')).toEqual({ allowed: false, retryInMs: 5_000 });
    await clock.advance(5_000);
    const [first, second] = await Promise.all([breakers.acquire('a'), breakers.acquire('a')]);
    expect([first, second]).toEqual([
      { allowed: true, probe: true },
      { allowed: false, retryInMs: 30_000 },
    ]);
    await breakers.record('a', 'success', true);
    expect(await breakers.state('a')).toBe('closed');
    expect(events.map((e) => `${e.from}>${e.to}@${e.at - START}`)).toEqual([
      'closed>open@0',
      'open>half-open@5000',
      'half-open>closed@5000',
    ]);
    // Another router on the same store is another replica: it sees the same breaker.
    const replica = new CircuitBreakers(store, clock, BREAKER);
    for (let i = 0; i < 3; i++) await breakers.record('b', 'failure', false);
    expect(await replica.acquire('b')).toEqual({ allowed: false, retryInMs: 5_000 });
  });

  it('breaker: rate mode trips on the failure share of the window, slow calls on theirs', async () => {
    const { clock, store } = await setup();
    const breakers = new CircuitBreakers(store, clock, { ...BREAKER, mode: 'rate' });
    await breakers.record('a', 'success', false);
    await breakers.record('a', 'failure', false);
    await breakers.record('a', 'success', false);
    expect(await breakers.state('a')).toBe('closed');
    await breakers.record('a', 'failure', false); // 2 of 4 = 0.5
    expect(await breakers.state('a')).toBe('open');
    for (let i = 0; i < 2; i++) await breakers.record('s', 'success', false);
    for (let i = 0; i < 2; i++) await breakers.record('s', 'slow', false);
    expect(await breakers.state('s')).toBe('open');
    // Old buckets fall out of the window.
    await breakers.record('w', 'failure', false);
    await clock.advance(11_000);
    for (let i = 0; i < 3; i++) await breakers.record('w', 'success', false);
    await breakers.record('w', 'failure', false);
    expect(await breakers.state('w')).toBe('closed');
  });

  it('budget: reserves up to the limit, refuses past it naming the budget, settles at the actual cost', async () => {
    const { clock, store } = await setup();
    const ledger = new BudgetLedger(store, clock, [
      { tenant: 'acme', period: 'day', limitUsd: 1 },
      { tenant: '*', period: 'hour', limitUsd: 10 },
    ]);
    const a = await ledger.reserve('acme', 0.6);
    const b = await ledger.reserve('acme', 0.4);
    const refused = await ledger.reserve('acme', 0.01).catch((e: unknown) => e);
    expect(isSwitchyardError(refused) && refused.kind).toBe('budget_exceeded');
    expect((refused as Error).message).toContain('budget "acme/day" for tenant "acme"');
    await ledger.settle(a, 0.25);
    await ledger.settle(a, 0.25); // twice: nothing more
    await ledger.release(b);
    expect(await ledger.snapshot('acme')).toMatchObject([
      { budget: 'acme/day', spentUsd: 0.25, reservedUsd: 0, remainingUsd: 0.75 },
      { budget: '*/hour', spentUsd: 0.25, reservedUsd: 0, remainingUsd: 9.75 },
    ]);
    // A new hour starts the hourly budget afresh; the day keeps counting.
    await clock.advance(3_600_000);
    expect(await ledger.snapshot('acme')).toMatchObject([{ spentUsd: 0.25 }, { spentUsd: 0 }]);
  });

  it('budget: a reservation lost past its TTL is charged at its estimate, and a late settle changes nothing', async () => {
    const { clock, store } = await setup();
    const ledger = new BudgetLedger(store, clock, [{ tenant: 'acme', period: 'day', limitUsd: 1 }], {
      reservationTtlMs: 60_000,
    });
    const lost = await ledger.reserve('acme', 0.4);
    await clock.advance(60_000);
    expect(await ledger.snapshot('acme')).toMatchObject([{ spentUsd: 0.4, reservedUsd: 0 }]);
    await ledger.settle(lost, 0.1);
    expect(await ledger.snapshot('acme')).toMatchObject([{ spentUsd: 0.4, reservedUsd: 0 }]);
  });

  it('budget: concurrent reservations never jointly pass the limit', async () => {
    const { clock, store } = await setup();
    const ledger = new BudgetLedger(store, clock, [{ tenant: 't', period: 'day', limitUsd: 0.05 }]);
    const outcomes = await Promise.allSettled(Array.from({ length: 200 }, () => ledger.reserve('t', 0.001)));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(50);
    expect(await ledger.snapshot('t')).toMatchObject([{ reservedUsd: 0.05, remainingUsd: 0 }]);
  });

  it('cooldown: holds until the time asked, never shortened, judged on the router clock', async () => {
    const { clock, store } = await setup();
    const cooldowns = new Cooldowns(store, clock);
    await cooldowns.start('a', 120_000, 'retry-after');
    await cooldowns.start('a', 1_000, 'quota');
    expect(await cooldowns.active('a')).toEqual({ until: START + 120_000, reason: 'retry-after' });
    await clock.advance(120_000);
    expect(await cooldowns.active('a')).toBeUndefined();
  });

  it('latency: EWMA, p95 over the ring, forgotten after maxAge', async () => {
    const { clock, store } = await setup();
    const tracker = new LatencyTracker(store, clock, { alpha: 0.5, windowSize: 20, maxAgeMs: 60_000 });
    for (let i = 1; i <= 30; i++)
      await tracker.record('a', { latencyMs: i * 10, ...(i % 2 ? { ttftMs: i } : {}) });
    const stats = await tracker.stats('a');
    expect(stats).toMatchObject({ samples: 30, p95LatencyMs: 290, lastSampleAt: START });
    expect(stats!.ewmaLatencyMs).toBeCloseTo(290, 6);
    expect(stats!.ewmaTtftMs).toBeCloseTo(27.0001220703125, 6);
    await clock.advance(60_000);
    expect(await tracker.stats('a')).toBeUndefined();
  });

  it('routing: counters count, sets keep each member once', async () => {
    const { store } = await setup();
    expect(await store.run(counterNext('rr', {}))).toBe(0);
    expect(await store.run(counterNext('rr', {}))).toBe(1);
    await store.run(setAdd('rw', { member: 'temperature' }));
    await store.run(setAdd('rw', { member: 'max_tokens' }));
    await store.run(setAdd('rw', { member: 'temperature' }));
    expect(await store.run(setRead('rw', {}))).toEqual(['max_tokens', 'temperature']);
    expect(normalised(await store.run(setRead('none', {})))).toEqual(normalised([]));
  });

  it('a sequence stops after the first refusal and runs as one step', async () => {
    const { clock, store } = await setup();
    const cooldowns = new Cooldowns(store, clock);
    const breakers = new CircuitBreakers(store, clock, BREAKER);
    await cooldowns.start('a', 1_000, 'retry-after');
    const results = await store.runAll([
      cooldowns.checkOp('a'),
      breakers.acquireOp('a')!,
      counterNext('n', {}),
    ]);
    expect(results).toEqual([{ stop: true, until: START + 1_000, reason: 'retry-after' }]);
    expect(await store.run(counterNext('n', {}))).toBe(0);
    // The request's own cooldown does not stop it.
    const own = await store.runAll([cooldowns.checkOp('a', START + 1_000), counterNext('n', {})]);
    expect(own).toEqual([{ stop: false }, 1]);
  });

  it('plain values: stored and read back as JSON', async () => {
    const { store } = await setup();
    await store.set('cache:x', { text: 'hi', n: [1, 2] }, 60_000);
    expect(await store.get('cache:x')).toEqual({ text: 'hi', n: [1, 2] });
    await store.delete('cache:x');
    expect(await store.get('cache:x')).toBeUndefined();
  });
});

/** Lua's JSON has one empty table: {} and [] are the same answer. */
function normalised(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value ?? null).replaceAll('{}', '[]'));
}

describe.runIf(WITH_REDIS)('MemoryStore and RedisStore, operation for operation', () => {
  it('give identical results over a random mix of every operation (seeded)', async () => {
    const random = mulberry32(15);
    const memoryClock = new VirtualClock(START);
    const redisClock = new VirtualClock(START);
    const memory = new MemoryStore(memoryClock);
    const shared = await redis.store({ clock: redisClock });
    const make = (clock: VirtualClock, store: StateStore) => ({
      breakers: new CircuitBreakers(store, clock, { ...BREAKER, mode: 'rate' }),
      consecutive: new CircuitBreakers(store, clock, BREAKER),
      ledger: new BudgetLedger(store, clock, [{ tenant: '*', period: 'minute', limitUsd: 0.02 }], {
        reservationTtlMs: 30_000,
      }),
      cooldowns: new Cooldowns(store, clock),
      latency: new LatencyTracker(store, clock, { windowSize: 8, maxAgeMs: 20_000 }),
    });
    const sides = [
      { clock: memoryClock, store: memory as StateStore, ...make(memoryClock, memory) },
      { clock: redisClock, store: shared as StateStore, ...make(redisClock, shared) },
    ];
    const reservations: Array<Array<Awaited<ReturnType<BudgetLedger['reserve']>>>> = [[], []];
    const ids = ['a', 'b'];
    // The mix must reach the interesting states, or the comparison proves little.
    const tally = { refusedByBreaker: 0, refusedByBudget: 0, cooling: 0 };
    for (let step = 0; step < 600; step++) {
      const choice = Math.floor(random() * 12);
      const id = ids[Math.floor(random() * ids.length)]!;
      const amount = Math.round(random() * 5_000) / 1e6;
      const wait = Math.floor(random() * 3_000);
      const answers: unknown[] = [];
      for (const [i, side] of sides.entries()) {
        const run = async (): Promise<unknown> => {
          switch (choice) {
            case 0:
              return side.breakers.acquire(id);
            case 1:
              return side.breakers.record(id, random2(step, ['success', 'failure', 'slow']), step % 3 === 0);
            case 2:
              return side.consecutive.acquire(id);
            case 3:
              return side.consecutive.record(id, random2(step, ['success', 'failure']), step % 2 === 0);
            case 4:
              return side.consecutive.release(id, true);
            case 5: {
              const r = await side.ledger.reserve(id, amount).catch((e: Error) => e.message);
              if (typeof r !== 'string') reservations[i]!.push(r);
              return typeof r === 'string' ? r : r.estimateUsd;
            }
            case 6: {
              const r = reservations[i]!.shift();
              return r && side.ledger.settle(r, amount);
            }
            case 7:
              return side.ledger.snapshot(id);
            case 8:
              return side.cooldowns.start(id, wait * 3, step % 2 ? 'quota' : 'retry-after');
            case 9:
              return side.cooldowns.active(id);
            case 10:
              return side.latency.record(id, { latencyMs: wait, ...(step % 2 ? { ttftMs: wait / 3 } : {}) });
            default:
              return side.latency.stats(id).then(
                (s) =>
                  s && {
                    ...s,
                    ewmaLatencyMs: round(s.ewmaLatencyMs),
                    ewmaTtftMs: s.ewmaTtftMs && round(s.ewmaTtftMs),
                  },
              );
          }
        };
        answers.push(normalised(await run()));
      }
      expect(answers[1], `step ${step}, operation ${choice}`).toEqual(answers[0]);
      const seen = JSON.stringify(answers[0]);
      if (seen.includes('"allowed":false')) tally.refusedByBreaker++;
      if (seen.includes('budget_exceeded') || seen.includes('limit')) tally.refusedByBudget++;
      if (seen.includes('"reason"')) tally.cooling++;
      if (step % 7 === 0) for (const side of sides) await side.clock.advance(wait);
    }
    expect(tally.refusedByBreaker).toBeGreaterThan(5);
    expect(tally.refusedByBudget).toBeGreaterThan(5);
    expect(tally.cooling).toBeGreaterThan(5);
  });
});

function random2<T>(step: number, values: T[]): T {
  return values[(step * 7919) % values.length]!;
}

/** Redis keeps numbers to 14 significant digits (Lua's cjson): latency averages are compared to 9. */
function round(value: number): number {
  return Number(value.toPrecision(9));
}
