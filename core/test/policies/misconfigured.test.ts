import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/runtime/clock.ts';
import { LatencyTracker } from '../../src/runtime/policies/latency.ts';
import { RetryBudget } from '../../src/runtime/policies/retry-budget.ts';
import { MemoryStore } from '../../src/runtime/state.ts';

/** A policy built with impossible settings refuses with a message that names the setting. */
describe('misconfigured policies name what is wrong', () => {
  const clock = new VirtualClock();

  it('LatencyTracker: alpha outside (0, 1], windowSize below 1 or fractional', () => {
    const store = new MemoryStore(clock);
    for (const alpha of [0, -0.1, 1.5, Number.NaN]) {
      expect(() => new LatencyTracker(store, clock, { alpha })).toThrow('alpha must be in (0, 1]');
    }
    for (const windowSize of [0, -3, 2.5]) {
      expect(() => new LatencyTracker(store, clock, { windowSize })).toThrow('windowSize must be ≥ 1');
    }
  });

  it('RetryBudget: a window that is not positive, buckets that are not a positive integer', () => {
    const config = { ratio: 0.2, minRetriesPerSecond: 1, windowMs: 10_000 };
    for (const windowMs of [0, -1, Number.NaN]) {
      expect(() => new RetryBudget(clock, { ...config, windowMs })).toThrow(
        'RetryBudget windowMs must be positive',
      );
    }
    for (const buckets of [0, -2, 1.5]) {
      expect(() => new RetryBudget(clock, config, buckets)).toThrow(
        'RetryBudget buckets must be a positive integer',
      );
    }
  });
});
