import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/runtime/clock.ts';
import type { BudgetConfig } from '../../src/runtime/config/schema.ts';
import { BudgetLedger } from '../../src/runtime/cost/index.ts';
import { MemoryStore } from '../../src/runtime/state.ts';

const NOON = Date.UTC(2026, 0, 1, 12);

function setup(budgets: BudgetConfig[]) {
  const clock = new VirtualClock(NOON);
  return { clock, ledger: new BudgetLedger(new MemoryStore(clock), clock, budgets) };
}

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (e: Error) => e,
  );

/** What a refusal says, what a long quiet spell keeps, and closing a reservation twice. */
describe('the budget ledger', () => {
  it('a refusal names each budget it would overrun, its period, and the sums, joined by "; "', async () => {
    const { ledger } = setup([
      { tenant: '*', period: 'day', limitUsd: 1 },
      { tenant: '*', period: 'hour', limitUsd: 0.1 },
      { tenant: '*', period: 'month', limitUsd: 0.15 },
    ]);
    await ledger.settle(await ledger.reserve(undefined, 0.05), 0.05);
    const error = await refusal(ledger.reserve(undefined, 0.12));
    expect(error).toMatchObject({ kind: 'budget_exceeded' });
    expect(error.message).toBe(
      'budget "*/hour" for tenant "default" (hour 2026-01-01T12): $0.050000 spent + $0.000000 reserved + $0.120000 estimated > $0.100000 limit; ' +
        'budget "*/month" for tenant "default" (month 2026-01): $0.050000 spent + $0.000000 reserved + $0.120000 estimated > $0.150000 limit',
    );
  });

  it('a budget for the tenant named "default" is the one requests without a tenant spend', async () => {
    const { ledger } = setup([{ tenant: 'default', period: 'day', limitUsd: 0.1 }]);
    await ledger.settle(await ledger.reserve(undefined, 0.08), 0.08);
    expect(await ledger.snapshot('default')).toMatchObject([{ tenant: 'default', spentUsd: 0.08 }]);
    await expect(ledger.reserve(undefined, 0.05)).rejects.toMatchObject({ kind: 'budget_exceeded' });
  });

  it('refuses an estimate that is not a finite amount, saying which', async () => {
    const { ledger } = setup([{ tenant: '*', period: 'day', limitUsd: 1 }]);
    await expect(ledger.reserve('t', -1)).rejects.toThrow(
      'budget reservation must be a finite amount >= 0, got -1',
    );
    await expect(ledger.reserve('t', Number.NaN)).rejects.toThrow('got NaN');
  });

  it('a month budget remembers its spend through ten days without a request', async () => {
    const { clock, ledger } = setup([{ tenant: 't', period: 'month', limitUsd: 1 }]);
    await ledger.settle(await ledger.reserve('t', 0.4), 0.4);
    await clock.advance(10 * 86_400_000);
    expect((await ledger.snapshot('t'))[0]).toMatchObject({ spentUsd: 0.4, remainingUsd: 0.6 });
  });

  it('settling a reservation twice charges it once, even with others held beside it', async () => {
    const { ledger } = setup([{ tenant: 't', period: 'day', limitUsd: 1 }]);
    const first = await ledger.reserve('t', 0.1);
    await ledger.reserve('t', 0.2);
    await ledger.settle(first, 0.1);
    await ledger.settle(first, 0.1);
    await ledger.release(first);
    expect((await ledger.snapshot('t'))[0]).toMatchObject({ spentUsd: 0.1, reservedUsd: 0.2 });
  });
});
