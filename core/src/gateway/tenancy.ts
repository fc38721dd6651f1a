import { createHash } from 'node:crypto';
import type { Clock } from '../runtime/clock.ts';
import { resolveApiKey } from '../runtime/config/load.ts';
import type { SecretSources, VirtualKeyConfig } from './config.ts';

/**
 * Who is calling: the virtual API keys of the config, each naming a tenant, a tier, tags, the routes
 * it may use and its rate limits. Keys are held only as SHA-256 digests: the gateway hashes what it
 * is shown and looks the digest up (a lookup by digest leaks nothing usable about the key).
 */
export interface Caller {
  /** The key's label (logs, metrics); never the key. */
  name: string;
  tenant: string;
  tier: string | undefined;
  tags: string[];
  /** Routes or deployment ids it may use; undefined: all. */
  routes: ReadonlySet<string> | undefined;
  limits: { rpm?: number | undefined; tpm?: number | undefined };
}

export const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

export class VirtualKeys {
  readonly #byDigest = new Map<string, Caller>();

  constructor(keys: readonly VirtualKeyConfig[], sources: SecretSources = {}) {
    for (const key of keys) {
      const digest = key.hash
        ? key.hash.slice('sha256:'.length)
        : sha256Hex(resolveApiKey({ apiKey: key.key! }, sources) ?? '');
      this.#byDigest.set(digest, {
        name: key.name,
        tenant: key.tenant,
        tier: key.tier,
        tags: key.tags,
        routes: key.routes ? new Set(key.routes) : undefined,
        limits: key.limits,
      });
    }
  }

  /** Keys are configured: every model call must present one. */
  get required(): boolean {
    return this.#byDigest.size > 0;
  }

  /** The caller a presented key belongs to; undefined for an unknown (or missing) key. */
  identify(presented: string | undefined): Caller | undefined {
    if (!presented) return undefined;
    return this.#byDigest.get(sha256Hex(presented));
  }

  get tenants(): string[] {
    return [...new Set([...this.#byDigest.values()].map((c) => c.tenant))];
  }
}

/** The key a request presents: `Authorization: Bearer …` (OpenAI clients) or `x-api-key` (Anthropic's). */
export function presentedKey(headers: {
  authorization?: string | undefined;
  'x-api-key'?: string | string[] | undefined;
}): string | undefined {
  const auth = headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice('Bearer '.length).trim() || undefined;
  const apiKey = headers['x-api-key'];
  return typeof apiKey === 'string' && apiKey !== '' ? apiKey : undefined;
}

// ---------------------------------------------------------------------------------------------
// Rate limits: a token bucket per key and limit, refilled continuously (a minute's allowance per
// minute), on the injected clock. Hand-written rather than rate-limiter-flexible: that library reads
// Date.now() and cannot run on a virtual clock, and the token limit charges after the call (actual
// tokens), which its consume-before model does not fit.

export interface Bucket {
  /** Units left; may go below zero after a charge larger than what was left (tokens). */
  level: number;
  at: number;
}

export type Admission = { allowed: true } | { allowed: false; limit: 'rpm' | 'tpm'; retryAfterMs: number };

/** The bucket at `now`, refilled at `perMinute` per minute up to `perMinute`. */
export function refill(bucket: Bucket | undefined, perMinute: number, now: number): Bucket {
  if (!bucket) return { level: perMinute, at: now };
  const level = Math.min(perMinute, bucket.level + ((now - bucket.at) * perMinute) / 60_000);
  return { level, at: now };
}

/** Milliseconds until a bucket refilled at `perMinute` holds `need` units. */
export function msUntil(bucket: Bucket, need: number, perMinute: number): number {
  return Math.max(0, Math.ceil(((need - bucket.level) * 60_000) / perMinute));
}

export class RateLimits {
  readonly #clock: Clock;
  readonly #buckets = new Map<string, Bucket>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /**
   * Admits one request of `caller`, estimated at `estimatedTokens` input tokens: it takes one request
   * from the rpm bucket, and needs the token bucket to hold the estimate (capped at the limit, so a
   * prompt larger than a minute's allowance can still run on a full bucket). Refused: nothing is taken.
   */
  admit(caller: Caller, estimatedTokens: number): Admission {
    const now = this.#clock.now();
    const { rpm, tpm } = caller.limits;
    const requests =
      rpm === undefined ? undefined : refill(this.#buckets.get(`${caller.name}/rpm`), rpm, now);
    if (requests && rpm !== undefined && requests.level < 1)
      return { allowed: false, limit: 'rpm', retryAfterMs: msUntil(requests, 1, rpm) };
    if (tpm !== undefined) {
      const tokens = refill(this.#buckets.get(`${caller.name}/tpm`), tpm, now);
      const need = Math.min(estimatedTokens, tpm);
      if (tokens.level < need)
        return { allowed: false, limit: 'tpm', retryAfterMs: msUntil(tokens, need, tpm) };
    }
    if (requests) this.#buckets.set(`${caller.name}/rpm`, { level: requests.level - 1, at: now });
    return { allowed: true };
  }

  /** Charges the tokens a finished request used (input + output) to the caller's token bucket. */
  charge(caller: Caller, tokens: number): void {
    const tpm = caller.limits.tpm;
    if (tpm === undefined || tokens <= 0) return;
    const bucket = refill(this.#buckets.get(`${caller.name}/tpm`), tpm, this.#clock.now());
    this.#buckets.set(`${caller.name}/tpm`, { level: bucket.level - tokens, at: bucket.at });
  }
}
