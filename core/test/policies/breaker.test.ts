import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/runtime/clock.ts';
import { breakerSchema } from '../../src/runtime/config/schema.ts';
import { SwitchyardError } from '../../src/runtime/errors.ts';
import type { BreakerState, BreakerTransition } from '../../src/runtime/policies/breaker.ts';
import { CircuitBreakers } from '../../src/runtime/policies/breaker.ts';
import { MemoryStore } from '../../src/runtime/state.ts';

const START = Date.UTC(2026, 0, 1);
const ID = 'openai-gpt';

function setup(overrides: Record<string, unknown> = {}, probeLeaseMs?: number) {
  const clock = new VirtualClock(START);
  const store = new MemoryStore(clock);
  const config = breakerSchema.parse({ consecutiveFailures: 3, openMs: 10_000, ...overrides });
  const breakers = new CircuitBreakers(
    store,
    clock,
    config,
    probeLeaseMs === undefined ? {} : { probeLeaseMs },
  );
  const events: BreakerTransition[] = [];
  breakers.onTransition((e) => events.push(e));
  return { clock, store, config, breakers, events };
}

async function fail(breakers: CircuitBreakers, times: number, id = ID): Promise<void> {
  for (let i = 0; i < times; i++) {
    expect(await breakers.acquire(id)).toEqual({ allowed: true, probe: false });
    await breakers.record(id, 'failure', false);
  }
}

async function tripAndWait(s: ReturnType<typeof setup>): Promise<void> {
  await fail(s.breakers, 3);
  await s.clock.advance(10_000);
}

describe('CircuitBreakers, consecutive mode', () => {
  it('opens after N failures in a row, not N-1, and a success resets the streak', async () => {
    const { breakers } = setup();
    await fail(breakers, 2);
    await breakers.record(ID, 'success', false);
    await fail(breakers, 2);
    expect(await breakers.state(ID)).toBe('closed');
    await fail(breakers, 1);
    expect(await breakers.state(ID)).toBe('open');
  });

  it('refuses while open, with the time left until the probe', async () => {
    const { breakers, clock } = setup();
    await fail(breakers, 3);
    expect(await breakers.acquire(ID)).toEqual({ allowed: false, retryInMs: 10_000 });
    await clock.advance(9_999);
    expect(await breakers.acquire(ID)).toEqual({ allowed: false, retryInMs: 1 });
    expect(await breakers.state(ID)).toBe('open');
  });

  it('lets exactly one of several concurrent callers probe after openMs', async () => {
    const s = setup();
    await tripAndWait(s);
    const results = await Promise.all(Array.from({ length: 6 }, () => s.breakers.acquire(ID)));
    const probes = results.filter((r) => r.allowed && r.probe);
    expect(probes).toHaveLength(1);
    expect(results.filter((r) => r.allowed)).toHaveLength(1);
    expect(await s.breakers.state(ID)).toBe('half-open');
  });

  it('closes on probe success', async () => {
    const s = setup();
    await tripAndWait(s);
    expect(await s.breakers.acquire(ID)).toEqual({ allowed: true, probe: true });
    await s.breakers.record(ID, 'success', true);
    expect(await s.breakers.state(ID)).toBe('closed');
    expect(await s.breakers.acquire(ID)).toEqual({ allowed: true, probe: false });
    // The streak starts afresh after closing.
    await fail(s.breakers, 2);
    expect(await s.breakers.state(ID)).toBe('closed');
  });

  it('reopens for a fresh openMs on probe failure', async () => {
    const s = setup();
    await tripAndWait(s);
    await s.clock.advance(5_000);
    expect(await s.breakers.acquire(ID)).toEqual({ allowed: true, probe: true });
    await s.breakers.record(ID, 'failure', true);
    expect(await s.breakers.state(ID)).toBe('open');
    expect(await s.breakers.acquire(ID)).toEqual({ allowed: false, retryInMs: 10_000 });
    await s.clock.advance(10_000);
    expect(await s.breakers.acquire(ID)).toEqual({ allowed: true, probe: true });
  });

  it('frees the probe slot on release, without changing state', async () => {
    const s = setup();
    await tripAndWait(s);
    expect(await s.breakers.acquire(ID)).toEqual({ allowed: true, probe: true });
    expect((await s.breakers.acquire(ID)).allowed).toBe(false);
    await s.breakers.release(ID, true);
    expect(await s.breakers.state(ID)).toBe('half-open');
    expect(await s.breakers.acquire(ID)).toEqual({ allowed: true, probe: true });
  });

  it('ignores late non-probe outcomes while half-open', async () => {
    const s = setup();
    await tripAndWait(s);
    expect(await s.breakers.acquire(ID)).toEqual({ allowed: true, probe: true });
    await s.breakers.record(ID, 'success', false);
    await s.breakers.record(ID, 'failure', false);
    expect(await s.breakers.state(ID)).toBe('half-open');
    expect((await s.breakers.acquire(ID)).allowed).toBe(false);
  });

  it('hands out a new probe once the lease of a leaked one has run out', async () => {
    const s = setup({}, 60_000);
    await tripAndWait(s);
    expect(await s.breakers.acquire(ID)).toEqual({ allowed: true, probe: true });
    await s.clock.advance(59_999);
    expect(await s.breakers.acquire(ID)).toEqual({ allowed: false, retryInMs: 1 });
    await s.clock.advance(1);
    expect(await s.breakers.acquire(ID)).toEqual({ allowed: true, probe: true });
  });

  it('emits transitions in order, open → half-open at the time openMs ran out', async () => {
    const s = setup();
    await fail(s.breakers, 3);
    await s.clock.advance(12_000);
    await s.breakers.acquire(ID);
    await s.breakers.record(ID, 'failure', true);
    await s.clock.advance(10_000);
    await s.breakers.acquire(ID);
    await s.breakers.record(ID, 'success', true);
    expect(s.events).toEqual([
      { deployment: ID, from: 'closed', to: 'open', at: START },
      { deployment: ID, from: 'open', to: 'half-open', at: START + 10_000 },
      { deployment: ID, from: 'half-open', to: 'open', at: START + 12_000 },
      { deployment: ID, from: 'open', to: 'half-open', at: START + 22_000 },
      { deployment: ID, from: 'half-open', to: 'closed', at: START + 22_000 },
    ]);
  });

  it('emits open → half-open once when state() notices it first', async () => {
    const s = setup();
    await tripAndWait(s);
    expect(await s.breakers.state(ID)).toBe('half-open');
    expect(await s.breakers.state(ID)).toBe('half-open');
    await s.breakers.acquire(ID);
    expect(s.events.map((e) => e.to)).toEqual(['open', 'half-open']);
  });

  it('keeps a throwing listener from affecting the breaker', async () => {
    const s = setup();
    s.breakers.onTransition(() => {
      throw new Error('broken sink');
    });
    await fail(s.breakers, 3);
    expect(await s.breakers.state(ID)).toBe('open');
    expect(s.events).toHaveLength(1);
  });

  it('stops notifying an unsubscribed listener', async () => {
    const s = setup();
    const seen: string[] = [];
    const off = s.breakers.onTransition((e) => seen.push(e.to));
    off();
    await fail(s.breakers, 3);
    expect(seen).toEqual([]);
    expect(s.events).toHaveLength(1);
  });

  it('keeps deployments apart and shares state through the store (another replica sees it)', async () => {
    const s = setup();
    await fail(s.breakers, 3);
    expect(await s.breakers.acquire('other')).toEqual({ allowed: true, probe: false });
    expect(await s.store.get(`breaker:${ID}`)).toMatchObject({ state: 'open' });
    const replica = new CircuitBreakers(s.store, s.clock, s.config);
    expect(await replica.acquire(ID)).toEqual({ allowed: false, retryInMs: 10_000 });
    await s.clock.advance(10_000);
    expect(await replica.acquire(ID)).toEqual({ allowed: true, probe: true });
    expect((await s.breakers.acquire(ID)).allowed).toBe(false);
  });

  it('always allows when disabled', async () => {
    const { breakers, store } = setup({ enabled: false });
    await fail(breakers, 10);
    expect(await breakers.state(ID)).toBe('closed');
    expect(store.size).toBe(0);
  });
});

describe('CircuitBreakers, rate mode', () => {
  const rate = { mode: 'rate', failureRate: 0.5, minimumRequests: 10, windowMs: 10_000 };

  it('waits for minimumRequests before judging the rate', async () => {
    const { breakers } = setup(rate);
    await fail(breakers, 9);
    expect(await breakers.state(ID)).toBe('closed');
    await fail(breakers, 1);
    expect(await breakers.state(ID)).toBe('open');
  });

  it('opens when the failure share reaches failureRate', async () => {
    const { breakers } = setup(rate);
    for (let i = 0; i < 6; i++) await breakers.record(ID, 'success', false);
    await fail(breakers, 4);
    expect(await breakers.state(ID)).toBe('closed'); // 4 / 10
    await fail(breakers, 1);
    expect(await breakers.state(ID)).toBe('closed'); // 5 / 11
    await fail(breakers, 1);
    expect(await breakers.state(ID)).toBe('open'); // 6 / 12
  });

  it('forgets outcomes that slid out of the window', async () => {
    const { breakers, clock } = setup(rate);
    await fail(breakers, 9);
    await clock.advance(10_000);
    await fail(breakers, 1);
    expect(await breakers.state(ID)).toBe('closed');
    await fail(breakers, 8);
    expect(await breakers.state(ID)).toBe('closed');
    await fail(breakers, 1);
    expect(await breakers.state(ID)).toBe('open');
  });

  it('does not trip on successes alone even with failureRate 0', async () => {
    const { breakers } = setup({ ...rate, failureRate: 0 });
    for (let i = 0; i < 20; i++) await breakers.record(ID, 'success', false);
    expect(await breakers.state(ID)).toBe('closed');
  });
});

// Issue 10, defect 2: the slow-call rule (see breaker.ts). A hedge loser that outlived its expected
// latency is reported 'slow'; a success slower than slowCallMs counts as slow too.
describe('CircuitBreakers, slow calls', () => {
  it('consecutive mode: slow calls extend a run of failures; a fast success ends it', async () => {
    const { breakers } = setup();
    await breakers.record(ID, 'slow', false);
    await breakers.record(ID, 'failure', false);
    await breakers.record(ID, 'success', false);
    await breakers.record(ID, 'slow', false);
    await breakers.record(ID, 'slow', false);
    expect(await breakers.state(ID)).toBe('closed');
    await breakers.record(ID, 'slow', false);
    expect(await breakers.state(ID)).toBe('open');
  });

  it('a slow probe re-opens a half-open breaker for a fresh openMs', async () => {
    const s = setup();
    await tripAndWait(s);
    expect(await s.breakers.acquire(ID)).toEqual({ allowed: true, probe: true });
    await s.breakers.record(ID, 'slow', true);
    expect(await s.breakers.state(ID)).toBe('open');
    expect(await s.breakers.acquire(ID)).toEqual({ allowed: false, retryInMs: 10_000 });
  });

  it('rate mode: opens when the slow share reaches slowCallRate, apart from the failure rate', async () => {
    const { breakers } = setup({ mode: 'rate', minimumRequests: 10, windowMs: 10_000, slowCallRate: 0.55 });
    for (let i = 0; i < 4; i++) await breakers.record(ID, 'success', false);
    for (let i = 0; i < 5; i++) await breakers.record(ID, 'slow', false);
    await breakers.record(ID, 'success', false);
    expect(await breakers.state(ID)).toBe('closed'); // 5 slow / 10
    await breakers.record(ID, 'slow', false);
    expect(await breakers.state(ID)).toBe('closed'); // 6 / 11
    await breakers.record(ID, 'slow', false);
    expect(await breakers.state(ID)).toBe('open'); // 7 / 12
  });

  it('a success slower than slowCallMs is a slow call; without slowCallMs no success is', async () => {
    const timed = setup({ slowCallMs: 5_000 });
    for (let i = 0; i < 3; i++) await timed.breakers.record(ID, 'success', false, 5_001);
    expect(await timed.breakers.state(ID)).toBe('open');
    const untimed = setup();
    for (let i = 0; i < 3; i++) await untimed.breakers.record(ID, 'success', false, 60_000);
    expect(await untimed.breakers.state(ID)).toBe('closed');
    const fastEnough = setup({ slowCallMs: 5_000 });
    for (let i = 0; i < 3; i++) await fastEnough.breakers.record(ID, 'success', false, 5_000);
    expect(await fastEnough.breakers.state(ID)).toBe('closed');
  });
});

describe('countsAsFailure', () => {
  const err = (kind: 'server_error' | 'rate_limited' | 'bad_request' | 'auth' | 'cancelled') =>
    new SwitchyardError(kind, { message: kind });

  it('counts server-side kinds by default', () => {
    const { breakers } = setup();
    expect(breakers.countsAsFailure(err('server_error'))).toBe(true);
    expect(breakers.countsAsFailure(err('rate_limited'))).toBe(true);
    expect(breakers.countsAsFailure(err('bad_request'))).toBe(false);
    expect(breakers.countsAsFailure(err('cancelled'))).toBe(false);
  });

  it('follows countKinds when configured', () => {
    const { breakers } = setup({ countKinds: ['auth'] });
    expect(breakers.countsAsFailure(err('auth'))).toBe(true);
    expect(breakers.countsAsFailure(err('server_error'))).toBe(false);
  });
});

const LEGAL = new Set(['closed>open', 'open>half-open', 'half-open>closed', 'half-open>open']);

type Op =
  | { type: 'acquire'; concurrent: number }
  | { type: 'finish'; pick: number; outcome: 'success' | 'failure' | 'release' }
  | { type: 'advance'; ms: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ type: fc.constant('acquire' as const), concurrent: fc.integer({ min: 1, max: 4 }) }),
  fc.record({
    type: fc.constant('finish' as const),
    pick: fc.nat(),
    outcome: fc.constantFrom('success' as const, 'failure' as const, 'release' as const),
  }),
  fc.record({ type: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 15_000 }) }),
);

describe('CircuitBreakers, property', () => {
  it('never makes an illegal transition and never has two probes in flight', async () => {
    // Tallies across runs, to check the generated sequences really reach the probe paths.
    const reached = { probe: 0, 'probe-success': 0, 'probe-failure': 0, 'probe-release': 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('consecutive', 'rate'),
        fc.array(opArb, { minLength: 10, maxLength: 80, size: 'max' }),
        async (mode, ops) => {
          const s = setup(
            { mode, consecutiveFailures: 2, minimumRequests: 3, failureRate: 0.5 },
            Number.POSITIVE_INFINITY,
          );
          const inFlight: boolean[] = [];
          const current = (): BreakerState => s.events.at(-1)?.to ?? 'closed';
          for (const op of ops) {
            if (op.type === 'advance') {
              await s.clock.advance(op.ms, 0);
            } else if (op.type === 'acquire') {
              const results = await Promise.all(
                Array.from({ length: op.concurrent }, () => s.breakers.acquire(ID)),
              );
              for (const r of results) {
                if (!r.allowed) {
                  expect(r.retryInMs).toBeGreaterThan(0);
                  continue;
                }
                if (r.probe) {
                  reached.probe++;
                  expect(inFlight.filter(Boolean)).toHaveLength(0);
                  expect(current()).toBe('half-open');
                } else {
                  expect(current()).toBe('closed');
                }
                inFlight.push(r.probe);
              }
            } else if (inFlight.length > 0) {
              const [wasProbe] = inFlight.splice(op.pick % inFlight.length, 1) as [boolean];
              if (wasProbe) reached[`probe-${op.outcome}`]++;
              if (op.outcome === 'release') await s.breakers.release(ID, wasProbe);
              else await s.breakers.record(ID, op.outcome, wasProbe);
            }
            expect(await s.breakers.state(ID)).toBe(current());
          }
          let previous: BreakerState = 'closed';
          let lastAt = START;
          for (const e of s.events) {
            expect(e.from).toBe(previous);
            expect(LEGAL.has(`${e.from}>${e.to}`)).toBe(true);
            expect(e.at).toBeGreaterThanOrEqual(lastAt);
            previous = e.to;
            lastAt = e.at;
          }
        },
      ),
      { numRuns: 200 },
    );
    for (const count of Object.values(reached)) expect(count).toBeGreaterThan(0);
  });
});
