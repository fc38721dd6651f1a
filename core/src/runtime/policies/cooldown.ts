import type { Clock } from '../clock.ts';
import { defineOp, type StateStore } from '../state.ts';

/**
 * Per-deployment cooldowns in the StateStore (shared by replicas): a provider that said "retry
 * after 120 s" (429, 503 or 529 with Retry-After) or whose quota is gone is not called again, by
 * any request or breaker probe, until then. Retrying inside one request honoured Retry-After only
 * for that request; every other request kept calling. A cooldown never shortens a longer one
 * already running. One small record per deployment, changed by one named operation.
 */

export type CooldownReason = 'retry-after' | 'quota';

export interface Cooldown {
  /** Clock time at which the deployment may be called again. */
  until: number;
  reason: CooldownReason;
}

/** The gate's answer: a running cooldown stops the gate's sequence (runAll). */
export type CooldownCheck = { stop: false } | ({ stop: true } & Cooldown);

const KEY_PREFIX = 'cooldown:';
const NOT_COOLING: CooldownCheck = Object.freeze({ stop: false });

/**
 * The cooldown running at `now`, unless it ends no later than `ignoreUntil` (one the request started
 * itself: its own retry policy already honoured it). Read-only.
 */
export const cooldownCheck = defineOp<Cooldown, { now: number; ignoreUntil: number }, CooldownCheck>(
  'cooldown',
  'cooldown.check',
  (current, { now, ignoreUntil }) => ({
    next: current,
    result:
      current && current.until > now && current.until > ignoreUntil
        ? { stop: true, until: current.until, reason: current.reason }
        : NOT_COOLING,
  }),
);

/** Starts a cooldown until `until`, unless a longer one is running; answers the one in force. */
export const cooldownStart = defineOp<Cooldown, { until: number; reason: CooldownReason }, Cooldown>(
  'cooldown',
  'cooldown.start',
  (current, wanted) => {
    // No TTL: an expired record is ignored on read, and there is one per deployment at most.
    const next =
      current && current.until >= wanted.until ? current : { until: wanted.until, reason: wanted.reason };
    return { next, result: { until: next.until, reason: next.reason } };
  },
);

export class Cooldowns {
  readonly #store: StateStore;
  readonly #clock: Clock;

  constructor(store: StateStore, clock: Clock) {
    this.#store = store;
    this.#clock = clock;
  }

  /** The operation the gate runs: stops the gate when a cooldown (not the request's own) is running. */
  checkOp(id: string, ignoreUntil = -1) {
    return cooldownCheck(KEY_PREFIX + id, { now: this.#clock.now(), ignoreUntil });
  }

  /** The cooldown running on a deployment now, if any. */
  async active(id: string): Promise<Cooldown | undefined> {
    const check = await this.#store.run(this.checkOp(id));
    return check.stop ? { until: check.until, reason: check.reason } : undefined;
  }

  /** Keeps the deployment out of rotation for `ms` from now, unless a longer cooldown is running. */
  async start(id: string, ms: number, reason: CooldownReason): Promise<Cooldown> {
    const until = this.#clock.now() + Math.max(0, ms);
    return this.#store.run(cooldownStart(KEY_PREFIX + id, { until, reason }));
  }
}
