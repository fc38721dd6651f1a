import type { RetryConfig } from '../config/schema.ts';
import type { SwitchyardError } from '../errors.ts';
import { ERROR_KIND_DEFAULTS } from '../errors.ts';

/**
 * Retry timing: exponential backoff with full jitter (AWS "Exponential Backoff and Jitter"):
 * delay = random() * min(maxDelayMs, baseDelayMs * 2^(n-1)). Full jitter spreads the retries of
 * many clients that failed together over the whole interval instead of re-synchronising them.
 */

// 2^52 is already far beyond any sane cap; clamping keeps `0 * 2^n` from becoming NaN (0 * Infinity).
const MAX_EXPONENT = 52;

/** Delay before retry number `retryNumber` (1 = the first retry, i.e. the second attempt). */
export function backoffDelayMs(
  retryNumber: number,
  config: Pick<RetryConfig, 'baseDelayMs' | 'maxDelayMs' | 'jitter'>,
  random: () => number,
): number {
  const exponent = Math.min(Math.max(0, Math.floor(retryNumber) - 1), MAX_EXPONENT);
  const ceiling = Math.min(config.maxDelayMs, config.baseDelayMs * 2 ** exponent);
  if (config.jitter === 'none') return ceiling;
  // Clamp in case a stubbed random strays outside [0, 1); whole milliseconds read better in traces.
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.floor(r * ceiling);
}

export type RetryDecision =
  | { action: 'retry'; delayMs: number; reason: 'retry-after' | 'backoff' }
  | {
      action: 'fallback';
      reason:
        | 'retry-after-over-cap'
        | 'retry-after-past-deadline'
        | 'backoff-past-deadline'
        | 'not-retryable'
        | 'attempts-exhausted';
    };

/**
 * Whether this deployment may be tried again for `error`. `config.retryOn` replaces the kind
 * defaults; an adapter's explicit per-error verdict (an `error.retryable` that differs from its
 * kind's default, e.g. from `x-should-retry`) still wins, because it knows more than the config.
 */
export function isRetryable(error: SwitchyardError, config: Pick<RetryConfig, 'retryOn'>): boolean {
  const kindDefault = ERROR_KIND_DEFAULTS[error.kind].retryable;
  if (error.retryable !== kindDefault) return error.retryable;
  return config.retryOn ? config.retryOn.includes(error.kind) : kindDefault;
}

/**
 * What to do after attempt number `retryNumber` failed with `error` (so `retryNumber` is also the
 * number of the retry being considered: 1 after the first attempt). `maxAttempts` counts the first
 * attempt, so at most `maxAttempts - 1` retries happen. `timeLeftMs` is what remains of the
 * request's total deadline: a wait that would not end before it falls back at once instead, since
 * the request would die asleep and its fallback would never be tried.
 */
export function retryDelayMs(
  error: SwitchyardError,
  retryNumber: number,
  config: RetryConfig,
  random: () => number,
  timeLeftMs = Number.POSITIVE_INFINITY,
): RetryDecision {
  if (!isRetryable(error, config)) return { action: 'fallback', reason: 'not-retryable' };
  if (retryNumber >= config.maxAttempts) return { action: 'fallback', reason: 'attempts-exhausted' };
  if (error.retryAfterMs !== undefined && Number.isFinite(error.retryAfterMs)) {
    // A provider that names a wait longer than we accept is better left for another deployment.
    if (error.retryAfterMs > config.retryAfterCapMs)
      return { action: 'fallback', reason: 'retry-after-over-cap' };
    const delayMs = Math.max(0, error.retryAfterMs);
    if (delayMs >= timeLeftMs) return { action: 'fallback', reason: 'retry-after-past-deadline' };
    return { action: 'retry', delayMs, reason: 'retry-after' };
  }
  const delayMs = backoffDelayMs(retryNumber, config, random);
  if (delayMs >= timeLeftMs) return { action: 'fallback', reason: 'backoff-past-deadline' };
  return { action: 'retry', delayMs, reason: 'backoff' };
}
