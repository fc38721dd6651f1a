import type { Clock } from '../../runtime/clock.ts';
import type { LatencyProfile, LatencySample } from './latency.ts';
import { pause, sampleLatency } from './latency.ts';
import type { ModelCatalogue, ModelSpec } from './models.ts';
import { deriveSeed, hashString, Rng, stableStringify } from './random.ts';
import { frameStream } from './wire.ts';

/** Everything a provider handler needs for one request. */
export interface Call {
  /** The request. */
  readonly request: Request;
  /** The request URL's path. */
  readonly pathname: string;
  readonly clock: Clock;
  readonly models: ModelCatalogue;
  /** Aborted when the client aborts or cancels the body; every sleep listens to it. */
  readonly signal: AbortSignal;
  /** Cancels this call's sleeps; a streaming handler hands it to the body (see streamResponse). */
  readonly abort: AbortController;
  /** Position of this request in the simulator's sequence (0-based). */
  readonly index: number;
  /** The simulator's seed (for what must not depend on the request's position, like embeddings). */
  readonly seed: number;
  /** Ids, chunk sizes and other non-content draws. */
  readonly rng: Rng;
  /** Content seed: from the simulator seed, the content-relevant part of the body, and `index`. */
  contentSeed(contentKey: unknown): number;
  latency(modelId: string, spec: ModelSpec): LatencySample;
  wait(ms: number): Promise<void>;
  rateLimit(modelId: string, spec: ModelSpec, tokens: number): RateLimitState;
  accepts(provider: 'openai' | 'anthropic', key: string): boolean;
}

export interface RateLimitState {
  requestsLimit: number;
  requestsRemaining: number;
  tokensLimit: number;
  tokensRemaining: number;
  /** Ms until the request and token buckets are full again. */
  requestsResetMs: number;
  tokensResetMs: number;
}

export interface CallFactoryOptions {
  clock: Clock;
  seed: number;
  models: ModelCatalogue;
  latency?: Partial<Record<string, LatencyProfile>>;
  acceptKey?: (provider: 'openai' | 'anthropic', key: string) => boolean;
}

const WINDOW_MS = 60_000;

/** What every call of one simulator shares: its options, the request counter and the rate-limit windows. */
interface Shared {
  options: CallFactoryOptions;
  counter: number;
  windows: Map<string, { start: number; requests: number; tokens: number }>;
}

/*
 * One request's state. A class rather than an object of closures: a call waits in memory for its
 * whole simulated latency (10,000 of them at once in bench/benches/scale.ts), and six closures with
 * their contexts cost a call what prototype methods do not. With the controller made only for
 * streams (below): 1.1 KB less per waiting request in that benchmark.
 */
class SimulatedCall implements Call {
  readonly index: number;
  readonly rng: Rng;
  readonly pathname: string;
  readonly #shared: Shared;
  readonly request: Request;
  #abort: AbortController | undefined;
  #latencyRng: Rng | undefined;

  constructor(shared: Shared, request: Request) {
    this.#shared = shared;
    this.index = shared.counter++;
    this.rng = new Rng(deriveSeed(shared.options.seed, this.index, 0x1d5));
    this.request = request;
    this.pathname = new URL(request.url).pathname;
  }

  get clock(): Clock {
    return this.#shared.options.clock;
  }

  get seed(): number {
    return this.#shared.options.seed;
  }

  get models(): ModelCatalogue {
    return this.#shared.options.models;
  }

  // Non-streamed calls never need a controller of their own: their sleeps listen to the client's
  // signal directly (one AbortController and one listener less per waiting call).
  get signal(): AbortSignal {
    return this.#abort?.signal ?? this.request.signal;
  }

  get abort(): AbortController {
    if (!this.#abort) {
      const abort = new AbortController();
      const source = this.request.signal;
      if (source.aborted) abort.abort(source.reason);
      else source.addEventListener('abort', () => abort.abort(source.reason), { once: true });
      this.#abort = abort;
    }
    return this.#abort;
  }

  contentSeed(contentKey: unknown): number {
    return deriveSeed(this.#shared.options.seed, hashString(stableStringify(contentKey)), this.index);
  }

  latency(modelId: string, spec: ModelSpec): LatencySample {
    const latency = this.#shared.options.latency;
    const profile = latency?.[modelId] ?? latency?.['*'] ?? spec.latency;
    // A separate stream for latency so content and ids do not shift when a profile changes.
    this.#latencyRng ??= new Rng(deriveSeed(this.#shared.options.seed, this.index, 0x1a7e));
    return sampleLatency(profile, this.#latencyRng);
  }

  wait(ms: number): Promise<void> {
    return pause(this.clock, ms, this.signal);
  }

  rateLimit(modelId: string, spec: ModelSpec, tokens: number): RateLimitState {
    const limits = spec.rateLimits ?? { requests: 1_000, tokens: 1_000_000 };
    const now = this.clock.now();
    const windows = this.#shared.windows;
    let window = windows.get(modelId);
    if (!window || now - window.start >= WINDOW_MS) {
      window = { start: now, requests: 0, tokens: 0 };
      windows.set(modelId, window);
    }
    window.requests += 1;
    window.tokens += tokens;
    const requestsRemaining = Math.max(0, limits.requests - window.requests);
    const tokensRemaining = Math.max(0, limits.tokens - window.tokens);
    // Buckets refill linearly over a minute, which is how both providers describe their limits.
    return {
      requestsLimit: limits.requests,
      requestsRemaining,
      tokensLimit: limits.tokens,
      tokensRemaining,
      requestsResetMs: Math.ceil((WINDOW_MS * (limits.requests - requestsRemaining)) / limits.requests),
      tokensResetMs: Math.ceil((WINDOW_MS * (limits.tokens - tokensRemaining)) / limits.tokens),
    };
  }

  accepts(provider: 'openai' | 'anthropic', key: string): boolean {
    const acceptKey = this.#shared.options.acceptKey;
    return acceptKey ? acceptKey(provider, key) : key.length > 0;
  }
}

/** Builds per-request Calls; owns the request counter and the per-model rate-limit windows. */
export function callFactory(options: CallFactoryOptions): (request: Request) => Call {
  const shared: Shared = { options, counter: 0, windows: new Map() };
  return (request) => new SimulatedCall(shared, request);
}

/**
 * A streaming Response whose headers go out together with the first frame (after TTFT), as real
 * providers flush headers with the first bytes. Rejects if the client aborts before that.
 */
export async function streamResponse(
  call: Call,
  frames: AsyncGenerator<string>,
  status: number,
  headers: Headers,
): Promise<Response> {
  // The controller must exist before the producer's first wait, so that cancelling the body cancels it.
  const controller = call.abort;
  let first: IteratorResult<string> | undefined = await frames.next();
  const iterator: AsyncIterator<string> = {
    next: () => {
      if (first) {
        const result = first;
        first = undefined;
        return Promise.resolve(result);
      }
      return frames.next();
    },
    return: (value?: unknown) => frames.return(value),
  };
  return new Response(frameStream(iterator, controller), { status, headers });
}

/** OpenAI-style duration: `6ms`, `1.5s`, `1m2s`. */
export function formatResetDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${Number(seconds.toFixed(3))}s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes}m${Number((seconds - minutes * 60).toFixed(3))}s`;
}
