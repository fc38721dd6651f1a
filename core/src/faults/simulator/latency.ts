import type { Clock } from '../../runtime/clock.ts';
import type { Rng } from './random.ts';

/**
 * How fast a model answers. TTFT is lognormal (median and log-space spread), throughput is normal
 * (mean and standard deviation), both drawn once per request from the request's seeded RNG.
 */
export interface LatencyProfile {
  /** Median time to first token in ms. 0 means the first token is immediate. */
  ttftMedianMs: number;
  /** Lognormal sigma of TTFT (0 = always the median). 0.3 gives p90 ≈ 1.5 × median. */
  ttftSigma: number;
  /** Mean output tokens per second. Infinity (or 0) means no per-token wait at all. */
  tokensPerSecond: number;
  /** Standard deviation of tokens per second (0 = always the mean). */
  tokensPerSecondSd: number;
}

/** Adds no waiting whatsoever: no clock.sleep is called (benchmarks, fast contract tests). */
export const ZERO_LATENCY: LatencyProfile = Object.freeze({
  ttftMedianMs: 0,
  ttftSigma: 0,
  tokensPerSecond: Number.POSITIVE_INFINITY,
  tokensPerSecondSd: 0,
});

/** One request's drawn latency. */
export interface LatencySample {
  ttftMs: number;
  /** Infinity when tokens cost no time. */
  tokensPerSecond: number;
}

export function sampleLatency(profile: LatencyProfile, rng: Rng): LatencySample {
  // Always draw both values so the RNG stream does not depend on which profile is active.
  const z1 = rng.normal();
  const z2 = rng.normal();
  const ttftMs =
    profile.ttftMedianMs > 0 ? Math.round(profile.ttftMedianMs * Math.exp(profile.ttftSigma * z1)) : 0;
  const mean = profile.tokensPerSecond;
  if (!(mean > 0) || !Number.isFinite(mean)) return { ttftMs, tokensPerSecond: Number.POSITIVE_INFINITY };
  // Floor at a fifth of the mean: a normal tail must never produce zero or negative throughput.
  const tokensPerSecond = Math.max(mean * 0.2, mean + profile.tokensPerSecondSd * z2);
  return { ttftMs, tokensPerSecond };
}

/** Milliseconds that `tokens` output tokens take at the sampled throughput (0 when instantaneous). */
export function tokenTimeMs(tokens: number, sample: LatencySample): number {
  if (tokens <= 0 || !Number.isFinite(sample.tokensPerSecond)) return 0;
  return (tokens / sample.tokensPerSecond) * 1000;
}

/** Sleeps on the clock unless there is nothing to wait for (a zero profile must not schedule timers). */
export function pause(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  if (!(ms > 0)) return Promise.resolve();
  return clock.sleep(ms, signal);
}
