import { AsyncLocalStorage } from 'node:async_hooks';
import type { AdapterOptions, AttemptContext } from './adapter.ts';

/** What the fetch wrapper learns about one attempt's HTTP exchange. */
export interface AttemptState {
  readonly context: AttemptContext;
  /** Status and headers of the attempt's response, once they arrived (the normaliser reads Retry-After from here). */
  response?: { status: number; headers: Headers };
  headersReported: boolean;
}

// One SDK client serves many concurrent attempts, so the attempt is found through the async context of the
// SDK call rather than through the client.
const storage = new AsyncLocalStorage<AttemptState>();

export function newAttemptState(context: AttemptContext): AttemptState {
  return { context, headersReported: false };
}

/** Runs `fn` (an SDK call) so that the fetch wrapper can find `state`. */
export function runInAttempt<T>(state: AttemptState, fn: () => T): T {
  return storage.run(state, fn);
}

/**
 * The `fetch` handed to every SDK client. It resolves the underlying fetch at call time (MSW and the in-process
 * simulator patch globalThis.fetch after the adapters were built), ties the request to the attempt's abort
 * signal (so an abort also cuts a stalled body read, even for SDKs that pass no signal, like ollama's
 * non-streaming calls), and reports the response headers once.
 */
export function createHookedFetch(options: AdapterOptions): typeof fetch {
  return async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const base = options.fetch ?? globalThis.fetch;
    const state = storage.getStore();
    if (state === undefined) return base(input, init);
    const attemptSignal = state.context.signal;
    const signal = init?.signal ? linkSignals(init.signal, attemptSignal) : attemptSignal;
    const response = await base(input, { ...init, signal });
    state.response = { status: response.status, headers: response.headers };
    if (!state.headersReported) {
      state.headersReported = true;
      state.context.onResponseHeaders?.(response.status, response.headers);
    }
    const onBodyChunk = state.context.onBodyChunk;
    return onBodyChunk && response.body ? reportingChunks(response, onBodyChunk) : response;
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
