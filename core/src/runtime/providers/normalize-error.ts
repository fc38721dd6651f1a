import { loadedSdks } from '../../lazy.ts';
import { type ErrorKind, isSwitchyardError, SwitchyardError, type TimeoutPhase } from '../errors.ts';
import { redactSecrets } from '../scrub.ts';
import { parseRetryAfterMs, parseRetryHintFromMessage } from './retry-after.ts';

export { redactSecrets };

/** What the normaliser knows besides the error itself. */
export interface NormalizeContext {
  provider: string;
  deployment?: string;
  /** The attempt's signal: an abort by the router wins over whatever the SDK threw because of it. */
  signal?: AbortSignal;
  /** Status and headers seen by the fetch hook; used when the SDK error dropped them (ollama). */
  response?: { status: number; headers: Headers };
  /** Secrets that must never appear in a message (the deployment's API key). */
  secrets?: readonly (string | undefined)[];
  nowMs?: number;
}

/** Fields pulled out of any SDK error before classification. */
interface ErrorFacts {
  status: number | undefined;
  headers: Headers | undefined;
  /** Provider error type (OpenAI `type`, Anthropic `error.type`). */
  type: string | undefined;
  code: string | undefined;
  param: string | undefined;
  message: string;
  requestId: string | undefined;
}

const CONTEXT_OVERFLOW_PATTERN =
  /prompt is too long|context[ _-]?length|context window|maximum context|exceeds? (the )?(model'?s? )?context|too many tokens|input length exceeds|input is too long/i;
const UNSUPPORTED_PARAM_PATTERN = /unsupported (parameter|value): '([^']+)'/i;
/** Anthropic's 400 for a parameter the model does not take: `temperature: Extra inputs are not permitted`. */
const EXTRA_INPUT_PATTERN = /^([A-Za-z_][\w.]*): Extra inputs are not permitted/;
/** Ollama's 400 for a capability the model lacks: `registry.ollama.ai/library/x does not support tools`. */
const OLLAMA_UNSUPPORTED_PATTERN = /\bdoes not support (tools|thinking|insert)$/;
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

/** The fields `openai` and `@anthropic-ai/sdk` both put on their APIError (and its subclasses). */
interface SdkApiError extends Error {
  status: number | undefined;
  headers: Headers | undefined;
  error: unknown;
  requestID?: string | null;
  type?: unknown;
  /** `openai` only, with `param`. */
  code?: unknown;
  param?: unknown;
}

type SdkErrorClass = 'APIError' | 'APIConnectionError' | 'APIConnectionTimeoutError' | 'APIUserAbortError';

/**
 * An SDK error of that class (or a subclass). The SDKs are loaded only when a deployment needs them
 * (lazy.ts), so normalising an error must not load them: `instanceof` is checked against the SDKs
 * loaded so far (which holds in a minified bundle too), then the class names on the prototype chain,
 * which also recognise an error from a second, unminified copy of an SDK. Both SDKs name these classes
 * alike; `openai`'s errors carry `param`, Anthropic's do not.
 */
function isSdkError(error: unknown, cls: SdkErrorClass): error is SdkApiError {
  if (!(error instanceof Error) || !('status' in error && 'headers' in error && 'error' in error))
    return false;
  for (const sdk of loadedSdks()) if (error instanceof sdk[cls]) return true;
  for (
    let proto = Object.getPrototypeOf(error);
    proto && proto !== Error.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    if ((proto as { constructor?: { name?: unknown } }).constructor?.name === cls) return true;
  }
  return false;
}

function isSdkApiError(error: unknown): error is SdkApiError {
  return isSdkError(error, 'APIError');
}

/** Ollama does not export ResponseError; it is recognised by its name and `status_code`. */
function isOllamaResponseError(error: unknown): error is Error & { status_code: number; error: string } {
  return (
    error instanceof Error && error.name === 'ResponseError' && typeof record(error)?.status_code === 'number'
  );
}

function factsOf(error: unknown, ctx: NormalizeContext): ErrorFacts {
  if (isSdkApiError(error) && 'param' in error) {
    // openai: `.error` is the body's inner error object {message, type, param, code}.
    const inner = record(error.error);
    return {
      status: error.status,
      headers: error.headers,
      type: str(error.type) ?? str(inner?.type),
      code: str(error.code) ?? str(inner?.code),
      param: str(error.param) ?? str(inner?.param),
      message: str(inner?.message) ?? error.message,
      requestId: str(error.requestID) ?? str(error.headers?.get('request-id')),
    };
  }
  if (isSdkApiError(error)) {
    // The SDK keeps the whole body in `.error`: {type:'error', error:{type, message}, request_id}.
    const body = record(error.error);
    const inner = record(body?.error) ?? body;
    return {
      status: error.status,
      headers: error.headers,
      type: str(error.type) ?? str(inner?.type),
      code: str(error.type) ?? str(inner?.type),
      param: undefined,
      message: str(inner?.message) ?? error.message,
      requestId: str(error.requestID) ?? str(body?.request_id) ?? str(error.headers?.get('x-request-id')),
    };
  }
  const headers = ctx.response?.headers;
  const requestId = str(headers?.get('x-request-id')) ?? str(headers?.get('request-id'));
  if (isOllamaResponseError(error)) {
    return {
      status: error.status_code,
      headers,
      type: undefined,
      code: undefined,
      param: undefined,
      message: str(error.error) ?? error.message,
      requestId,
    };
  }
  return {
    status: undefined,
    headers,
    type: undefined,
    code: undefined,
    param: undefined,
    message: error instanceof Error ? error.message : safeString(error),
    requestId,
  };
}

/**
 * String(value) that cannot throw: a thrown null-prototype object or one whose toString/
 * Symbol.toPrimitive throws would otherwise escape the normaliser as a TypeError (found by
 * core/test/hardening/properties.test.ts).
 */
function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

function make(
  kind: ErrorKind,
  facts: ErrorFacts,
  ctx: NormalizeContext,
  cause: unknown,
  extra: { retryAfterMs?: number; timeoutPhase?: TimeoutPhase; param?: string; message?: string } = {},
): SwitchyardError {
  const raw = extra.message ?? facts.message;
  return new SwitchyardError(kind, {
    message: redactSecrets(`${ctx.provider}: ${raw}`, ctx.secrets),
    status: facts.status,
    provider: ctx.provider,
    deployment: ctx.deployment,
    retryAfterMs: extra.retryAfterMs,
    timeoutPhase: extra.timeoutPhase,
    param: extra.param ?? facts.param,
    code: facts.code ?? facts.type,
    requestId: facts.requestId,
    cause,
    secrets: ctx.secrets,
  });
}

/** The rejected parameter: the `param` field, else the quoted name in "Unsupported parameter: 'x'". */
function unsupportedParam(facts: ErrorFacts): string | undefined {
  if (facts.code === 'unsupported_parameter' || facts.code === 'unsupported_value') {
    return facts.param ?? UNSUPPORTED_PARAM_PATTERN.exec(facts.message)?.[2];
  }
  const match = UNSUPPORTED_PARAM_PATTERN.exec(facts.message);
  if (match) return facts.param ?? match[2];
  return (EXTRA_INPUT_PATTERN.exec(facts.message) ?? OLLAMA_UNSUPPORTED_PATTERN.exec(facts.message))?.[1];
}

function retryAfter(facts: ErrorFacts, ctx: NormalizeContext): number | undefined {
  return (
    parseRetryAfterMs(facts.headers, ctx.nowMs ?? Date.now()) ?? parseRetryHintFromMessage(facts.message)
  );
}

function isContextOverflow(facts: ErrorFacts): boolean {
  return facts.code === 'context_length_exceeded' || CONTEXT_OVERFLOW_PATTERN.test(facts.message);
}

function isQuota(facts: ErrorFacts): boolean {
  return (
    facts.code === 'insufficient_quota' ||
    facts.type === 'insufficient_quota' ||
    facts.type === 'billing_error'
  );
}

/** Classifies an HTTP error response by status, then by provider code/type and message. */
function classifyStatus(
  status: number,
  facts: ErrorFacts,
  ctx: NormalizeContext,
  cause: unknown,
): SwitchyardError {
  if (isQuota(facts) || status === 402) return make('quota_exhausted', facts, ctx, cause);
  if (status === 429)
    return make('rate_limited', facts, ctx, cause, { retryAfterMs: retryAfter(facts, ctx) });
  if (status === 529 || status === 503 || facts.type === 'overloaded_error') {
    return make('overloaded', facts, ctx, cause, {
      retryAfterMs: parseRetryAfterMs(facts.headers, ctx.nowMs),
    });
  }
  // A gateway timeout is the provider giving up before it could send a response: for the router that is the
  // same event as its own headers deadline firing, so it is a timeout in the 'headers' phase (still carrying
  // status 504), not a generic server error.
  if (status === 504 || status === 408 || facts.type === 'timeout_error') {
    return make('timeout', facts, ctx, cause, { timeoutPhase: 'headers' });
  }
  if (status >= 500) return make('server_error', facts, ctx, cause);
  if (status === 401 || status === 403) return make('auth', facts, ctx, cause);
  if (status === 404) return make('not_found', facts, ctx, cause);
  if (isContextOverflow(facts)) return make('context_overflow', facts, ctx, cause);
  const param = unsupportedParam(facts);
  if (param !== undefined || facts.code === 'unsupported_parameter') {
    return make('unsupported_parameter', facts, ctx, cause, { param });
  }
  return make('bad_request', facts, ctx, cause);
}

/**
 * Classifies an error that came with no HTTP status: an `{"error": ...}` event inside an HTTP 200 stream
 * (OpenAI, Anthropic `event: error`, an Ollama NDJSON error line).
 */
function classifyPayload(facts: ErrorFacts, ctx: NormalizeContext, cause: unknown): SwitchyardError {
  const type = facts.type ?? facts.code ?? '';
  if (isQuota(facts)) return make('quota_exhausted', facts, ctx, cause);
  if (type === 'overloaded_error' || /overloaded|server busy|slow down/i.test(facts.message)) {
    return make('overloaded', facts, ctx, cause);
  }
  if (type === 'rate_limit_error' || type === 'rate_limit_exceeded' || /rate limit/i.test(facts.message)) {
    return make('rate_limited', facts, ctx, cause, {
      retryAfterMs: parseRetryHintFromMessage(facts.message),
    });
  }
  if (type === 'timeout_error') return make('timeout', facts, ctx, cause, { timeoutPhase: 'idle' });
  if (isContextOverflow(facts)) return make('context_overflow', facts, ctx, cause);
  if (type === 'authentication_error' || type === 'permission_error') return make('auth', facts, ctx, cause);
  if (type === 'not_found_error') return make('not_found', facts, ctx, cause);
  if (type === 'invalid_request_error') {
    const param = unsupportedParam(facts);
    return param !== undefined
      ? make('unsupported_parameter', facts, ctx, cause, { param })
      : make('bad_request', facts, ctx, cause);
  }
  return make('server_error', facts, ctx, cause);
}

function transportCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth++) {
    const code = str(record(current)?.code);
    if (code) return code;
    current = record(current)?.cause;
  }
  return undefined;
}

function abortOutcome(signal: AbortSignal, facts: ErrorFacts, ctx: NormalizeContext, cause: unknown) {
  const reason: unknown = signal.reason;
  if (isSwitchyardError(reason)) return reason;
  return make('cancelled', facts, ctx, cause ?? reason, { message: 'the attempt was cancelled' });
}

/**
 * Turns any SDK or transport failure into one SwitchyardError. Order matters: a router abort first (the SDK
 * reports it as a user abort or a silent end), then connection errors (they are status-less APIErrors), then
 * HTTP statuses, then status-less payload errors, then raw transport and parse errors.
 */
export function normalizeError(error: unknown, ctx: NormalizeContext): SwitchyardError {
  if (isSwitchyardError(error)) return error;
  const facts = factsOf(error, ctx);
  if (ctx.signal?.aborted) return abortOutcome(ctx.signal, facts, ctx, error);

  if (isSdkError(error, 'APIConnectionTimeoutError')) {
    return make('timeout', facts, ctx, error, { timeoutPhase: 'headers' });
  }
  if (isSdkError(error, 'APIUserAbortError')) return make('cancelled', facts, ctx, error);
  if (isSdkError(error, 'APIConnectionError')) {
    return classifyTransport(record(error)?.cause ?? error, facts, ctx, error);
  }
  if (facts.status !== undefined) return classifyStatus(facts.status, facts, ctx, error);
  if (isSdkApiError(error)) return classifyPayload(facts, ctx, error);
  if (error instanceof SyntaxError) {
    return make('malformed_response', facts, ctx, error, {
      message: `the response body is not valid JSON (${error.message})`,
    });
  }
  return classifyTransport(error, facts, ctx, error);
}

/** An error payload that arrived in a 200 response body or stream (e.g. an Ollama `{"error": "..."}` line). */
export function normalizePayloadError(
  payload: { message: string; type?: string; code?: string },
  ctx: NormalizeContext,
): SwitchyardError {
  const headers = ctx.response?.headers;
  const facts: ErrorFacts = {
    status: undefined,
    headers,
    type: payload.type,
    code: payload.code,
    param: undefined,
    message: payload.message,
    requestId: str(headers?.get('x-request-id')) ?? str(headers?.get('request-id')),
  };
  return classifyPayload(facts, ctx, payload);
}

function classifyTransport(inner: unknown, facts: ErrorFacts, ctx: NormalizeContext, cause: unknown) {
  const code = transportCode(inner);
  const name = inner instanceof Error ? inner.name : '';
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT') {
    return make('timeout', facts, ctx, cause, { timeoutPhase: 'connect' });
  }
  if (code === 'UND_ERR_HEADERS_TIMEOUT')
    return make('timeout', facts, ctx, cause, { timeoutPhase: 'headers' });
  if (code === 'UND_ERR_BODY_TIMEOUT') return make('timeout', facts, ctx, cause, { timeoutPhase: 'idle' });
  if (name === 'TimeoutError') return make('timeout', facts, ctx, cause, { timeoutPhase: 'headers' });
  if (name === 'AbortError') return make('cancelled', facts, ctx, cause);
  if ((code && NETWORK_CODES.has(code)) || inner instanceof TypeError || name === 'APIConnectionError') {
    return make('network', facts, ctx, cause);
  }
  // Anything else (an unexpected exception from an SDK) is treated as a failed attempt on the server side:
  // retryable and fallbackable, and visible in the trace with its original message.
  return make('server_error', facts, ctx, cause, { message: `unclassified error: ${facts.message}` });
}
