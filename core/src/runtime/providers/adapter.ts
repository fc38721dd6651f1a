import type {
  ChatRequest,
  EmbedRequest,
  EmbedResult,
  ProviderKind,
  ProviderResult,
  ProviderStreamEvent,
} from '../types.ts';

/** What the router hands an adapter for one attempt. */
export interface AttemptContext {
  /** Aborted by the router on deadline, hedge loss or caller cancel; its reason is a SwitchyardError when the router aborted. */
  signal: AbortSignal;
  /** Called once when the HTTP response headers of this attempt arrive (ends the headers deadline). */
  onResponseHeaders?: (status: number, headers: Headers) => void;
  /** Non-streamed calls: called for every chunk of the response body (restarts the body-idle deadline). */
  onBodyChunk?: () => void;
  /**
   * Wire parameters the provider rejected on an earlier attempt (from SwitchyardError.param). The
   * adapter rewrites them when it knows how (OpenAI 'max_tokens' → 'max_completion_tokens') and
   * omits them otherwise (e.g. 'temperature').
   */
  rewriteParams?: readonly string[];
  /** The router's clock: an HTTP-date Retry-After is measured against it (default Date.now). */
  now?: () => number;
}

/** One provider + model + endpoint, wrapping the official SDK client constructed with maxRetries: 0. */
export interface ProviderAdapter {
  readonly provider: ProviderKind;
  readonly model: string;
  complete(request: ChatRequest, context: AttemptContext): Promise<ProviderResult>;
  /** Yields events until 'finish'; throws a SwitchyardError on failure (including a stream that ends without its terminator). */
  stream(request: ChatRequest, context: AttemptContext): AsyncIterable<ProviderStreamEvent>;
  /** Embeddings, where the provider has them (absent: the router falls back past this deployment). */
  embed?(request: EmbedRequest, context: AttemptContext): Promise<EmbedResult>;
}

/** How adapters obtain what the outside world supplies. */
export interface AdapterOptions {
  apiKey?: string;
  /** fetch used by the SDK (tests and the in-process simulator hook in here); defaults to globalThis.fetch at call time. */
  fetch?: typeof fetch;
}
