import type { Provider } from '../../runtime/types.ts';
import { hashString, Rng } from './random.ts';

export interface ErrorSpec {
  /** OpenAI `error.type` / Anthropic `error.type`; ignored for Ollama (its body is only a message). */
  type: string;
  message: string;
  /** OpenAI `error.code` (null when absent). */
  code?: string | null;
  /** OpenAI `error.param` (null when absent). */
  param?: string | null;
  /** Extra headers (retry-after, x-should-retry, rate-limit headers…); they override the defaults. */
  headers?: HeadersInit;
  /** Request id for `x-request-id` / `request-id` and Anthropic's `request_id`; derived from the body when absent. */
  requestId?: string;
  /** OpenAI's `openai-processing-ms` (default 0). */
  processingMs?: number;
}

/** The model id at the end of a `/v1/models/{id}` path; undefined when its escapes are malformed (%E0%A4%A). */
export function modelIdOfPath(pathname: string): string | undefined {
  try {
    return decodeURIComponent(pathname.slice('/v1/models/'.length));
  } catch {
    return undefined;
  }
}

export const JSON_CONTENT_TYPE = 'application/json';
export const OLLAMA_JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
export const SSE_CONTENT_TYPE = 'text/event-stream; charset=utf-8';
export const NDJSON_CONTENT_TYPE = 'application/x-ndjson';

/** `req_` + 32 hex, like OpenAI's x-request-id. */
export function openaiRequestId(rng: Rng): string {
  return `req_${rng.hex(32)}`;
}

/** `req_011C` + 20 base62 characters, like Anthropic's request-id. */
export function anthropicRequestId(rng: Rng): string {
  return `req_011C${rng.string(20)}`;
}

/** The provider's exact error body (as a JSON-ready object). */
export function errorBody(provider: Provider, spec: ErrorSpec): Record<string, unknown> {
  switch (provider) {
    case 'openai':
      return {
        error: { message: spec.message, type: spec.type, param: spec.param ?? null, code: spec.code ?? null },
      };
    case 'anthropic':
      return {
        type: 'error',
        error: { type: spec.type, message: spec.message },
        request_id: spec.requestId ?? fallbackRequestId(provider, spec),
      };
    case 'ollama':
      return { error: spec.message };
  }
}

function fallbackRequestId(provider: Provider, spec: ErrorSpec): string {
  // Deterministic without a seed: the same error gets the same id in every run.
  const rng = new Rng(hashString(`${spec.type}\n${spec.message}\n${spec.code ?? ''}`));
  return provider === 'anthropic' ? anthropicRequestId(rng) : openaiRequestId(rng);
}

/**
 * A complete error response as the provider sends it: body, content type and request-id header.
 * Anthropic's body and `request-id` header carry the same id.
 */
export function errorResponse(provider: Provider, status: number, spec: ErrorSpec): Response {
  const requestId = spec.requestId ?? fallbackRequestId(provider, spec);
  const headers = new Headers();
  if (provider === 'openai') {
    headers.set('content-type', JSON_CONTENT_TYPE);
    headers.set('x-request-id', requestId);
    // OpenAI sends these on errors as on successes (injected errors included).
    headers.set('openai-version', '2020-10-01');
    headers.set('openai-organization', 'switchyard-sim');
    headers.set('openai-processing-ms', String(Math.round(spec.processingMs ?? 0)));
  } else if (provider === 'anthropic') {
    headers.set('content-type', JSON_CONTENT_TYPE);
    headers.set('request-id', requestId);
  } else {
    headers.set('content-type', OLLAMA_JSON_CONTENT_TYPE);
  }
  for (const [name, value] of new Headers(spec.headers)) headers.set(name, value);
  return new Response(JSON.stringify(errorBody(provider, { ...spec, requestId })), { status, headers });
}

/**
 * One SSE frame. `data` objects are JSON-encoded; strings go out verbatim (e.g. `[DONE]`).
 * OpenAI frames have no event name; Anthropic frames name the event.
 */
export function encodeSse(data: unknown, event?: string): string {
  const payload = typeof data === 'string' ? data : JSON.stringify(data);
  return `${event ? `event: ${event}\n` : ''}data: ${payload}\n\n`;
}

/** OpenAI's stream terminator. */
export const SSE_DONE = encodeSse('[DONE]');

/** One NDJSON line. */
export function encodeNdjson(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}

const encoder = new TextEncoder();

/**
 * A byte stream from an async iterable of text frames. Cancelling the stream (the client went away)
 * aborts `controller`, which cancels any pending clock sleep in the producer, so no timer is left.
 */
export function frameStream(
  frames: AsyncIterator<string>,
  controller: AbortController,
): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(stream) {
      try {
        const next = await frames.next();
        if (next.done) stream.close();
        else stream.enqueue(encoder.encode(next.value));
      } catch (error) {
        stream.error(error);
      }
    },
    async cancel(reason) {
      controller.abort(reason);
      try {
        await frames.return?.();
      } catch {
        // The producer was already stopped by the abort.
      }
    },
  });
}
