/**
 * Small composable resilience policies: backoff, retry budget, circuit breakers, deadlines and
 * latency statistics. They are our own rather than cockatiel's because cockatiel 4 calls
 * Date.now()/setTimeout directly (no injectable clock) and keeps breaker state in-process; here all
 * time goes through the injected Clock (so a VirtualClock drives them deterministically) and shared
 * state goes through the StateStore (so router replicas share breakers and latency statistics).
 */
export type { RetryDecision } from './backoff.ts';
export { backoffDelayMs, isRetryable, retryDelayMs } from './backoff.ts';
export type {
  BreakerAcquire,
  BreakerState,
  BreakerTransition,
  CircuitBreakersOptions,
} from './breaker.ts';
export { CircuitBreakers, DEFAULT_BREAKER_COUNT_KINDS } from './breaker.ts';
export { AttemptDeadline, RequestDeadline } from './deadline.ts';
export type { LatencySample, LatencyStats, LatencyTrackerOptions } from './latency.ts';
export { LatencyTracker } from './latency.ts';
export type { RetryBudgetConfig } from './retry-budget.ts';
export { RetryBudget } from './retry-budget.ts';
