import { afterEach, describe, expect, it } from 'vitest';
import type { SwitchyardError } from '../../src/runtime/errors.ts';
import { PRIMARY, routerFixture } from './fixture.ts';
import { outcomeModes } from './modes.ts';
import { drive, serverError } from './stand-in.ts';

const { clock, standIn, makeRouter } = routerFixture();
afterEach(() => standIn.reset());

// The gate runs cooldown, breaker and budget checks as one sequence that stops at the first refusal:
// a deployment its breaker refuses must not hold money in the budget ledger.
describe.each(outcomeModes)('a deployment its breaker refuses ($name)', ({ run }) => {
  it('holds nothing in the budget: open, and half-open with its probe already out', async () => {
    const { router } = makeRouter({
      routes: [{ name: 'chat', deployments: ['primary'] }],
      prices: { 'gpt-4.1': { input: 2, output: 8 } },
      budgets: [{ tenant: '*', period: 'day', limitUsd: 10 }],
      policies: { retry: { maxAttempts: 1 }, breaker: { consecutiveFailures: 1, openMs: 10_000 } },
    });
    const reserved = async () => (await router.budgets.snapshot(undefined))[0]!.reservedUsd;
    standIn.script(PRIMARY, serverError());
    await drive(clock, run(router)).catch(() => undefined);
    // Open: refused at the gate.
    const refused = (await drive(clock, run(router)).catch((e: unknown) => e)) as SwitchyardError;
    expect(refused.kind).toBe('circuit_open');
    expect(await reserved()).toBe(0);
    // Half-open: the first request takes the probe (a slow one), the second is refused meanwhile.
    await clock.advance(10_000);
    standIn.script(PRIMARY, { kind: 'delay-ok', ms: 1_000 });
    const probe = run(router);
    await clock.advance(100);
    const second = (await drive(clock, run(router)).catch((e: unknown) => e)) as SwitchyardError;
    expect(second.kind).toBe('circuit_open');
    await drive(clock, probe).catch(() => undefined);
    expect(await reserved()).toBe(0);
  });
});
