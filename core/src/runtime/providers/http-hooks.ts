import { AsyncLocalStorage } from 'node:async_hooks';
import type { AttemptContext } from './adapter.ts';
import type { ProviderClientOptions } from './shared.ts';

/** What the fetch wrapper learns about one attempt's HTTP exchange. */
export interface AttemptState {
  readonly context: AttemptContext;
  /** A streamed call: the SDK aborts its own signal to cancel the body when the stream is closed early. */
  readonly stream: boolean;
  /** Status and headers of the attempt's response, once they arrived (the normaliser reads Retry-After from here). */
  response?: { status: number; headers: Headers };
  headersReported: boolean;
}

/*
 * One SDK client serves many concurrent attempts, so the fetch hook must learn which attempt a request
 * belongs to. The openai and Anthropic SDKs pass a call's `fetchOptions` on to `fetch` as they are: the
 * attempt rides there, under ATTEMPT_KEY. Ollama's client takes no per-call options, so its calls run
 * inside an AsyncLocalStorage context instead; that costs ~1.7 KB of heap per in-flight call (the
 * context frame every promise of the call keeps), which is why it is not used for the others.
 */
const ATTEMPT_KEY = Symbol('switchyard.attempt');
const storage = new AsyncLocalStorage<AttemptState>();

/** Per-call request options of the openai and Anthropic SDKs, carrying an attempt to the hooked fetch. */
export interface AttemptRequestOptions {
  /** No RequestInit field: only the attempt, under a symbol the SDKs pass along untouched. */
  fetchOptions: Record<never, never>;
}

export function attemptRequestOptions(state: AttemptState): AttemptRequestOptions {
  return { fetchOptions: { [ATTEMPT_KEY]: state } };
}

/** Runs `fn` (an SDK call that takes no fetch options: ollama) so that the fetch wrapper can find `state`. */
export function runInAttempt<T>(state: AttemptState, fn: () => T): T {
  return storage.run(state, fn);
}

export function currentAttempt(): AttemptState | undefined {
  return storage.getStore();
}

/**
 * The `fetch` handed to every SDK client. It resolves the underlying fetch at call time (MSW and the in-process
 * simulator patch globalThis.fetch after the adapters were built), ties the request to the attempt's abort
 * signal (so an abort also cuts a stalled body read, even for SDKs that pass no signal, like ollama's
 * non-streaming calls), and reports the response headers once.
 */
export function createHookedFetch(options: ProviderClientOptions): typeof fetch {
  const sdkTimeoutSet = options.sdkTimeoutMs !== undefined;
  return (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const base = options.fetch ?? globalThis.fetch;
    const state = (init as { [ATTEMPT_KEY]?: AttemptState } | undefined)?.[ATTEMPT_KEY] ?? storage.getStore();
    if (state === undefined) return base(input, init);
    const attemptSignal = state.context.signal;
    // The SDK's own signal aborts on the SDK's timeout, a 10-minute backstop that the attempt's deadlines
    // always beat, and, for a stream, when the stream is closed early. So it is followed too for streams
    // and when a shorter SDK timeout was set; a plain call in flight is spared the link (~0.9 KB of heap).
    const signal =
      init?.signal && (state.stream || sdkTimeoutSet)
        ? linkSignals(init.signal, attemptSignal)
        : attemptSignal;
    // A callback rather than an async function: no suspended frame is held per request in flight.
    return base(input, { ...init, signal }).then((response) => {
      state.response = { status: response.status, headers: response.headers };
      if (!state.headersReported) {
        state.headersReported = true;
        state.context.onResponseHeaders?.(response.status, response.headers);
      }
      const onBodyChunk = state.context.onBodyChunk;
      return onBodyChunk && response.body ? reportingChunks(response, onBodyChunk) : response;
    });
  };
}

/**
 * The same response, reporting each chunk of its body as text() or json() reads it: the SDKs read a
 * non-streamed body with one text()/json() call, so this is where a stalled body read can be seen
 * chunk by chunk (the body-idle deadline). The two methods are replaced on this one response by a
 * reader loop, which is what the built-in ones run too; piping the body through a TransformStream
 * instead cost ~55 µs per request (bench/benches/overhead.ts).
 */
const UTF8 = new TextDecoder();

function reportingChunks(response: Response, onChunk: () => void): Response {
  const text = async (): Promise<string> => {
    const reader = response.body!.getReader();
    const chunks: Uint8Array[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      // Decoded once at the end: a multi-byte character may straddle two chunks.
      if (done) return UTF8.decode(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
      onChunk();
      chunks.push(value);
    }
  };
  const json = async (): Promise<unknown> => JSON.parse(await text());
  Object.defineProperties(response, { text: { value: text }, json: { value: json } });
  return response;
}

/**
 * AbortSignal.any([a, b]) by hand: the signal aborts with the reason of whichever source aborts first.
 * AbortSignal.any costs ~15 µs per call in Node 24 (weak references, a finalisation registry, extra GC
 * work); two plain listeners cost ~2 µs. Both sources here live only as long as one request (the SDK's
 * per-request signal and the attempt's deadline signal), so the listeners cannot pile up on a
 * long-lived signal, which is the case AbortSignal.any's weak references exist for.
 */
function linkSignals(a: AbortSignal, b: AbortSignal): AbortSignal {
  if (a.aborted) return AbortSignal.abort(a.reason);
  if (b.aborted) return AbortSignal.abort(b.reason);
  const controller = new AbortController();
  const onA = (): void => {
    b.removeEventListener('abort', onB);
    controller.abort(a.reason);
  };
  const onB = (): void => {
    a.removeEventListener('abort', onA);
    controller.abort(b.reason);
  };
  a.addEventListener('abort', onA, { once: true });
  b.addEventListener('abort', onB, { once: true });
  return controller.signal;
}
