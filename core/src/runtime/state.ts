import type { Clock } from './clock.ts';

/**
 * Where the runtime keeps state that several router replicas share: breaker states, budget ledgers,
 * cooldowns, latency statistics, round-robin counters, learned parameter rewrites and cached
 * responses. `MemoryStore` serves one process; `RedisStore` (state/redis.ts) serves many.
 *
 * A state change is a named operation, not a closure: `{ kind, name, key, args }` plus the
 * reference implementation `apply`. The memory store runs `apply`; a shared store runs its own
 * implementation of the same name where the data lives (RedisStore: one Lua function per name), so
 * every change is one atomic step with no optimistic retry loop. Both are held to the same contract
 * suite (core/test/runtime/state-contract.test.ts). Arguments are plain JSON and carry the router's
 * clock (`now`): expiry is stored with the value and judged against that clock, so a virtual clock
 * stays deterministic whatever the store's own clock says.
 */
export interface StateStore {
  /** Runs one operation atomically and returns its result. */
  run<R>(op: StateOp<R>): Promise<R>;
  /**
   * Runs operations in order, atomically as a whole and in one round trip, stopping after the first
   * whose result says `stop: true` (the gate: cooldown, breaker, budget). Results of the operations
   * that ran, in order.
   */
  runAll(ops: readonly StateOp[]): Promise<unknown[]>;
  /** Plain values (cached answers): expiry is the caller's business; `ttlMs` is only a safety net. */
  get<T>(key: string): Promise<T | undefined>;
  set<T>(key: string, value: T, ttlMs?: number): Promise<void>;
  delete(key: string): Promise<void>;
  /**
   * Stores whose answers arrive over the network: waits for the operations in flight and delivers
   * their results; returns how many it delivered. A scenario driver on a virtual clock calls it
   * between event-loop turns, so results enter the run at the same points whatever the network's
   * timing (see RedisStore's `hold` option).
   */
  settle?(): Promise<number>;
  /** Releases connections (a shared store); the memory store has nothing to release. */
  close?(): Promise<void>;
}

/**
 * Kinds of state, each with its own policy when a shared store cannot be reached (RedisStore's
 * `onUnavailable`): budgets fail closed by default, the others fall back to local state.
 */
export const STATE_KINDS = ['budget', 'breaker', 'cooldown', 'latency', 'routing', 'cache'] as const;
export type StateKind = (typeof STATE_KINDS)[number];

/** What an operation does to its record: the next record (undefined deletes it) and its answer. */
export interface OpOutcome<R> {
  next: unknown;
  result: R;
  /** Safety-net expiry of the record (the store's own clock); undefined keeps none. */
  ttlMs?: number;
}

/** A named, atomic state change: data plus the reference implementation (see StateStore). */
export interface StateOp<R = unknown, A extends Record<string, unknown> = Record<string, unknown>> {
  readonly kind: StateKind;
  /** A shared store runs its own implementation of this name (RedisStore: redis-ops.lua). */
  readonly name: string;
  readonly key: string;
  /** Plain JSON. */
  readonly args: A;
  /**
   * The reference implementation, run by MemoryStore with the record it holds (which it may modify
   * in place: nobody else sees it during the call).
   */
  apply(current: unknown, args: A): OpOutcome<R>;
}

/** Builds operations of one name: `op(key, args)`. */
export function defineOp<S, A extends Record<string, unknown>, R>(
  kind: StateKind,
  name: string,
  apply: (current: S | undefined, args: A) => OpOutcome<R>,
): (key: string, args: A) => StateOp<R, A> {
  const run = apply as StateOp<R, A>['apply'];
  return (key, args) => ({ kind, name, key, args, apply: run });
}

/** Whether a result asks a sequence (runAll) to stop. */
export function stopsSequence(result: unknown): boolean {
  return typeof result === 'object' && result !== null && (result as { stop?: unknown }).stop === true;
}

interface Entry {
  value: unknown;
  expiresAt: number | undefined;
}

/** Below this many entries MemoryStore never sweeps (reads still drop what they find expired). */
const SWEEP_MIN_ENTRIES = 1_024;

/** The reference store: one process, records kept as objects (operations modify them in place). */
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
    if (value === undefined) {
      this.#entries.delete(key);
      return;
    }
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

  /** Synchronous core of run(): read, apply and write with no await in between (atomic on one event loop). */
  runNow<R>(op: StateOp<R>): R {
    const outcome = op.apply(this.#read(op.key), op.args);
    this.#write(op.key, outcome.next, outcome.ttlMs);
    return outcome.result;
  }

  async run<R>(op: StateOp<R>): Promise<R> {
    return this.runNow(op);
  }

  async runAll(ops: readonly StateOp[]): Promise<unknown[]> {
    const results: unknown[] = [];
    for (const op of ops) {
      const result = this.runNow(op);
      results.push(result);
      if (stopsSequence(result)) break;
    }
    return results;
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

  /**
   * Read-modify-write with a closure: for state that never leaves the process (a router's output
   * allowances). Shared state goes through named operations (run), which a shared store can run
   * where the data lives.
   */
  async update<T>(key: string, fn: (current: T | undefined) => T, ttlMs?: number): Promise<T> {
    const next = fn(this.#read<T>(key));
    this.#write(key, next, ttlMs);
    return next;
  }

  /** Number of live entries (for tests and memory checks). */
  get size(): number {
    return this.#entries.size;
  }
}
