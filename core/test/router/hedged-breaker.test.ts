import { afterEach, describe, expect, it } from 'vitest';
import type { RouterConfigInput } from '../../src/runtime/config/schema.ts';
import { ask, BACKUP, collect, PRIMARY, routerFixture, streamedText } from './fixture.ts';
import { drive } from './stand-in.ts';

const { clock, standIn, makeRouter } = routerFixture();
afterEach(() => standIn.reset());

/** Primary black-holed (accepts, never answers), backup healthy; hedge after 500 ms. */
const hedgedOverHole: Partial<RouterConfigInput> = {
  routes: [{ name: 'chat', deployments: ['primary', 'backup'] }],
  policies: {
    retry: { maxAttempts: 1 },
    hedge: { enabled: true, delay: 500 },
    breaker: { consecutiveFailures: 3, openMs: 10_000 },
  },
};

function blackHolePrimary(calls: number) {
  for (let i = 0; i < calls; i++) standIn.script(PRIMARY, { kind: 'black-hole' });
}

// Issue 10, defect 2: when a hedge won, the primary was cancelled and its breaker never heard of it,
// so a black-holed deployment never opened its breaker: every request paid the hedge delay, and a
// half-open breaker kept sending probes into the hole.
describe('a black-holed deployment under hedging', () => {
  it('opens its breaker after N slow losers, and every later request skips it (no hedge delay)', async () => {
    const { router, traces } = makeRouter(hedgedOverHole);
    blackHolePrimary(20);
    const latencies: number[] = [];
    for (let i = 0; i < 10; i++) {
      const started = clock.now();
      const response = await drive(clock, router.complete(ask));
      expect(response.deployment).toBe('backup');
      latencies.push(clock.now() - started);
    }
    expect(standIn.callsTo(PRIMARY)).toHaveLength(3);
    expect(await router.breakers.state('primary')).toBe('open');
    // The three losers were slow calls; the rest did not wait for a hedge at all.
    const losers = traces.flatMap((t) => t.attempts).filter((a) => a.deployment === 'primary');
    expect(losers.map((a) => [a.outcome, a.slow])).toEqual([
      ['aborted', true],
      ['aborted', true],
      ['aborted', true],
    ]);
    expect(latencies.slice(0, 3)).toEqual([500, 500, 500]);
    expect(latencies.slice(3)).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect(traces[5]!.candidates[0]).toMatchObject({ deployment: 'primary', skipped: 'breaker-open' });
  });

  it('a half-open probe into the hole re-opens the breaker: one probe per openMs, not one per request', async () => {
    const { router, traces } = makeRouter(hedgedOverHole);
    blackHolePrimary(50);
    const transitions: string[] = [];
    router.breakers.onTransition((t) => transitions.push(`${t.from}->${t.to}`));
    // One request a second for a minute.
    for (let i = 0; i < 60; i++) {
      await drive(clock, router.complete(ask));
      await clock.advance(1_000);
    }
    const probes = traces.flatMap((t) => t.attempts).filter((a) => a.probe);
    // Three slow losers opened it; then a probe each time openMs (10 s) ran out: ~5 in 60 s.
    expect(standIn.callsTo(PRIMARY).length).toBeLessThanOrEqual(3 + 6);
    expect(probes.length).toBeGreaterThanOrEqual(4);
    expect(probes.every((a) => a.slow === true)).toBe(true);
    expect(transitions.slice(0, 3)).toEqual(['closed->open', 'open->half-open', 'half-open->open']);
    expect(transitions).not.toContain('half-open->closed');
  });

  it('a loser that had not outlived its expected latency is no slow call', async () => {
    // The primary answers in 200 ms, before the 500 ms hedge: it wins, no hedge is sent.
    // Then the backup (hedge) wins over a primary that takes 5 s, and the backup's own loss later
    // is fast: only primaries cancelled after 500 ms count.
    const { router, traces } = makeRouter(hedgedOverHole);
    standIn.script(PRIMARY, { kind: 'delay-ok', ms: 200 });
    await drive(clock, router.complete(ask));
    standIn.script(PRIMARY, { kind: 'delay-ok', ms: 700 });
    standIn.script(BACKUP, { kind: 'delay-ok', ms: 5_000 });
    const response = await drive(clock, router.complete(ask));
    expect(response.deployment).toBe('primary');
    const backupLoser = traces[1]!.attempts.find((a) => a.deployment === 'backup')!;
    expect(backupLoser).toMatchObject({ outcome: 'aborted', hedge: true });
    expect(backupLoser.slow).toBeUndefined();
  });
});

describe('a black-holed deployment, streamed (no hedging for streams)', () => {
  it('opens its breaker through the headers deadline', async () => {
    const { router } = makeRouter({
      ...hedgedOverHole,
      policies: { ...hedgedOverHole.policies, timeouts: { headersMs: 1_000 } },
    });
    blackHolePrimary(10);
    for (let i = 0; i < 5; i++) {
      const events = await drive(clock, collect(router.stream(ask)));
      expect(streamedText(events)).toBe('hello from the stand-in');
    }
    expect(standIn.callsTo(PRIMARY)).toHaveLength(3);
    expect(await router.breakers.state('primary')).toBe('open');
  });
});
