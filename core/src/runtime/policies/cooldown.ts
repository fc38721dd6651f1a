import type { Clock } from '../clock.ts';
import type { StateStore } from '../state.ts';

/**
 * Per-deployment cooldowns in the StateStore (shared by replicas): a provider that said "retry
 * after 120 s" (429, 503 or 529 with Retry-After) or whose quota is gone is not called again, by
 * any request or breaker probe, until then. Retrying inside one request honoured Retry-After only
 * for that request; every other request kept calling. A cooldown never shortens a longer one
 * already running. One small record per deployment, written by one atomic update.
 */

export type CooldownReason = 'retry-after' | 'quota';

export interface Cooldown {
  /** Clock time at which the deployment may be called again. */
  until: number;
  reason: CooldownReason;
}

const KEY_PREFIX = 'cooldown:';

export class Cooldowns {
  readonly #store: StateStore;
  readonly #clock: Clock;

  constructor(store: StateStore, clock: Clock) {
    this.#store = store;
    this.#clock = clock;
  }

  /** The cooldown running on a deployment now, if any. */
  async active(id: string): Promise<Cooldown | undefined> {
    const cooldown = await this.#store.get<Cooldown>(KEY_PREFIX + id);
    return cooldown && cooldown.until > this.#clock.now() ? cooldown : undefined;
  }

  /** Keeps the deployment out of rotation for `ms` from now, unless a longer cooldown is running. */
  async start(id: string, ms: number, reason: CooldownReason): Promise<Cooldown> {
    const wanted: Cooldown = { until: this.#clock.now() + Math.max(0, ms), reason };
    // No TTL: an expired record is ignored on read, and there is one per deployment at most.
    return this.#store.update<Cooldown>(KEY_PREFIX + id, (current) =>
      current && current.until >= wanted.until ? current : wanted,
    );
  }
}
