import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/runtime/clock.ts';
import { OutputAllowance } from '../../src/runtime/cost/allowance.ts';
import { MemoryStore } from '../../src/runtime/state.ts';

/** What an output allowance learns from, and what it ignores (usage.test.ts has the sizing itself). */
describe('OutputAllowance observations', () => {
  const fresh = () => new OutputAllowance(new MemoryStore(new VirtualClock()));

  it('ignores output counts that are not a count: negative, NaN, infinite', async () => {
    const allowance = fresh();
    for (const bad of [-1, -500, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      for (let i = 0; i < 10; i++) await allowance.record('d', bad);
    }
    // Nothing was learnt: still the stated upper bound.
    expect(await allowance.allowance('d', 4_096)).toBe(4_096);
  });

  it('learns from empty answers (zero output tokens): the floor, not the upper bound', async () => {
    const allowance = fresh();
    for (let i = 0; i < 10; i++) await allowance.record('d', 0);
    expect(await allowance.allowance('d', 4_096)).toBe(256);
  });
});
