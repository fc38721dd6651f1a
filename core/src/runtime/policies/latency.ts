import type { Clock } from '../clock.ts';
import { defineOp, type StateStore } from '../state.ts';

/**
 * Per-deployment latency statistics in the StateStore (shared by replicas): an EWMA of latency
 * and time-to-first-token for least-latency routing, and the p95 over a bounded ring of recent
 * latencies for the hedging delay. The ring keeps memory and the cost of p95 bounded.
 */

export interface LatencySample {
  latencyMs: number;
  /** Time to first token; only streamed attempts have one. */
  ttftMs?: number;
}

export interface LatencyStats {
  /** Samples recorded since the statistics were (re)started. */
  samples: number;
  ewmaLatencyMs: number;
  /** Undefined until a streamed attempt reported a first token. */
  ewmaTtftMs: number | undefined;
  /** Nearest-rank p95 of the last `windowSize` latencies. */
  p95LatencyMs: number;
  lastSampleAt: number;
}

export interface LatencyTrackerOptions {
  /** Weight of the newest sample in the EWMA (0 < alpha ≤ 1). */
  alpha?: number;
  /** Recent samples kept for the p95. */
  windowSize?: number;
  /**
   * Statistics older than this are forgotten, so a deployment that was slow once gets explored again
   * by least-latency routing instead of being starved forever on stale numbers.
   */
  maxAgeMs?: number;
}

interface LatencyRecord {
  samples: number;
  ewmaLatencyMs: number;
  ewmaTtftMs: number | null;
  /** Ring of recent latencies; `next` is where the next one goes once the ring is full. */
  recent: number[];
  next: number;
  lastSampleAt: number;
}

const KEY_PREFIX = 'latency:';

function checkMs(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0)
    throw new RangeError(`${name} must be a finite, non-negative number`);
}

interface RecordArgs extends Record<string, unknown> {
  now: number;
  latencyMs: number;
  ttftMs: number | null;
  alpha: number;
  windowSize: number;
  maxAgeMs: number;
}

/** Adds one sample (the reference implementation; redis-ops.lua runs the same in Redis). */
export const latencyRecord = defineOp<LatencyRecord, RecordArgs, null>(
  'latency',
  'latency.record',
  (current, a) => {
    // Lets the store reclaim statistics of deployments no longer called.
    const ttlMs = a.maxAgeMs;
    const live = current && a.now - current.lastSampleAt < a.maxAgeMs ? current : undefined;
    if (!live) {
      const fresh: LatencyRecord = {
        samples: 1,
        ewmaLatencyMs: a.latencyMs,
        ewmaTtftMs: a.ttftMs,
        recent: [a.latencyMs],
        next: 0,
        lastSampleAt: a.now,
      };
      return { next: fresh, result: null, ttlMs };
    }
    // Updated in place: the store hands `current` to this operation alone, and copying the 200-sample
    // ring on every call was the router's largest allocation per request.
    if (live.recent.length < a.windowSize) {
      live.recent.push(a.latencyMs);
    } else {
      live.recent[live.next] = a.latencyMs;
      live.next = (live.next + 1) % a.windowSize;
    }
    live.samples++;
    live.ewmaLatencyMs = a.alpha * a.latencyMs + (1 - a.alpha) * live.ewmaLatencyMs;
    if (a.ttftMs !== null) {
      live.ewmaTtftMs =
        live.ewmaTtftMs === null ? a.ttftMs : a.alpha * a.ttftMs + (1 - a.alpha) * live.ewmaTtftMs;
    }
    live.lastSampleAt = a.now;
    return { next: live, result: null, ttlMs };
  },
);

/** The record as it is (read-only). */
export const latencyRead = defineOp<LatencyRecord, Record<string, never>, LatencyRecord | null>(
  'latency',
  'latency.read',
  (current) => ({ next: current, result: current ?? null }),
);

export class LatencyTracker {
  readonly #store: StateStore;
  readonly #clock: Clock;
  readonly #alpha: number;
  readonly #windowSize: number;
  readonly #maxAgeMs: number;

  constructor(store: StateStore, clock: Clock, options: LatencyTrackerOptions = {}) {
    this.#store = store;
    this.#clock = clock;
    this.#alpha = options.alpha ?? 0.3;
    this.#windowSize = options.windowSize ?? 200;
    this.#maxAgeMs = options.maxAgeMs ?? 600_000;
    if (!(this.#alpha > 0 && this.#alpha <= 1)) throw new RangeError('alpha must be in (0, 1]');
    if (!Number.isInteger(this.#windowSize) || this.#windowSize < 1)
      throw new RangeError('windowSize must be ≥ 1');
  }

  async record(id: string, sample: LatencySample): Promise<void> {
    checkMs('latencyMs', sample.latencyMs);
    if (sample.ttftMs !== undefined) checkMs('ttftMs', sample.ttftMs);
    await this.#store.run(
      latencyRecord(KEY_PREFIX + id, {
        now: this.#clock.now(),
        latencyMs: sample.latencyMs,
        ttftMs: sample.ttftMs ?? null,
        alpha: this.#alpha,
        windowSize: this.#windowSize,
        maxAgeMs: this.#maxAgeMs,
      }),
    );
  }

  async stats(id: string): Promise<LatencyStats | undefined> {
    const record = await this.#store.run(latencyRead(KEY_PREFIX + id, {}));
    if (!record || this.#clock.now() - record.lastSampleAt >= this.#maxAgeMs) return undefined;
    const sorted = [...record.recent].sort((a, b) => a - b);
    return {
      samples: record.samples,
      ewmaLatencyMs: record.ewmaLatencyMs,
      ewmaTtftMs: record.ewmaTtftMs ?? undefined,
      p95LatencyMs: sorted[Math.ceil(0.95 * sorted.length) - 1]!,
      lastSampleAt: record.lastSampleAt,
    };
  }
}
