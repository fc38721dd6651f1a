/**
 * Wire-level helpers the chaos layer needs: which provider a request is for, what it asks for (model,
 * stream, JSON mode), and each provider's exact error envelope. Shapes follow
 * shared/notes/provider-wire-facts.md.
 */

import type { Provider } from '../../runtime/types.ts';
import { errorResponse, isRecord, providerOf } from '../simulator/index.ts';
import { DIALECTS } from './providers/index.ts';

export { PROVIDERS, type Provider } from '../../runtime/types.ts';

/** Endpoints that generate text (where stream and content faults make sense). */
const GENERATION_PATHS = new Set([
  '/v1/chat/completions',
  '/v1/responses',
  '/v1/messages',
  '/api/chat',
  '/api/generate',
]);

export interface RequestInfo {
  provider: Provider | undefined;
  method: string;
  /** URL pathname, e.g. /v1/chat/completions. */
  endpoint: string;
  /** True for chat/messages/generate. */
  generation: boolean;
  model: string | undefined;
  /** Whether the response will be a stream (Ollama streams unless `stream: false`). */
  stream: boolean;
  /** JSON mode asked for (OpenAI response_format / text.format, Ollama format, Anthropic output_format / output_config.format). */
  jsonMode: boolean;
  /** Parsed JSON body, or undefined when absent or not JSON. */
  body: unknown;
  headers: Headers;
}

/** Reads what the chaos layer needs from a request without consuming it (works on a clone). */
export async function inspectRequest(request: Request): Promise<RequestInfo> {
  let text: string | undefined;
  if (request.body !== null && request.method !== 'GET' && request.method !== 'HEAD') {
    try {
      text = await request.clone().text();
    } catch {
      text = undefined;
    }
  }
  return describeRequest(request.method, new URL(request.url).pathname, request.headers, text);
}

/**
 * `inspectRequest` from the parts of a request already at hand (the body as text, undefined when
 * there is none), so a caller holding raw bytes (the socket proxy) need not build a Request.
 */
export function describeRequest(
  method: string,
  pathname: string,
  headers: Headers,
  bodyText: string | undefined,
): RequestInfo {
  const provider = providerOf(pathname, headers);
  let body: unknown;
  if (bodyText !== undefined && method !== 'GET' && method !== 'HEAD') {
    try {
      body = JSON.parse(bodyText);
    } catch {
      body = undefined;
    }
  }
  const record = isRecord(body) ? body : {};
  const generation = GENERATION_PATHS.has(pathname);
  const dialect = provider ? DIALECTS[provider] : undefined;
  const stream = generation && (dialect?.streamsByDefault ? record.stream !== false : record.stream === true);
  const jsonMode = dialect?.asksForJson(record) ?? false;
  return {
    provider,
    method,
    endpoint: pathname,
    generation,
    model: typeof record.model === 'string' ? record.model : undefined,
    stream,
    jsonMode,
    body,
    headers,
  };
}

export { isRecord, providerOf };

export interface ProviderErrorSpec {
  /** OpenAI `type` / Anthropic `error.type`; ignored by Ollama. */
  type: string;
  message: string;
  /** OpenAI only. */
  code?: string | null;
  /** OpenAI only. */
  param?: string | null;
  headers?: Record<string, string>;
  /** Request id to echo (x-request-id for OpenAI, request-id + body request_id for Anthropic). */
  requestId?: string;
}

/**
 * One provider's exact error envelope (the simulator's own builder, so injected and simulated errors
 * are byte-identical): OpenAI `{"error":{"message","type","param","code"}}`, Anthropic
 * `{"type":"error","error":{"type","message"},"request_id"}`, Ollama `{"error":"..."}`.
 */
export function providerErrorResponse(provider: Provider, status: number, spec: ProviderErrorSpec): Response {
  return errorResponse(provider, status, spec);
}
