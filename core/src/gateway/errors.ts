import type { ErrorKind, SwitchyardError } from '../runtime/errors.ts';

/**
 * What the gateway answers when a request does not succeed, as data: an HTTP status, a code (a
 * Switchyard error kind, or a gateway code such as `invalid_api_key`), a message, and the wait the
 * caller should observe when one is known. Each API dialect (openai.ts, anthropic.ts) renders it in
 * its own error shape; nothing here knows either shape.
 */
export type GatewayCode =
  | ErrorKind
  | 'invalid_api_key'
  | 'permission_denied'
  | 'model_not_found'
  | 'invalid_json'
  | 'request_too_large'
  | 'method_not_allowed'
  | 'not_found'
  | 'draining'
  | 'forbidden_host';

export class GatewayError extends Error {
  readonly status: number;
  readonly code: GatewayCode;
  /** The request field at fault (400s): `messages[0].content`. */
  readonly param: string | undefined;
  /** How long the caller should wait before trying again, when known (sent as Retry-After). */
  readonly retryAfterMs: number | undefined;

  constructor(
    status: number,
    code: GatewayCode,
    message: string,
    options: { param?: string; retryAfterMs?: number } = {},
  ) {
    super(message);
    this.name = 'GatewayError';
    this.status = status;
    this.code = code;
    this.param = options.param;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * The status a routing failure is answered with, by error kind. A failure of the upstream that the
 * caller cannot fix (server error, network, a deployment's own key refused) is a 502: answering 401
 * would tell the caller its own key is wrong. A refusal that waiting fixes is a 429 or 503.
 */
export const STATUS_OF_KIND: Record<ErrorKind, number> = {
  rate_limited: 429,
  quota_exhausted: 429,
  budget_exceeded: 429,
  overloaded: 503,
  circuit_open: 503,
  server_error: 502,
  network: 502,
  auth: 502,
  malformed_response: 502,
  timeout: 504,
  bad_request: 400,
  unsupported_parameter: 400,
  context_overflow: 400,
  content_filtered: 400,
  not_found: 404,
  // The caller went away; nobody reads this status (nginx's "client closed request").
  cancelled: 499,
};

/** A routing failure (the last error of the chain) as the gateway's answer. */
export function fromRoutingError(error: SwitchyardError): GatewayError {
  return new GatewayError(STATUS_OF_KIND[error.kind], error.kind, error.message, {
    ...(error.param !== undefined ? { param: error.param } : {}),
    ...(error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : {}),
  });
}

/** Retry-After in whole seconds (rounded up, at least 1), as the header wants it. */
export function retryAfterSeconds(ms: number): string {
  return String(Math.max(1, Math.ceil(ms / 1000)));
}
