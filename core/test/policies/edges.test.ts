import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/runtime/clock.ts';
import { breakerSchema, retrySchema } from '../../src/runtime/config/schema.ts';
import { SwitchyardError } from '../../src/runtime/errors.ts';
import { retryDelayMs } from '../../src/runtime/policies/backoff.ts';
import { CircuitBreakers } from '../../src/runtime/policies/breaker.ts';
import { Cooldowns } from '../../src/runtime/policies/cooldown.ts';
import { AttemptDeadline, RequestDeadline } from '../../src/runtime/policies/deadline.ts';
import { LatencyTracker } from '../../src/runtime/policies/latency.ts';
import { RetryBudget } from '../../src/runtime/policies/retry-budget.ts';
import { MemoryStore } from '../../src/runtime/state.ts';
import { timeouts } from './timeouts.ts';

/**
 * The policies at the edges their unit tests beside this file leave open: boundaries (a rate met
 * exactly, a delay equal to the time left), time spread over a window, the exact words of their
 * errors. Written against the mutants `npm run mutation` found surviving (docs/mutation.md).
 */
const ID = 'd';

function breakers(overrides: Record<string, unknown>) {
  const clock = new VirtualClock(Date.UTC(2026, 0, 1));
  const store = new MemoryStore(clock);
  return { clock, breakers: new CircuitBreakers(store, clock, breakerSchema.parse(overrides)) };
}

async function record(
  b: CircuitBreakers,
  outcome: 'success' | 'failure' | 'slow',
  times: number,
  durationMs?: number,
) {
  for (let i = 0; i < times; i++) await b.record(ID, outcome, false, durationMs);
}

describe('a rate-mode breaker over time', () => {
  const rate = { mode: 'rate', failureRate: 0.5, minimumRequests: 6, windowMs: 10_000 };

  it('counts outcomes spread over its window (not only those of one instant)', async () => {
    const { clock, breakers: b } = breakers(rate);
    for (let i = 0; i < 6; i++) {
      await record(b, 'failure', 1);
      await clock.advance(1_000);
    }
    expect(await b.state(ID)).toBe('open');
  });

  it('files each outcome under the time it happened: old successes leave the window, later failures stay', async () => {
    const { clock, breakers: b } = breakers(rate);
    await record(b, 'success', 5);
    await clock.advance(9_000);
    await record(b, 'failure', 4);
    expect(await b.state(ID)).toBe('closed'); // 4 / 9
    await clock.advance(1_500);
    // The successes (t = 0) slid out; the four failures (t = 9 s) did not.
    await record(b, 'failure', 2);
    expect(await b.state(ID)).toBe('open'); // 6 / 6
  });

  it('opens when the slow share meets slowCallRate exactly; slowCallRate 0 never trips on fast calls', async () => {
    const exact = breakers({ ...rate, minimumRequests: 10, failureRate: 1, slowCallRate: 0.5 }).breakers;
    await record(exact, 'success', 5);
    await record(exact, 'slow', 4);
    await record(exact, 'success', 1);
    expect(await exact.state(ID)).toBe('closed'); // 4 / 10
    await record(exact, 'slow', 2);
    expect(await exact.state(ID)).toBe('open'); // 6 / 12
    const never = breakers({ ...rate, failureRate: 1, slowCallRate: 0 }).breakers;
    await record(never, 'success', 20);
    expect(await never.state(ID)).toBe('closed');
  });

  it('slowCallMs makes a slow success slow, and only a success: a slow failure is still a failure', async () => {
    const slowOnly = breakers({
      ...rate,
      minimumRequests: 4,
      failureRate: 1,
      slowCallRate: 0.5,
      slowCallMs: 1_000,
    });
    await record(slowOnly.breakers, 'success', 4, 2_000);
    expect(await slowOnly.breakers.state(ID)).toBe('open');
    const failures = breakers({
      ...rate,
      minimumRequests: 10,
      failureRate: 0.5,
      slowCallRate: 0.9,
      slowCallMs: 1_000,
    });
    await record(failures.breakers, 'success', 5, 10);
    await record(failures.breakers, 'failure', 5, 2_000);
    expect(await failures.breakers.state(ID)).toBe('open'); // 5 failures / 10, not 5 slow
  });
});

describe('breaker settings', () => {
  it('says whether it is enabled', () => {
    expect(breakers({}).breakers.enabled).toBe(true);
    expect(breakers({ enabled: false }).breakers.enabled).toBe(false);
  });

  it('counts a malformed answer as a failure by default', () => {
    const b = breakers({}).breakers;
    expect(b.countsAsFailure(new SwitchyardError('malformed_response', { message: 'x' }))).toBe(true);
    expect(b.countsAsFailure(new SwitchyardError('overloaded', { message: 'x' }))).toBe(true);
    expect(b.countsAsFailure(new SwitchyardError('timeout', { message: 'x' }))).toBe(true);
  });
});

describe('retry decisions at their edges', () => {
  const config = retrySchema.parse({
    baseDelayMs: 100,
    maxDelayMs: 1_000,
    retryAfterCapMs: 5_000,
    jitter: 'none',
  });
  const limited = (retryAfterMs: number) =>
    new SwitchyardError('rate_limited', { message: 'x', retryAfterMs, retryable: true });

  it('a Retry-After that is not a finite number is ignored: plain backoff', () => {
    for (const retryAfterMs of [Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(retryDelayMs(limited(retryAfterMs), 1, config, () => 0.5)).toEqual({
        action: 'retry',
        delayMs: 100,
        reason: 'backoff',
      });
    }
  });

  it('a backoff that would end exactly when the time runs out is not slept', () => {
    const error = new SwitchyardError('server_error', { message: 'x', retryable: true });
    expect(retryDelayMs(error, 1, config, () => 0.5, 100)).toEqual({
      action: 'fallback',
      reason: 'backoff-past-deadline',
    });
    expect(retryDelayMs(error, 1, config, () => 0.5, 101)).toMatchObject({ action: 'retry', delayMs: 100 });
  });
});

describe('cooldowns of equal length', () => {
  it('keep the one already running, and start() answers the one in force', async () => {
    const clock = new VirtualClock();
    const cooldowns = new Cooldowns(new MemoryStore(clock), clock);
    const now = clock.now();
    expect(await cooldowns.start(ID, 2_000, 'quota')).toEqual({ until: now + 2_000, reason: 'quota' });
    expect(await cooldowns.start(ID, 2_000, 'retry-after')).toEqual({ until: now + 2_000, reason: 'quota' });
    expect(await cooldowns.start(ID, 3_000, 'retry-after')).toEqual({
      until: now + 3_000,
      reason: 'retry-after',
    });
  });
});

describe('deadline errors say which wait ran out, and for how long', () => {
  const fired = async (streaming: boolean, steps: (d: AttemptDeadline) => void, waitMs: number) => {
    const clock = new VirtualClock();
    const deadline = new AttemptDeadline(clock, timeouts, new AbortController().signal, { streaming });
    steps(deadline);
    await clock.advance(waitMs);
    return (deadline.signal.reason as SwitchyardError).message;
  };

  it('each phase of an attempt, and the attempt as a whole', async () => {
    expect(await fired(false, () => {}, 1_000)).toBe('No response headers within 1000 ms');
    expect(await fired(true, (d) => d.headersReceived(), 2_000)).toBe('No first token within 2000 ms');
    expect(
      await fired(
        true,
        (d) => {
          d.headersReceived();
          d.chunkReceived();
        },
        500,
      ),
    ).toBe('Stream idle for more than 500 ms');
    expect(await fired(false, (d) => d.headersReceived(), 700)).toBe(
      'Response body idle for more than 700 ms',
    );
    const clock = new VirtualClock();
    const attempt = new AttemptDeadline(clock, timeouts, new AbortController().signal, { streaming: true });
    attempt.headersReceived();
    for (let t = 0; t < 10_000; t += 400) {
      attempt.chunkReceived();
      await clock.advance(400);
    }
    expect((attempt.signal.reason as SwitchyardError).message).toBe('Attempt did not finish within 10000 ms');
  });

  it('the request: when it ends, and that it ran out', async () => {
    const clock = new VirtualClock(5_000);
    const request = new RequestDeadline(clock, 30_000);
    expect(request.endsAt).toBe(35_000);
    await clock.advance(30_000);
    expect(request.signal.reason).toMatchObject({
      kind: 'timeout',
      message: 'request exceeded its total deadline of 30000 ms',
      retryable: false,
      fallbackable: false,
    });
  });
});

describe('deadline phases move only forward', () => {
  it('headers reported again mid-stream do not restart the first-token wait', async () => {
    const clock = new VirtualClock();
    const deadline = new AttemptDeadline(clock, timeouts, new AbortController().signal, { streaming: true });
    deadline.headersReceived();
    deadline.chunkReceived();
    deadline.headersReceived();
    expect(deadline.phase).toBe('idle');
    await clock.advance(500);
    expect(deadline.signal.reason).toMatchObject({ timeoutPhase: 'idle' });
  });

  it('a body chunk of a stream (or before headers) does not replace the headers wait', async () => {
    const clock = new VirtualClock();
    const deadline = new AttemptDeadline(clock, timeouts, new AbortController().signal, { streaming: true });
    deadline.bodyChunkReceived();
    await clock.advance(700);
    expect(deadline.signal.aborted).toBe(false);
    await clock.advance(300);
    expect(deadline.signal.reason).toMatchObject({ timeoutPhase: 'headers' });
  });
});

describe('latency statistics', () => {
  const clock = new VirtualClock();

  it('accept alpha 1 and a window of one sample (the bounds are inclusive)', async () => {
    const tracker = new LatencyTracker(new MemoryStore(clock), clock, { alpha: 1, windowSize: 1 });
    await tracker.record(ID, { latencyMs: 100 });
    await tracker.record(ID, { latencyMs: 300 });
    expect(await tracker.stats(ID)).toMatchObject({ ewmaLatencyMs: 300, p95LatencyMs: 300 });
  });

  it('keep the first sample in the window', async () => {
    const tracker = new LatencyTracker(new MemoryStore(clock), clock);
    await tracker.record(ID, { latencyMs: 1_000 });
    for (let i = 0; i < 9; i++) await tracker.record(ID, { latencyMs: 10 });
    expect((await tracker.stats(ID))!.p95LatencyMs).toBe(1_000);
  });

  it('refuse a sample that is not a time, naming the field', async () => {
    const tracker = new LatencyTracker(new MemoryStore(clock), clock);
    await expect(tracker.record(ID, { latencyMs: -1 })).rejects.toThrow(
      'latencyMs must be a finite, non-negative number',
    );
    await expect(tracker.record(ID, { latencyMs: 1, ttftMs: Number.NaN })).rejects.toThrow(
      'ttftMs must be a finite, non-negative number',
    );
  });
});

describe('retry budget', () => {
  it('works with a single bucket, and its allowance is ratio × requests plus the reserve', () => {
    const clock = new VirtualClock();
    const budget = new RetryBudget(clock, { ratio: 0.2, minRetriesPerSecond: 1, windowMs: 10_000 }, 1);
    for (let i = 0; i < 10; i++) budget.recordRequest();
    expect(budget.snapshot()).toEqual({ requests: 10, retries: 0, allowance: 12 });
  });
});
