import type { Clock } from '../clock.ts';
import type { BreakerConfig } from '../config/schema.ts';
import type { ErrorKind, SwitchyardError } from '../errors.ts';
import type { StateStore } from '../state.ts';

/**
 * Circuit breakers, one per deployment, with their state in the StateStore so that every router
 * replica sharing a store sees the same breaker (cockatiel keeps breaker state in-process and reads
 * Date.now() directly, which is why these policies are our own). Every transition happens inside
 * `store.update`, so two callers can never both take the half-open probe.
 *
 * closed --(N failures in a row | failure rate over the window)--> open
 * open --(openMs elapsed)--> half-open: exactly one probe is let through, everyone else refused
 * half-open --(probe success)--> closed;  half-open --(probe failure or slow)--> open (fresh openMs)
 *
 * Slow calls (resilience4j's slow-call rule, adapted): a call is slow when it was cancelled as a
 * hedge loser after outliving the deployment's expected latency (the router's verdict), or when it
 * succeeded but took longer than `slowCallMs` (off unless configured: an LLM call's duration grows
 * with its answer). A deployment that accepts connections and never answers then opens its breaker
 * although every request it holds up is rescued by a hedge. In consecutive mode a slow call extends
 * the run of failures (a fast success ends it); in rate mode the breaker also opens when the slow
 * share of the window reaches `slowCallRate`. A slow probe re-opens a half-open breaker.
 *
 * Open → half-open is lazy: it is applied by the first acquire/record/state call after openMs (no
 * timers, so nothing is pending on the clock and nothing depends on which replica is alive); the
 * transition event carries the logical time it became due.
 */

export type BreakerState = 'closed' | 'open' | 'half-open';

export type BreakerAcquire = { allowed: true; probe: boolean } | { allowed: false; retryInMs: number };

export interface BreakerTransition {
  deployment: string;
  from: BreakerState;
  to: BreakerState;
  /** Clock time of the transition (for open → half-open: when openMs ran out). */
  at: number;
}

export const DEFAULT_BREAKER_COUNT_KINDS: readonly ErrorKind[] = [
  'server_error',
  'overloaded',
  'timeout',
  'network',
  'malformed_response',
  'rate_limited',
];

export interface CircuitBreakersOptions {
  /**
   * How long a probe may stay out before its slot is presumed leaked (its holder crashed without
   * record/release) and another probe is allowed. Set it to at least the attempt timeout.
   */
  probeLeaseMs?: number;
  /** Buckets of the rate-mode sliding window. */
  rateBuckets?: number;
}

interface RateBucket {
  epoch: number;
  successes: number;
  failures: number;
  /** Slow calls (counted here only, not as successes or failures). */
  slow: number;
}

/** How an allowed attempt ended, for the breaker. */
export type BreakerOutcome = 'success' | 'failure' | 'slow';

/** Plain JSON, so that a shared store can serialise it. */
interface BreakerRecord {
  state: BreakerState;
  /** open: when the probe becomes allowed. */
  openUntil: number;
  /** Failures and slow calls in a row. */
  consecutiveFailures: number;
  buckets: RateBucket[];
  /** half-open: when the probe in flight was handed out, or null when the slot is free. */
  probeSince: number | null;
}

const KEY_PREFIX = 'breaker:';
const DEFAULT_PROBE_LEASE_MS = 120_000;
/** The answer to almost every acquire, shared (read-only) rather than built per attempt. */
const ALLOWED: BreakerAcquire = Object.freeze({ allowed: true, probe: false });

function freshRecord(): BreakerRecord {
  return { state: 'closed', openUntil: 0, consecutiveFailures: 0, buckets: [], probeSince: null };
}

export class CircuitBreakers {
  readonly #store: StateStore;
  readonly #clock: Clock;
  readonly #config: BreakerConfig;
  readonly #countKinds: ReadonlySet<ErrorKind>;
  readonly #probeLeaseMs: number;
  readonly #bucketCount: number;
  readonly #bucketMs: number;
  readonly #listeners = new Set<(event: BreakerTransition) => void>();

  constructor(store: StateStore, clock: Clock, config: BreakerConfig, options: CircuitBreakersOptions = {}) {
    this.#store = store;
    this.#clock = clock;
    this.#config = config;
    this.#countKinds = new Set(config.countKinds ?? DEFAULT_BREAKER_COUNT_KINDS);
    this.#probeLeaseMs = options.probeLeaseMs ?? DEFAULT_PROBE_LEASE_MS;
    this.#bucketCount = options.rateBuckets ?? 10;
    this.#bucketMs = config.windowMs / this.#bucketCount;
  }

  /** Whether this error says something about the deployment's health (a bad request does not). */
  countsAsFailure(error: SwitchyardError): boolean {
    return this.#countKinds.has(error.kind);
  }

  /** Subscribes to transitions; returns the unsubscribe function. */
  onTransition(listener: (event: BreakerTransition) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Asks to send one attempt to `id`. A granted probe must end in record(…, true) or release(…, true). */
  async acquire(id: string): Promise<BreakerAcquire> {
    if (!this.#config.enabled) return ALLOWED;
    // Fast path without a write (a shared store would pay a round trip per attempt): admission
    // while closed or plainly open is not exclusive, so a read is enough; the probe needs update.
    const stored = await this.#store.get<BreakerRecord>(KEY_PREFIX + id);
    const now = this.#clock.now();
    if (!stored || stored.state === 'closed') return ALLOWED;
    if (stored.state === 'open' && now < stored.openUntil)
      return { allowed: false, retryInMs: stored.openUntil - now };
    let result: BreakerAcquire = { allowed: true, probe: false };
    await this.#mutate(id, (record, now, transitions) => {
      this.#promote(id, record, now, transitions);
      if (record.state === 'closed') {
        result = { allowed: true, probe: false };
      } else if (record.state === 'open') {
        result = { allowed: false, retryInMs: record.openUntil - now };
      } else if (record.probeSince === null || now - record.probeSince >= this.#probeLeaseMs) {
        record.probeSince = now;
        result = { allowed: true, probe: true };
      } else {
        // The probe's outcome is unknown; by the end of its lease the slot is free at the latest.
        result = { allowed: false, retryInMs: record.probeSince + this.#probeLeaseMs - now };
      }
    });
    return result;
  }

  /**
   * Reports how an allowed attempt ended (only outcomes for which countsAsFailure/success apply).
   * `durationMs`: how long a success took; above `slowCallMs` it counts as slow.
   */
  async record(id: string, reported: BreakerOutcome, wasProbe: boolean, durationMs?: number): Promise<void> {
    if (!this.#config.enabled) return;
    const slowAfter = this.#config.slowCallMs;
    const outcome: BreakerOutcome =
      reported === 'success' && slowAfter !== undefined && durationMs !== undefined && durationMs > slowAfter
        ? 'slow'
        : reported;
    if (outcome === 'success' && this.#config.mode === 'consecutive') {
      // The common case changes nothing (closed, no failures to reset): a read instead of a write.
      const stored = await this.#store.get<BreakerRecord>(KEY_PREFIX + id);
      if (!stored || (stored.state === 'closed' && stored.consecutiveFailures === 0)) return;
    }
    await this.#mutate(id, (record, now, transitions) => {
      this.#promote(id, record, now, transitions);
      if (record.state === 'half-open') {
        // Late outcomes of attempts started before the breaker opened say nothing about recovery.
        if (!wasProbe) return;
        if (outcome === 'success') this.#move(id, record, 'closed', now, transitions);
        else this.#open(id, record, now, transitions);
        return;
      }
      // While open, stragglers from before the trip neither extend nor shorten openMs.
      if (record.state === 'open') return;
      this.#count(record, outcome, now);
      if (this.#shouldTrip(record, now)) this.#open(id, record, now, transitions);
    });
  }

  /** Ends an allowed attempt without a verdict (cancelled, abandoned, non-counting error); frees a probe slot. */
  async release(id: string, wasProbe: boolean): Promise<void> {
    if (!this.#config.enabled || !wasProbe) return;
    await this.#mutate(id, (record, now, transitions) => {
      this.#promote(id, record, now, transitions);
      if (record.state === 'half-open') record.probeSince = null;
    });
  }

  async state(id: string): Promise<BreakerState> {
    if (!this.#config.enabled) return 'closed';
    const stored = await this.#store.get<BreakerRecord>(KEY_PREFIX + id);
    if (!stored) return 'closed';
    if (stored.state !== 'open' || this.#clock.now() < stored.openUntil) return stored.state;
    // Due for half-open: apply it so the transition is emitted once, by whoever notices first.
    let state: BreakerState = stored.state;
    await this.#mutate(id, (record, now, transitions) => {
      this.#promote(id, record, now, transitions);
      state = record.state;
    });
    return state;
  }

  /**
   * Runs one atomic read-modify-write. `fn` mutates the record the store hands over (StateStore.update
   * allows it; copying record and buckets on every attempt was pure garbage); transitions are collected
   * afresh on each invocation (a shared store may re-run it on contention) and emitted only after the write.
   */
  async #mutate(
    id: string,
    fn: (record: BreakerRecord, now: number, transitions: BreakerTransition[]) => void,
  ): Promise<void> {
    let transitions: BreakerTransition[] = [];
    await this.#store.update<BreakerRecord>(KEY_PREFIX + id, (current) => {
      transitions = [];
      const record: BreakerRecord = current ?? freshRecord();
      fn(record, this.#clock.now(), transitions);
      return record;
    });
    for (const event of transitions) {
      for (const listener of this.#listeners) {
        try {
          listener(event);
        } catch {
          // A broken trace sink must not change routing decisions.
        }
      }
    }
  }

  /** Applies the lazy open → half-open transition once openMs has run out. */
  #promote(id: string, record: BreakerRecord, now: number, transitions: BreakerTransition[]): void {
    if (record.state !== 'open' || now < record.openUntil) return;
    this.#move(id, record, 'half-open', record.openUntil, transitions);
  }

  #open(id: string, record: BreakerRecord, now: number, transitions: BreakerTransition[]): void {
    this.#move(id, record, 'open', now, transitions);
    record.openUntil = now + this.#config.openMs;
  }

  #move(
    id: string,
    record: BreakerRecord,
    to: BreakerState,
    at: number,
    transitions: BreakerTransition[],
  ): void {
    transitions.push({ deployment: id, from: record.state, to, at });
    record.state = to;
    // Each state starts from a clean slate: a closed breaker must not retrip on pre-open failures.
    record.consecutiveFailures = 0;
    record.buckets = [];
    record.probeSince = null;
  }

  #count(record: BreakerRecord, outcome: BreakerOutcome, now: number): void {
    record.consecutiveFailures = outcome === 'success' ? 0 : record.consecutiveFailures + 1;
    if (this.#config.mode !== 'rate') return;
    const epoch = Math.floor(now / this.#bucketMs);
    record.buckets = record.buckets.filter((b) => b.epoch > epoch - this.#bucketCount);
    let bucket = record.buckets.find((b) => b.epoch === epoch);
    if (!bucket) {
      bucket = { epoch, successes: 0, failures: 0, slow: 0 };
      record.buckets.push(bucket);
    }
    // A slow call is neither a success nor a failure of the failure rate: it has a rate of its own.
    if (outcome === 'failure') bucket.failures++;
    else if (outcome === 'slow') bucket.slow++;
    else bucket.successes++;
  }

  #shouldTrip(record: BreakerRecord, now: number): boolean {
    if (this.#config.mode === 'consecutive')
      return record.consecutiveFailures >= this.#config.consecutiveFailures;
    const oldest = Math.floor(now / this.#bucketMs) - this.#bucketCount;
    let failures = 0;
    let slow = 0;
    let total = 0;
    for (const bucket of record.buckets) {
      if (bucket.epoch <= oldest) continue;
      failures += bucket.failures;
      slow += bucket.slow ?? 0;
      total += bucket.successes + bucket.failures + (bucket.slow ?? 0);
    }
    if (total < this.#config.minimumRequests) return false;
    // > 0: a rate of 0 must not trip a breaker that saw only fast successes.
    return (
      (failures > 0 && failures / total >= this.#config.failureRate) ||
      (slow > 0 && slow / total >= this.#config.slowCallRate)
    );
  }
}
