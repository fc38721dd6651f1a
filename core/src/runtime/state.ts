import type { Clock } from './clock.ts';

/**
 * Where the runtime keeps state that several router replicas would need to share: breaker
 * states, budget ledgers, latency statistics and cached responses. The in-memory store serves one
 * process; a shared store (e.g. Redis, with WATCH/MULTI for `update`) can replace it without
 * touching the policies, which only ever use these four operations.
 */
export interface StateStore {
  get<T>(key: string): Promise<T | undefined>;
  set<T>(key: string, value: T, ttlMs?: number): Promise<void>;
  delete(key: string): Promise<void>;
  /**
   * Atomically reads the current value, computes the next one and stores it. If `fn` throws,
   * nothing is written and the error propagates (how a budget refuses a reservation). `fn` may
   * modify `current` and return it, provided it throws before modifying anything: a store passes
   * each invocation a value no one else is changing (the memory store its own entry, with no await
   * in between; a shared store a freshly decoded copy, again on every retry).
   */
  update<T>(key: string, fn: (current: T | undefined) => T, ttlMs?: number): Promise<T>;
}

interface Entry {
  value: unknown;
  expiresAt: number | undefined;
}

/** Below this many entries MemoryStore never sweeps (reads still drop what they find expired). */
const SWEEP_MIN_ENTRIES = 1_024;

export class MemoryStore implements StateStore {
  readonly #entries = new Map<string, Entry>();
  readonly #clock: Clock;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  #read<T>(key: string): T | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= this.#clock.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value as T;
  }

  #write(key: string, value: unknown, ttlMs: number | undefined): void {
    const expiresAt = ttlMs === undefined ? undefined : this.#clock.now() + ttlMs;
    const entry = this.#entries.get(key);
    if (entry) {
      // Rewritten in place: policies update a few keys on every request, a new entry each time was garbage.
      entry.value = value;
      entry.expiresAt = expiresAt;
      return;
    }
    this.#entries.set(key, { value, expiresAt });
    if (this.#entries.size >= this.#sweepAt) this.#sweep();
  }

  /**
   * Expired entries were only dropped when read again, so a key never read again (a cached answer to
   * a one-off prompt) stayed in memory forever: the map grew by one entry per unique cached request
   * (found by core/test/hardening/soak.test.ts). Sweep them whenever the map has doubled since the
   * last sweep: amortised O(1) per write, and memory bounded by twice the live entries.
   */
  #sweepAt = SWEEP_MIN_ENTRIES;

  #sweep(): void {
    const now = this.#clock.now();
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt !== undefined && entry.expiresAt <= now) this.#entries.delete(key);
    }
    this.#sweepAt = Math.max(SWEEP_MIN_ENTRIES, this.#entries.size * 2);
  }

  async get<T>(key: string): Promise<T | undefined> {
    return this.#read<T>(key);
  }

  async set<T>(key: string, value: T, ttlMs?: number): Promise<void> {
    this.#write(key, value, ttlMs);
  }

  async delete(key: string): Promise<void> {
    this.#entries.delete(key);
  }

  async update<T>(key: string, fn: (current: T | undefined) => T, ttlMs?: number): Promise<T> {
    // Read, compute and write with no await in between: atomic on one event loop.
    const next = fn(this.#read<T>(key));
    this.#write(key, next, ttlMs);
    return next;
  }

  /** Number of live entries (for tests and memory checks). */
  get size(): number {
    return this.#entries.size;
  }
}
