import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { retrySchema } from '../../src/runtime/config/schema.ts';
import type { ErrorKind, SwitchyardErrorOptions } from '../../src/runtime/errors.ts';
import { SwitchyardError } from '../../src/runtime/errors.ts';
import { backoffDelayMs, retryDelayMs } from '../../src/runtime/policies/backoff.ts';

const retry = (overrides: Record<string, unknown> = {}) =>
  retrySchema.parse({ baseDelayMs: 100, maxDelayMs: 1_000, retryAfterCapMs: 5_000, ...overrides });

const error = (kind: ErrorKind, options: Partial<SwitchyardErrorOptions> = {}) =>
  new SwitchyardError(kind, { message: kind, ...options });

const noRandom = () => {
  throw new Error('random must not be consulted here');
};

describe('backoffDelayMs', () => {
  it("grows exponentially up to the cap with jitter 'none'", () => {
    const config = { baseDelayMs: 100, maxDelayMs: 1_000, jitter: 'none' as const };
    const delays = [1, 2, 3, 4, 5, 6].map((n) => backoffDelayMs(n, config, noRandom));
    expect(delays).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('scales the capped exponential by random() with full jitter', () => {
    const config = { baseDelayMs: 100, maxDelayMs: 1_000, jitter: 'full' as const };
    expect([1, 2, 3, 4, 5].map((n) => backoffDelayMs(n, config, () => 0.5))).toEqual([
      50, 100, 200, 400, 500,
    ]);
    expect(backoffDelayMs(3, config, () => 0)).toBe(0);
    expect(backoffDelayMs(3, config, () => 0.999_999)).toBe(399);
  });

  it('keeps every full-jitter delay within [0, min(max, base * 2^(n-1))]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2_000 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (n, baseDelayMs, maxDelayMs, r) => {
          const delay = backoffDelayMs(n, { baseDelayMs, maxDelayMs, jitter: 'full' }, () => r);
          const ceiling = backoffDelayMs(n, { baseDelayMs, maxDelayMs, jitter: 'none' }, noRandom);
          expect(ceiling).toBe(Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(n - 1, 52)));
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(ceiling);
        },
      ),
    );
  });

  it('stays finite for a zero base and huge retry numbers', () => {
    expect(backoffDelayMs(5_000, { baseDelayMs: 0, maxDelayMs: 1_000, jitter: 'none' }, noRandom)).toBe(0);
    expect(backoffDelayMs(5_000, { baseDelayMs: 10, maxDelayMs: 1_000, jitter: 'none' }, noRandom)).toBe(
      1_000,
    );
  });
});

describe('retryDelayMs', () => {
  it('backs off for a retryable error without Retry-After', () => {
    expect(retryDelayMs(error('server_error'), 2, retry({ jitter: 'none' }), noRandom)).toEqual({
      action: 'retry',
      delayMs: 200,
      reason: 'backoff',
    });
    expect(retryDelayMs(error('network'), 1, retry(), () => 0.5)).toEqual({
      action: 'retry',
      delayMs: 50,
      reason: 'backoff',
    });
  });

  it('honours Retry-After exactly when it is within the cap (cap included)', () => {
    const config = retry();
    expect(retryDelayMs(error('rate_limited', { retryAfterMs: 1_234 }), 1, config, noRandom)).toEqual({
      action: 'retry',
      delayMs: 1_234,
      reason: 'retry-after',
    });
    // Retry-After is not bounded by maxDelayMs and not jittered: the provider asked for it.
    expect(retryDelayMs(error('overloaded', { retryAfterMs: 5_000 }), 2, config, noRandom)).toEqual({
      action: 'retry',
      delayMs: 5_000,
      reason: 'retry-after',
    });
    expect(retryDelayMs(error('rate_limited', { retryAfterMs: 0 }), 1, config, noRandom)).toEqual({
      action: 'retry',
      delayMs: 0,
      reason: 'retry-after',
    });
  });

  it('falls back instead of sleeping when Retry-After exceeds the cap', () => {
    expect(retryDelayMs(error('rate_limited', { retryAfterMs: 5_001 }), 1, retry(), noRandom)).toEqual({
      action: 'fallback',
      reason: 'retry-after-over-cap',
    });
  });

  it('never retries non-retryable kinds, Retry-After or not', () => {
    for (const kind of ['bad_request', 'auth', 'quota_exhausted', 'context_overflow', 'cancelled'] as const) {
      expect(retryDelayMs(error(kind, { retryAfterMs: 10 }), 1, retry(), noRandom)).toEqual({
        action: 'fallback',
        reason: 'not-retryable',
      });
    }
  });

  it('lets retryOn replace the kind defaults', () => {
    const config = retry({ retryOn: ['timeout', 'quota_exhausted'], jitter: 'none' });
    expect(retryDelayMs(error('server_error'), 1, config, noRandom)).toEqual({
      action: 'fallback',
      reason: 'not-retryable',
    });
    expect(retryDelayMs(error('timeout'), 1, config, noRandom)).toMatchObject({ action: 'retry' });
    expect(retryDelayMs(error('quota_exhausted'), 1, config, noRandom)).toMatchObject({ action: 'retry' });
  });

  it("keeps an adapter's explicit per-error verdict over retryOn", () => {
    const config = retry({ retryOn: ['server_error'] });
    const told = error('server_error', { retryable: false });
    expect(retryDelayMs(told, 1, config, noRandom)).toEqual({ action: 'fallback', reason: 'not-retryable' });
  });

  it('counts the first attempt against maxAttempts', () => {
    const config = retry({ maxAttempts: 3, jitter: 'none' });
    expect(retryDelayMs(error('timeout'), 1, config, noRandom).action).toBe('retry');
    expect(retryDelayMs(error('timeout'), 2, config, noRandom).action).toBe('retry');
    expect(retryDelayMs(error('timeout'), 3, config, noRandom)).toEqual({
      action: 'fallback',
      reason: 'attempts-exhausted',
    });
    expect(retryDelayMs(error('timeout'), 1, retry({ maxAttempts: 1 }), noRandom)).toEqual({
      action: 'fallback',
      reason: 'attempts-exhausted',
    });
  });
});

// Issue 10, defect 3: a Retry-After whose sleep would end after the request's total deadline was slept
// anyway; the request died with a timeout and its fallback was never tried.
describe('retryDelayMs against the time left', () => {
  const config = retry({ jitter: 'none' });
  it('falls back at once when a Retry-After would not end before the deadline', () => {
    const throttled = error('rate_limited', { retryAfterMs: 3_000 });
    expect(retryDelayMs(throttled, 1, config, noRandom, 3_001)).toEqual({
      action: 'retry',
      delayMs: 3_000,
      reason: 'retry-after',
    });
    expect(retryDelayMs(throttled, 1, config, noRandom, 3_000)).toEqual({
      action: 'fallback',
      reason: 'retry-after-past-deadline',
    });
  });

  it('does the same for a backoff sleep', () => {
    expect(retryDelayMs(error('server_error'), 2, config, noRandom, 150)).toEqual({
      action: 'fallback',
      reason: 'backoff-past-deadline',
    });
    expect(retryDelayMs(error('server_error'), 2, config, noRandom, 250)).toMatchObject({ action: 'retry' });
  });
});
