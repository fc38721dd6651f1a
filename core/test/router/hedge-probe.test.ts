import { afterEach, describe, expect, it } from 'vitest';
import { ask, BACKUP, PRIMARY, routerFixture } from './fixture.ts';
import { drive, serverError } from './stand-in.ts';

const { clock, standIn, makeRouter } = routerFixture();
afterEach(() => standIn.reset());

// A half-open breaker allows a single probe; a hedge is a second copy of a request already in
// flight, so the probe is not spent on it: the gate's probe slot (and any budget it reserved) is given
// back, and the hedge goes elsewhere. Non-streamed only: streams are never hedged (a stream commits
// to its first deployment at its first token).
describe('a hedge whose next candidate is half-open', () => {
  it('does not take the probe: the slot and the reservation go back, and the hedge goes to the primary', async () => {
    const { router, traces } = makeRouter({
      routes: [{ name: 'chat', deployments: ['primary', 'backup'] }],
      prices: { 'gpt-4.1': { input: 2, output: 8 } },
      budgets: [{ tenant: '*', period: 'day', limitUsd: 10 }],
      policies: {
        retry: { maxAttempts: 1 },
        hedge: { enabled: true, delay: 500 },
        breaker: { consecutiveFailures: 1, openMs: 10_000 },
      },
    });
    // The backup fails once on a request addressed to it: its breaker opens, and is half-open 10 s later.
    standIn.script(BACKUP, serverError());
    await drive(clock, router.complete({ ...ask, model: 'backup' })).catch(() => undefined);
    await clock.advance(10_000);

    standIn.script(PRIMARY, { kind: 'delay-ok', ms: 2_000 });
    const response = await drive(clock, router.complete(ask));
    expect(response.deployment).toBe('primary');
    const hedged = traces.at(-1)!;
    expect(hedged.attempts.map((a) => a.deployment)).toEqual(['primary', 'primary']);
    expect(standIn.callsTo(BACKUP)).toHaveLength(1);
    // The backup's reservation, made and given back at no cost, for the attempt the hedge would have been.
    expect(hedged.budgetEvents).toContainEqual(
      expect.objectContaining({ op: 'settle', attempt: 2, amountUsd: 0 }),
    );
    expect((await router.budgets.snapshot(undefined))[0]!.reservedUsd).toBe(0);
    // The probe slot is free: the next request to the backup probes it at once and closes it.
    expect(await router.breakers.state('backup')).toBe('half-open');
    const probe = await drive(clock, router.complete({ ...ask, model: 'backup' }));
    expect(probe.deployment).toBe('backup');
    expect(await router.breakers.state('backup')).toBe('closed');
  });
});
