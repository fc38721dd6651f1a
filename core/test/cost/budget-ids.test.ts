import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/runtime/clock.ts';
import { BudgetLedger } from '../../src/runtime/cost/index.ts';
import { MemoryStore } from '../../src/runtime/state.ts';

/** Two budgets of one tenant and period (a soft and a hard limit, say) are two ledgers, told apart by id. */
describe('budgets that share a tenant and a period', () => {
  const setup = () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 1, 12));
    return new BudgetLedger(new MemoryStore(clock), clock, [
      { tenant: 'acme', period: 'day', limitUsd: 1 },
      { tenant: 'acme', period: 'day', limitUsd: 0.5 },
      { tenant: 'acme', period: 'day', limitUsd: 0.25 },
    ]);
  };

  it('get ids in config order: the first plain, the others numbered', async () => {
    const ledger = setup();
    expect((await ledger.snapshot('acme')).map((b) => [b.budget, b.limitUsd])).toEqual([
      ['acme/day', 1],
      ['acme/day#2', 0.5],
      ['acme/day#3', 0.25],
    ]);
  });

  it('are each charged, and a refusal names the ones it would overrun', async () => {
    const ledger = setup();
    await ledger.settle(await ledger.reserve('acme', 0.2), 0.2);
    expect((await ledger.snapshot('acme')).map((b) => b.spentUsd)).toEqual([0.2, 0.2, 0.2]);
    const refusal = await ledger.reserve('acme', 0.1).catch((e: Error) => e);
    expect(refusal).toBeInstanceOf(Error);
    expect((refusal as Error).message).toMatch(/^budget "acme\/day#3" for tenant "acme" \(day /);
    expect((refusal as Error).message).not.toMatch(/"acme\/day"|#2/);
  });
});
