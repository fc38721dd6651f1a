import type { Clock } from '../clock.ts';

export interface RetryBudgetConfig {
  /** Retries allowed per request seen in the window (0.2 = retries may add at most 20% load). */
  ratio: number;
  /** Retries always allowed per second of window, so quiet traffic can still retry. */
  minRetriesPerSecond: number;
  windowMs: number;
}

/**
 * A retry budget (Finagle / Envoy style) against retry storms: over a sliding window, retries must
 * stay within `ratio * requests + minRetriesPerSecond * windowSeconds`. When a provider goes down,
 * per-call retry limits alone would multiply the load on it by maxAttempts; the budget caps the
 * extra load at `ratio` and lets the rest fall back at once.
 *
 * The window is a ring of fixed buckets on the clock, so every call is O(1) (at most `buckets`
 * buckets are cleared when time jumps). Counts live in-process: a retry storm is a local effect,
 * and the budget is consulted on every attempt, too hot a path for a shared store.
 *
 * Call `recordRequest()` once per logical request (not per retry) and `tryAcquireRetry()` before
 * each retry; a refused retry should move on to the fallback.
 */
export class RetryBudget {
  readonly #clock: Clock;
  readonly #ratio: number;
  readonly #reserve: number;
  readonly #bucketMs: number;
  readonly #requests: number[];
  readonly #retries: number[];
  #epoch: number;
  #requestTotal = 0;
  #retryTotal = 0;

  constructor(clock: Clock, config: RetryBudgetConfig, buckets = 10) {
    if (!(config.windowMs > 0)) throw new RangeError('RetryBudget windowMs must be positive');
    if (!Number.isInteger(buckets) || buckets < 1)
      throw new RangeError('RetryBudget buckets must be a positive integer');
    this.#clock = clock;
    this.#ratio = config.ratio;
    this.#reserve = config.minRetriesPerSecond * (config.windowMs / 1000);
    this.#bucketMs = config.windowMs / buckets;
    this.#requests = new Array<number>(buckets).fill(0);
    this.#retries = new Array<number>(buckets).fill(0);
    this.#epoch = this.#epochAt(clock.now());
  }

  recordRequest(): void {
    const slot = this.#slide();
    this.#requests[slot]!++;
    this.#requestTotal++;
  }

  /** Takes one retry from the budget; false means the retry must not happen. */
  tryAcquireRetry(): boolean {
    const slot = this.#slide();
    if (this.#retryTotal + 1 > this.#ratio * this.#requestTotal + this.#reserve) return false;
    this.#retries[slot]!++;
    this.#retryTotal++;
    return true;
  }

  /** Requests and retries currently counted in the window (for traces and tests). */
  snapshot(): { requests: number; retries: number; allowance: number } {
    this.#slide();
    return {
      requests: this.#requestTotal,
      retries: this.#retryTotal,
      allowance: this.#ratio * this.#requestTotal + this.#reserve,
    };
  }

  #epochAt(ms: number): number {
    return Math.floor(ms / this.#bucketMs);
  }

  /** Expires the buckets that fell out of the window and returns the current bucket's index. */
  #slide(): number {
    const size = this.#requests.length;
    const epoch = this.#epochAt(this.#clock.now());
    // A clock that steps back keeps using the current bucket rather than resurrecting old ones.
    if (epoch > this.#epoch) {
      const steps = Math.min(epoch - this.#epoch, size);
      for (let i = 1; i <= steps; i++) {
        const slot = (this.#epoch + i) % size;
        this.#requestTotal -= this.#requests[slot]!;
        this.#retryTotal -= this.#retries[slot]!;
        this.#requests[slot] = 0;
        this.#retries[slot] = 0;
      }
      this.#epoch = epoch;
    }
    return this.#epoch % size;
  }
}
