import { SwitchyardError } from '../errors.ts';
import type { AttemptContext } from './adapter.ts';
import { type AttemptRequestOptions, type AttemptState, attemptRequestOptions } from './http-hooks.ts';
import { type NormalizeContext, normalizeError } from './normalize-error.ts';

const ignore = (): void => {};

/** Settles with `promise`, or rejects with the signal's reason as soon as it aborts (whatever the SDK does). */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  // The losing promise still settles later; swallow that so it is not an unhandled rejection.
  promise.catch(ignore);
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

export interface AttemptInfo {
  provider: string;
  deployment: string;
  secrets: readonly (string | undefined)[];
}

/**
 * One adapter call: runs the SDK call where the fetch hook can find it, races it against the attempt's
 * signal (the SDKs only notice an abort between chunks, and the OpenAI and Anthropic streams even end
 * silently on it), and turns every failure into a SwitchyardError.
 */
export class Attempt implements AttemptState {
  readonly context: AttemptContext;
  readonly info: AttemptInfo;
  readonly stream: boolean;
  response?: { status: number; headers: Headers };
  headersReported = false;

  constructor(context: AttemptContext, info: AttemptInfo, stream = false) {
    this.context = context;
    this.info = info;
    this.stream = stream;
  }

  /** What the fetch hook sees of this attempt: the attempt itself (one object less per call in flight). */
  get state(): AttemptState {
    return this;
  }

  get normalizeContext(): NormalizeContext {
    return {
      provider: this.info.provider,
      deployment: this.info.deployment,
      signal: this.context.signal,
      response: this.state.response,
      secrets: this.info.secrets,
      ...(this.context.now ? { nowMs: this.context.now() } : {}),
    };
  }

  fail(error: unknown): SwitchyardError {
    return normalizeError(error, this.normalizeContext);
  }

  /** A stream that ended before its terminator; an abort by the router takes precedence. */
  cut(what: string): SwitchyardError {
    if (this.context.signal.aborted) return this.fail(this.context.signal.reason);
    return new SwitchyardError('network', {
      message: `${this.info.provider}: the stream was cut before ${what}`,
      provider: this.info.provider,
      deployment: this.info.deployment,
      status: this.state.response?.status,
      requestId:
        this.state.response?.headers.get('x-request-id') ??
        this.state.response?.headers.get('request-id') ??
        undefined,
    });
  }

  /** A 200 whose payload does not have the shape the wire format promises (e.g. `content: 42`). */
  malformed(what: string): SwitchyardError {
    return new SwitchyardError('malformed_response', {
      message: `${this.info.provider}: ${what}`,
      provider: this.info.provider,
      deployment: this.info.deployment,
      status: this.state.response?.status,
    });
  }

  /**
   * Runs an SDK call, handing it the request options that carry this attempt to the fetch hook (openai,
   * Anthropic; ollama's calls take none and run in the attempt's context instead: runInAttempt).
   */
  run<T>(call: (requestOptions: AttemptRequestOptions) => Promise<T>): Promise<T>;
  /** …and maps its answer with `map` (whose errors pass through as they are). */
  run<T, R>(call: (requestOptions: AttemptRequestOptions) => Promise<T>, map: (value: T) => R): Promise<R>;
  run<T, R>(call: (requestOptions: AttemptRequestOptions) => Promise<T>, map?: (value: T) => R): Promise<R> {
    // abortable(), a catch and the adapter's mapping, fused into one promise and no async frame: this is
    // held for as long as the call is in flight, so every object here counts (bench/benches/scale.ts).
    const signal = this.context.signal;
    if (signal.aborted) return Promise.reject(this.fail(signal.reason));
    let promise: Promise<T>;
    try {
      promise = call(attemptRequestOptions(this));
    } catch (error) {
      return Promise.reject(this.fail(error));
    }
    return new Promise<R>((resolve, reject) => {
      const onAbort = (): void => reject(this.fail(signal.reason));
      signal.addEventListener('abort', onAbort, { once: true });
      promise.then(
        (value) => {
          signal.removeEventListener('abort', onAbort);
          if (!map) return resolve(value as unknown as R);
          try {
            resolve(map(value));
          } catch (error) {
            reject(error);
          }
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(this.fail(error));
        },
      );
    });
  }

  /**
   * Iterates an SDK stream, racing each chunk against the signal. `mapError` lets an adapter classify an
   * SDK-specific stream failure first. On an early exit (consumer break, error) the SDK stream is closed,
   * which aborts its request.
   */
  async *iterate<T>(
    iterable: AsyncIterable<T>,
    mapError?: (error: unknown) => SwitchyardError | undefined,
  ): AsyncGenerator<T, void, undefined> {
    const iterator = iterable[Symbol.asyncIterator]();
    let finished = false;
    try {
      while (true) {
        let step: IteratorResult<T>;
        try {
          step = await abortable(iterator.next(), this.context.signal);
        } catch (error) {
          if (this.context.signal.aborted) throw this.fail(error);
          throw mapError?.(error) ?? this.fail(error);
        }
        if (step.done) {
          finished = true;
          break;
        }
        yield step.value;
      }
    } finally {
      if (!finished) iterator.return?.()?.catch(ignore);
    }
    // The OpenAI and Anthropic SDKs end a stream quietly when its request was aborted.
    if (this.context.signal.aborted) throw this.fail(this.context.signal.reason);
  }
}
