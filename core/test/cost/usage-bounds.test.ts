import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/runtime/clock.ts';
import { OutputAllowance } from '../../src/runtime/cost/allowance.ts';
import { usageProblem } from '../../src/runtime/cost/usage.ts';
import { MemoryStore } from '../../src/runtime/state.ts';
import type { Usage } from '../../src/runtime/types.ts';

/** The edges of what a reported usage may be (usage.test.ts has the plain cases). */
describe('usageProblem at its edges', () => {
  const context = { outputLimit: 100, answered: true };

  it('a usage that is not an object is no usage: null, a number, a string', () => {
    for (const value of [null, 42, 'lots']) {
      expect(usageProblem(value as unknown as Usage, context)).toBe('no usage reported');
    }
  });

  it('all input cached is plausible; more than the input is not', () => {
    expect(usageProblem({ inputTokens: 5, outputTokens: 3, cachedInputTokens: 5 }, context)).toBeUndefined();
    expect(usageProblem({ inputTokens: 5, outputTokens: 3, cachedInputTokens: 6 }, context)).toMatch(
      /more cached/,
    );
  });

  it('ten million input tokens is the most that is plausible', () => {
    expect(
      usageProblem({ inputTokens: 10_000_000, outputTokens: 3, cachedInputTokens: 0 }, context),
    ).toBeUndefined();
    expect(usageProblem({ inputTokens: 10_000_001, outputTokens: 3, cachedInputTokens: 0 }, context)).toBe(
      'inputTokens 10000001 is implausible',
    );
  });
});

describe('OutputAllowance ring of recent answers', () => {
  it('keeps only the last 50: once they are all short, the allowance shrinks back', async () => {
    const allowance = new OutputAllowance(new MemoryStore(new VirtualClock()));
    for (let i = 0; i < 50; i++) await allowance.record('d', 1_000);
    expect(await allowance.allowance('d', 4_096)).toBe(2_000);
    for (let i = 0; i < 49; i++) await allowance.record('d', 100);
    // One long answer is still among the last 50.
    expect(await allowance.allowance('d', 4_096)).toBe(2_000);
    await allowance.record('d', 100);
    expect(await allowance.allowance('d', 4_096)).toBe(256);
  });
});
