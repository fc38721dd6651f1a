import type { Clock } from '../../runtime/clock.ts';
import type { LatencyProfile, LatencySample } from './latency.ts';
import { pause, sampleLatency } from './latency.ts';
import type { ModelCatalogue, ModelSpec } from './models.ts';
import { deriveSeed, hashString, Rng, stableStringify } from './random.ts';
import { frameStream } from './wire.ts';

/** Everything a provider handler needs for one request. */
export interface Call {
  request: Request;
  url: URL;
  clock: Clock;
  models: ModelCatalogue;
  /** Aborted when the client aborts or cancels the body; every sleep listens to it. */
  signal: AbortSignal;
  abort: AbortController;
  /** Position of this request in the simulator's sequence (0-based). */
  index: number;
  /** Ids, chunk sizes and other non-content draws. */
  rng: Rng;
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

/** Builds per-request Calls; owns the request counter and the per-model rate-limit windows. */
export function callFactory(options: CallFactoryOptions): (request: Request, abort: AbortController) => Call {
  let counter = 0;
  const windows = new Map<string, { start: number; requests: number; tokens: number }>();
  return (request, abort) => {
    const index = counter++;
    const rng = new Rng(deriveSeed(options.seed, index, 0x1d5));
    // A separate stream for latency so content and ids do not shift when a profile changes.
    const latencyRng = new Rng(deriveSeed(options.seed, index, 0x1a7e));
    return {
      request,
      url: new URL(request.url),
      clock: options.clock,
      models: options.models,
      signal: abort.signal,
      abort,
      index,
      rng,
      contentSeed: (contentKey) => deriveSeed(options.seed, hashString(stableStringify(contentKey)), index),
      latency(modelId, spec) {
        const profile = options.latency?.[modelId] ?? options.latency?.['*'] ?? spec.latency;
        return sampleLatency(profile, latencyRng);
      },
      wait: (ms) => pause(options.clock, ms, abort.signal),
      rateLimit(modelId, spec, tokens) {
        const limits = spec.rateLimits ?? { requests: 1_000, tokens: 1_000_000 };
        const now = options.clock.now();
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
      },
      accepts: (provider, key) => (options.acceptKey ? options.acceptKey(provider, key) : key.length > 0),
    };
  };
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
  return new Response(frameStream(iterator, call.abort), { status, headers });
}

/** OpenAI-style duration: `6ms`, `1.5s`, `1m2s`. */
export function formatResetDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${Number(seconds.toFixed(3))}s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes}m${Number((seconds - minutes * 60).toFixed(3))}s`;
}
