import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/runtime/clock.ts';
import { RetryBudget } from '../../src/runtime/policies/retry-budget.ts';

const START = Date.UTC(2026, 0, 1);

function take(budget: RetryBudget, max: number): number {
  let granted = 0;
  while (granted < max && budget.tryAcquireRetry()) granted++;
  return granted;
}

describe('RetryBudget', () => {
  it('refuses retries beyond ratio × requests in the window', () => {
    const clock = new VirtualClock(START);
    const budget = new RetryBudget(clock, { ratio: 0.2, minRetriesPerSecond: 0, windowMs: 10_000 });
    for (let i = 0; i < 10; i++) budget.recordRequest();
    expect(take(budget, 100)).toBe(2);
    expect(budget.tryAcquireRetry()).toBe(false);
    budget.recordRequest();
    budget.recordRequest();
    budget.recordRequest();
    budget.recordRequest();
    budget.recordRequest();
    // 15 requests → 3 retries allowed, 2 already spent.
    expect(take(budget, 100)).toBe(1);
  });

  it('allows minRetriesPerSecond × window seconds even without traffic', () => {
    const clock = new VirtualClock(START);
    const budget = new RetryBudget(clock, { ratio: 0.2, minRetriesPerSecond: 1, windowMs: 10_000 });
    expect(take(budget, 100)).toBe(10);
    expect(budget.tryAcquireRetry()).toBe(false);
  });

  it('recovers as spent retries slide out of the window, bucket by bucket', async () => {
    const clock = new VirtualClock(START);
    const budget = new RetryBudget(clock, { ratio: 0.5, minRetriesPerSecond: 0, windowMs: 10_000 });
    for (let i = 0; i < 10; i++) budget.recordRequest();
    await clock.advance(1_000);
    expect(take(budget, 100)).toBe(5);

    // t = 10 s: the requests of t = 0 left the window, the retries of t = 1 s did not.
    await clock.advance(9_000);
    expect(budget.snapshot()).toMatchObject({ requests: 0, retries: 5 });
    for (let i = 0; i < 10; i++) budget.recordRequest();
    expect(budget.tryAcquireRetry()).toBe(false);

    await clock.advance(999);
    expect(budget.tryAcquireRetry()).toBe(false);
    // t = 11 s: the burst of retries is gone, the new requests fund five more.
    await clock.advance(1);
    expect(take(budget, 100)).toBe(5);
  });

  it('forgets everything after a jump longer than the window', async () => {
    const clock = new VirtualClock(START);
    const budget = new RetryBudget(clock, { ratio: 1, minRetriesPerSecond: 0, windowMs: 1_000 });
    for (let i = 0; i < 3; i++) budget.recordRequest();
    expect(take(budget, 100)).toBe(3);
    await clock.advance(50_000);
    expect(budget.snapshot()).toEqual({ requests: 0, retries: 0, allowance: 0 });
    budget.recordRequest();
    expect(take(budget, 100)).toBe(1);
  });
});
