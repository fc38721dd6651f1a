import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/runtime/clock.ts';
import { LatencyTracker } from '../../src/runtime/policies/latency.ts';
import { MemoryStore } from '../../src/runtime/state.ts';

function setup(options = {}) {
  const clock = new VirtualClock();
  const store = new MemoryStore(clock);
  return { clock, store, tracker: new LatencyTracker(store, clock, options) };
}

describe('LatencyTracker', () => {
  it('has no statistics for a deployment never recorded', async () => {
    expect(await setup().tracker.stats('a')).toBeUndefined();
  });

  it('starts the EWMA at the first sample and weighs new samples by alpha (0.3)', async () => {
    const { tracker, store } = setup();
    await tracker.record('a', { latencyMs: 100 });
    expect(await tracker.stats('a')).toMatchObject({ samples: 1, ewmaLatencyMs: 100, ewmaTtftMs: undefined });
    await tracker.record('a', { latencyMs: 200 });
    const stats = await tracker.stats('a');
    expect(stats?.samples).toBe(2);
    expect(stats?.ewmaLatencyMs).toBeCloseTo(130, 10);
    expect(await store.get('latency:a')).toBeDefined();
    expect(await tracker.stats('b')).toBeUndefined();
  });

  it('tracks time to first token only from samples that have one', async () => {
    const { tracker } = setup({ alpha: 0.5 });
    await tracker.record('a', { latencyMs: 1_000 });
    await tracker.record('a', { latencyMs: 1_000, ttftMs: 200 });
    expect((await tracker.stats('a'))?.ewmaTtftMs).toBe(200);
    await tracker.record('a', { latencyMs: 1_000 });
    await tracker.record('a', { latencyMs: 1_000, ttftMs: 400 });
    expect((await tracker.stats('a'))?.ewmaTtftMs).toBe(300);
  });

  it('reports the nearest-rank p95 of the samples', async () => {
    const { tracker } = setup();
    for (let ms = 100; ms >= 1; ms--) await tracker.record('a', { latencyMs: ms });
    expect((await tracker.stats('a'))?.p95LatencyMs).toBe(95);
  });

  it('computes the p95 over the bounded window of recent samples only', async () => {
    const { tracker } = setup({ windowSize: 20 });
    for (let i = 0; i < 50; i++) await tracker.record('a', { latencyMs: 5_000 });
    for (let ms = 1; ms <= 20; ms++) await tracker.record('a', { latencyMs: ms });
    const stats = await tracker.stats('a');
    expect(stats?.samples).toBe(70);
    expect(stats?.p95LatencyMs).toBe(19);
  });

  it('forgets statistics older than maxAgeMs and starts afresh', async () => {
    const { tracker, clock } = setup({ maxAgeMs: 60_000 });
    await tracker.record('a', { latencyMs: 9_000 });
    await clock.advance(59_999);
    expect((await tracker.stats('a'))?.ewmaLatencyMs).toBe(9_000);
    await clock.advance(1);
    expect(await tracker.stats('a')).toBeUndefined();
    await tracker.record('a', { latencyMs: 100 });
    expect(await tracker.stats('a')).toMatchObject({ samples: 1, ewmaLatencyMs: 100, p95LatencyMs: 100 });
  });

  it('rejects impossible samples instead of poisoning the statistics', async () => {
    const { tracker } = setup();
    await expect(tracker.record('a', { latencyMs: Number.NaN })).rejects.toThrow(RangeError);
    await expect(tracker.record('a', { latencyMs: 10, ttftMs: -1 })).rejects.toThrow(RangeError);
    expect(await tracker.stats('a')).toBeUndefined();
  });
});
