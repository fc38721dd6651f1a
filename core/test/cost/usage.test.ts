import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/runtime/clock.ts';
import { OutputAllowance } from '../../src/runtime/cost/allowance.ts';
import { estimatedUsage, usageProblem } from '../../src/runtime/cost/usage.ts';
import { MemoryStore } from '../../src/runtime/state.ts';
import type { Usage } from '../../src/runtime/types.ts';

const usage = (inputTokens: number, outputTokens: number, cachedInputTokens = 0): Usage => ({
  inputTokens,
  outputTokens,
  cachedInputTokens,
});
const answered = { outputLimit: 100, answered: true };

describe('usageProblem', () => {
  it('accepts a plausible usage', () => {
    expect(usageProblem(usage(50, 100, 20), answered)).toBeUndefined();
    expect(usageProblem(usage(50, 0), { outputLimit: undefined, answered: false })).toBeUndefined();
  });

  it.each([
    ['missing', undefined, /no usage/],
    ['negative', usage(-1, 3), /inputTokens is -1/],
    ['NaN', usage(5, Number.NaN), /outputTokens is NaN/],
    ['Infinity', usage(5, Number.POSITIVE_INFINITY), /outputTokens is Infinity/],
    [
      'a string',
      { ...usage(5, 3), cachedInputTokens: '2' as unknown as number },
      /cachedInputTokens is string/,
    ],
    ['no input', usage(0, 3), /no input tokens/],
    ['no output for an answer', usage(5, 0), /no output tokens/],
    ['more cached than input', usage(5, 3, 6), /more cached/],
    ['absurd input', usage(1e12, 3), /implausible/],
    ['above the output limit', usage(5, 101), /above the output limit 100/],
  ])('rejects %s', (_, value, why) => {
    expect(usageProblem(value as Usage | undefined, answered)).toMatch(why);
  });
});

describe('estimatedUsage', () => {
  it('counts the output with the tokenizer, capped at the output limit', () => {
    expect(estimatedUsage(12, 'Hello there friend', undefined)).toEqual(usage(12, 3));
    expect(estimatedUsage(12, 'Hello there friend', 2)).toEqual(usage(12, 2));
    expect(estimatedUsage(12, '', undefined)).toEqual(usage(12, 0));
  });
});

// Issue 10, defect 11: the output a budgeted request without max_tokens reserves.
describe('OutputAllowance', () => {
  it('is the upper bound until 10 answers were seen, then twice the longest (at least 256, at most the bound)', async () => {
    const allowance = new OutputAllowance(new MemoryStore(new VirtualClock()));
    for (let i = 0; i < 9; i++) await allowance.record('d', 100);
    expect(await allowance.allowance('d', 4_096)).toBe(4_096);
    await allowance.record('d', 300);
    expect(await allowance.allowance('d', 4_096)).toBe(600);
    expect(await allowance.allowance('d', 500)).toBe(500);
    expect(await allowance.allowance('other', 1_000)).toBe(1_000);
    const short = new OutputAllowance(new MemoryStore(new VirtualClock()));
    for (let i = 0; i < 10; i++) await short.record('d', 5);
    expect(await short.allowance('d', 4_096)).toBe(256);
  });

  it('forgets answers older than the window of the last 50', async () => {
    const allowance = new OutputAllowance(new MemoryStore(new VirtualClock()));
    await allowance.record('d', 2_000);
    for (let i = 0; i < 50; i++) await allowance.record('d', 200);
    expect(await allowance.allowance('d', 4_096)).toBe(400);
  });
});
