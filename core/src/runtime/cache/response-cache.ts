import { createHash } from 'node:crypto';
import type { Clock } from '../clock.ts';
import type { StateStore } from '../state.ts';
import type { ChatRequest, ChatResponse } from '../types.ts';

/** Bumped whenever the key's content changes, so old entries in a shared store stop matching. */
const KEY_VERSION = 1;
const KEY_PREFIX = 'cache:';

/** JSON with object keys sorted at every depth, so equal requests hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
  const parts: string[] = [];
  for (const key of Object.keys(value).sort()) {
    const field = (value as Record<string, unknown>)[key];
    // Like JSON.stringify: an undefined field is the same as an absent one.
    if (field === undefined || typeof field === 'function') continue;
    parts.push(`${JSON.stringify(key)}:${canonicalJson(field)}`);
  }
  return `{${parts.join(',')}}`;
}

/**
 * The cache key of a request on a route: sha256 of the fields that change the answer. Tenant,
 * metadata, tags and noCache do not, so different callers asking the same thing share an entry.
 */
export function cacheKey(routeName: string, request: ChatRequest): string {
  const answerShaping = {
    v: KEY_VERSION,
    route: routeName,
    messages: request.messages,
    temperature: request.temperature,
    maxOutputTokens: request.maxOutputTokens,
    stop: request.stop,
    responseFormat: request.responseFormat,
    tools: request.tools,
    toolChoice: request.toolChoice,
  };
  return createHash('sha256').update(canonicalJson(answerShaping)).digest('hex');
}

interface CacheEntry {
  response: ChatResponse;
  /** On the runtime clock: a shared store's own TTL runs on real time, a virtual clock does not. */
  expiresAt: number;
}

export interface ResponseCacheOptions {
  /** How long an entry is served, in ms on the clock. */
  ttlMs: number;
}

/** Exact-match response cache kept in the StateStore, plus in-process coalescing of identical calls. */
export class ResponseCache {
  readonly #store: StateStore;
  readonly #clock: Clock;
  readonly #ttlMs: number;
  /**
   * Calls in flight, by key. Coalescing is per process even with a shared store: replicas each make
   * their own first call, then share its stored answer.
   */
  readonly #inFlight = new Map<string, Promise<unknown>>();

  constructor(store: StateStore, clock: Clock, options: ResponseCacheOptions) {
    this.#store = store;
    this.#clock = clock;
    this.#ttlMs = options.ttlMs;
  }

  /** A stored, unexpired response, marked `cached: true`. */
  async get(key: string): Promise<ChatResponse | undefined> {
    const entry = await this.#store.get<CacheEntry>(KEY_PREFIX + key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.#clock.now()) {
      await this.#store.delete(KEY_PREFIX + key);
      return undefined;
    }
    return { ...entry.response, cached: true };
  }

  async set(key: string, response: ChatResponse, ttlMs = this.#ttlMs): Promise<void> {
    const entry: CacheEntry = { response, expiresAt: this.#clock.now() + ttlMs };
    await this.#store.set(KEY_PREFIX + key, entry, ttlMs);
  }

  /**
   * Runs `fn` once for all concurrent callers with the same key; the others wait for its result.
   * A failure reaches every waiter and leaves nothing behind, so the next call tries afresh.
   * Nothing is stored here: the caller decides what is worth caching.
   */
  singleFlight<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const running = this.#inFlight.get(key);
    if (running) return running as Promise<T>;
    // fn starts on a microtask, so even a synchronous throw settles after the entry is registered.
    const call: Promise<T> = Promise.resolve()
      .then(fn)
      .finally(() => {
        if (this.#inFlight.get(key) === call) this.#inFlight.delete(key);
      });
    this.#inFlight.set(key, call);
    return call;
  }

  /**
   * The cached response, else one shared upstream call whose successful result is stored.
   * `shouldStore` can keep partial answers (e.g. finishReason 'length') out of the cache.
   */
  async getOrCompute(
    key: string,
    fn: () => Promise<ChatResponse>,
    shouldStore: (response: ChatResponse) => boolean = () => true,
  ): Promise<ChatResponse> {
    const hit = await this.get(key);
    if (hit) return hit;
    return this.singleFlight(key, async () => {
      const response = await fn();
      if (shouldStore(response)) await this.set(key, response);
      return response;
    });
  }

  /** Number of calls currently in flight (for tests and metrics). */
  get inFlight(): number {
    return this.#inFlight.size;
  }
}
