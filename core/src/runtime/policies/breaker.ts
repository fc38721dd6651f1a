import type { Clock } from '../clock.ts';
import type { BreakerConfig } from '../config/schema.ts';
import type { ErrorKind, SwitchyardError } from '../errors.ts';
import { defineOp, type StateStore } from '../state.ts';

/**
 * Circuit breakers, one per deployment, with their state in the StateStore so that every router
 * replica sharing a store sees the same breaker (cockatiel keeps breaker state in-process and reads
 * Date.now() directly, which is why these policies are our own). Every transition happens inside
 * one named operation of the store (one Lua script in Redis), so two callers, in one process or in
 * two replicas, can never both take the half-open probe.
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

/** What the breaker operations need of the config: plain numbers, so a shared store can run them too. */
interface BreakerRules extends Record<string, unknown> {
  mode: 'consecutive' | 'rate';
  consecutiveFailures: number;
  failureRate: number;
  slowCallRate: number;
  minimumRequests: number;
  openMs: number;
  probeLeaseMs: number;
  bucketMs: number;
  bucketCount: number;
}

/** Each operation answers the transitions it made; they are emitted once the store has answered. */
interface Transitions {
  transitions: BreakerTransition[];
}
type AcquireResult = Transitions & { allowed: boolean; probe: boolean; retryInMs: number; stop: boolean };

/**
 * The breaker's operations, each one atomic step in the store (the reference implementations; the
 * Redis store runs the same rules in redis-ops.lua). A record that did not change is not written.
 */
export const breakerAcquire = defineOp<
  BreakerRecord,
  BreakerRules & { id: string; now: number },
  AcquireResult
>('breaker', 'breaker.acquire', (current, args) => {
  const transitions: BreakerTransition[] = [];
  const allowed = (probe: boolean) => ({ allowed: true, probe, retryInMs: 0, stop: false, transitions });
  if (!current || current.state === 'closed') return { next: current, result: allowed(false) };
  const record = current;
  const { now } = args;
  promote(args.id, record, now, transitions);
  if (record.state === 'closed') return { next: record, result: allowed(false) };
  if (record.state === 'open')
    return {
      next: record,
      result: { allowed: false, probe: false, retryInMs: record.openUntil - now, stop: true, transitions },
    };
  if (record.probeSince === null || now - record.probeSince >= args.probeLeaseMs) {
    record.probeSince = now;
    return { next: record, result: allowed(true) };
  }
  // The probe's outcome is unknown; by the end of its lease the slot is free at the latest.
  const retryInMs = record.probeSince + args.probeLeaseMs - now;
  return { next: record, result: { allowed: false, probe: false, retryInMs, stop: true, transitions } };
});

export const breakerRecord = defineOp<
  BreakerRecord,
  BreakerRules & { id: string; now: number; outcome: BreakerOutcome; wasProbe: boolean },
  Transitions
>('breaker', 'breaker.record', (current, args) => {
  const transitions: BreakerTransition[] = [];
  const { id, now, outcome } = args;
  // The common case changes nothing (closed, no failures to reset): nothing is written.
  if (
    outcome === 'success' &&
    args.mode === 'consecutive' &&
    (!current || (current.state === 'closed' && current.consecutiveFailures === 0))
  )
    return { next: current, result: { transitions } };
  const record = current ?? freshRecord();
  promote(id, record, now, transitions);
  if (record.state === 'half-open') {
    // Late outcomes of attempts started before the breaker opened say nothing about recovery.
    if (args.wasProbe) {
      if (outcome === 'success') move(id, record, 'closed', now, transitions);
      else open(id, record, now, args.openMs, transitions);
    }
  } else if (record.state === 'closed') {
    // (While open, stragglers from before the trip neither extend nor shorten openMs.)
    count(record, outcome, now, args);
    if (shouldTrip(record, now, args)) open(id, record, now, args.openMs, transitions);
  }
  return { next: record, result: { transitions } };
});

/** Frees a probe slot (the probe ended without a verdict). */
export const breakerRelease = defineOp<BreakerRecord, { id: string; now: number }, Transitions>(
  'breaker',
  'breaker.release',
  (current, { id, now }) => {
    const transitions: BreakerTransition[] = [];
    if (!current) return { next: current, result: { transitions } };
    promote(id, current, now, transitions);
    if (current.state === 'half-open') current.probeSince = null;
    return { next: current, result: { transitions } };
  },
);

export const breakerState = defineOp<
  BreakerRecord,
  { id: string; now: number },
  Transitions & { state: BreakerState }
>('breaker', 'breaker.state', (current, { id, now }) => {
  const transitions: BreakerTransition[] = [];
  if (!current) return { next: current, result: { state: 'closed', transitions } };
  // Due for half-open: apply it so the transition is emitted once, by whoever notices first.
  promote(id, current, now, transitions);
  return { next: current, result: { state: current.state, transitions } };
});

/** Applies the lazy open → half-open transition once openMs has run out. */
function promote(id: string, record: BreakerRecord, now: number, transitions: BreakerTransition[]): void {
  if (record.state !== 'open' || now < record.openUntil) return;
  move(id, record, 'half-open', record.openUntil, transitions);
}

function open(
  id: string,
  record: BreakerRecord,
  now: number,
  openMs: number,
  transitions: BreakerTransition[],
) {
  move(id, record, 'open', now, transitions);
  record.openUntil = now + openMs;
}

function move(
  id: string,
  record: BreakerRecord,
  to: BreakerState,
  at: number,
  transitions: BreakerTransition[],
) {
  transitions.push({ deployment: id, from: record.state, to, at });
  record.state = to;
  // Each state starts from a clean slate: a closed breaker must not retrip on pre-open failures.
  record.consecutiveFailures = 0;
  record.buckets = [];
  record.probeSince = null;
}

function count(record: BreakerRecord, outcome: BreakerOutcome, now: number, rules: BreakerRules): void {
  record.consecutiveFailures = outcome === 'success' ? 0 : record.consecutiveFailures + 1;
  if (rules.mode !== 'rate') return;
  const epoch = Math.floor(now / rules.bucketMs);
  record.buckets = record.buckets.filter((b) => b.epoch > epoch - rules.bucketCount);
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

function shouldTrip(record: BreakerRecord, now: number, rules: BreakerRules): boolean {
  if (rules.mode === 'consecutive') return record.consecutiveFailures >= rules.consecutiveFailures;
  const oldest = Math.floor(now / rules.bucketMs) - rules.bucketCount;
  let failures = 0;
  let slow = 0;
  let total = 0;
  for (const bucket of record.buckets) {
    if (bucket.epoch <= oldest) continue;
    failures += bucket.failures;
    slow += bucket.slow ?? 0;
    total += bucket.successes + bucket.failures + (bucket.slow ?? 0);
  }
  if (total < rules.minimumRequests) return false;
  // > 0: a rate of 0 must not trip a breaker that saw only fast successes.
  return (
    (failures > 0 && failures / total >= rules.failureRate) ||
    (slow > 0 && slow / total >= rules.slowCallRate)
  );
}

export class CircuitBreakers {
  readonly #store: StateStore;
  readonly #clock: Clock;
  readonly #config: BreakerConfig;
  readonly #countKinds: ReadonlySet<ErrorKind>;
  readonly #rules: BreakerRules;
  readonly #listeners = new Set<(event: BreakerTransition) => void>();

  constructor(store: StateStore, clock: Clock, config: BreakerConfig, options: CircuitBreakersOptions = {}) {
    this.#store = store;
    this.#clock = clock;
    this.#config = config;
    this.#countKinds = new Set(config.countKinds ?? DEFAULT_BREAKER_COUNT_KINDS);
    const bucketCount = options.rateBuckets ?? 10;
    this.#rules = {
      mode: config.mode,
      consecutiveFailures: config.consecutiveFailures,
      failureRate: config.failureRate,
      slowCallRate: config.slowCallRate,
      minimumRequests: config.minimumRequests,
      openMs: config.openMs,
      probeLeaseMs: options.probeLeaseMs ?? DEFAULT_PROBE_LEASE_MS,
      bucketMs: config.windowMs / bucketCount,
      bucketCount,
    };
  }

  get enabled(): boolean {
    return this.#config.enabled;
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

  /**
   * The acquire operation, for the gate's sequence (runAll); hand its result to `acquired`.
   * Undefined when breakers are off.
   */
  acquireOp(id: string) {
    if (!this.#config.enabled) return undefined;
    return breakerAcquire(KEY_PREFIX + id, { ...this.#rules, id, now: this.#clock.now() });
  }

  /** Reads an acquire operation's result (emitting its transitions). */
  acquired(result: AcquireResult | undefined): BreakerAcquire {
    if (!result) return ALLOWED;
    this.#emit(result);
    if (!result.allowed) return { allowed: false, retryInMs: result.retryInMs };
    return result.probe ? { allowed: true, probe: true } : ALLOWED;
  }

  /** Asks to send one attempt to `id`. A granted probe must end in record(…, true) or release(…, true). */
  async acquire(id: string): Promise<BreakerAcquire> {
    const op = this.acquireOp(id);
    return this.acquired(op && (await this.#store.run(op)));
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
    const args = { ...this.#rules, id, now: this.#clock.now(), outcome, wasProbe };
    this.#emit(await this.#store.run(breakerRecord(KEY_PREFIX + id, args)));
  }

  /** Ends an allowed attempt without a verdict (cancelled, abandoned, non-counting error); frees a probe slot. */
  async release(id: string, wasProbe: boolean): Promise<void> {
    if (!this.#config.enabled || !wasProbe) return;
    this.#emit(await this.#store.run(breakerRelease(KEY_PREFIX + id, { id, now: this.#clock.now() })));
  }

  async state(id: string): Promise<BreakerState> {
    if (!this.#config.enabled) return 'closed';
    const result = await this.#store.run(breakerState(KEY_PREFIX + id, { id, now: this.#clock.now() }));
    this.#emit(result);
    return result.state;
  }

  #emit({ transitions }: Transitions): void {
    // A shared store answers an empty list as {} (Lua's JSON has one empty table).
    if (!Array.isArray(transitions) || transitions.length === 0) return;
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
}
