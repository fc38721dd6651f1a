import { redactSecrets, scrubCause } from './scrub.ts';

/**
 * One error type for every failure, with a kind that drives retry and fallback decisions.
 * Provider adapters map SDK/transport failures into it; nothing above them inspects SDK errors.
 */

export const ERROR_KINDS = [
  'rate_limited',
  'quota_exhausted',
  'overloaded',
  'server_error',
  'timeout',
  'network',
  'auth',
  'bad_request',
  'not_found',
  'unsupported_parameter',
  'context_overflow',
  'content_filtered',
  'malformed_response',
  'budget_exceeded',
  'circuit_open',
  'cancelled',
] as const;

export type ErrorKind = (typeof ERROR_KINDS)[number];

/** Which wait ran out: 'idle' between stream chunks, 'body_idle' between chunks of a non-streamed body. */
export type TimeoutPhase = 'connect' | 'headers' | 'first_token' | 'idle' | 'body_idle' | 'total';

/** Defaults: whether the same deployment may be tried again, and whether another deployment may take over. */
export const ERROR_KIND_DEFAULTS: Record<ErrorKind, { retryable: boolean; fallbackable: boolean }> = {
  rate_limited: { retryable: true, fallbackable: true },
  quota_exhausted: { retryable: false, fallbackable: true },
  overloaded: { retryable: true, fallbackable: true },
  server_error: { retryable: true, fallbackable: true },
  timeout: { retryable: true, fallbackable: true },
  network: { retryable: true, fallbackable: true },
  auth: { retryable: false, fallbackable: true },
  bad_request: { retryable: false, fallbackable: false },
  not_found: { retryable: false, fallbackable: true },
  unsupported_parameter: { retryable: false, fallbackable: true },
  context_overflow: { retryable: false, fallbackable: true },
  content_filtered: { retryable: false, fallbackable: true },
  malformed_response: { retryable: true, fallbackable: true },
  budget_exceeded: { retryable: false, fallbackable: true },
  circuit_open: { retryable: false, fallbackable: true },
  cancelled: { retryable: false, fallbackable: false },
};

export interface SwitchyardErrorOptions {
  message: string;
  status?: number;
  provider?: string;
  deployment?: string;
  /** How long the provider asked us to wait (Retry-After / retry-after-ms), in ms. */
  retryAfterMs?: number;
  timeoutPhase?: TimeoutPhase;
  /** The request parameter the provider rejected (unsupported_parameter, bad_request). */
  param?: string;
  /** Provider error code / type, verbatim (e.g. 'insufficient_quota', 'overloaded_error'). */
  code?: string;
  requestId?: string;
  retryable?: boolean;
  fallbackable?: boolean;
  /** Kept as a scrubbed copy (scrubCause): never the SDK error itself, whose headers and body can hold the key. */
  cause?: unknown;
  /** Values to redact from the message and the cause (the deployment's API key). */
  secrets?: readonly (string | undefined)[];
}

export class SwitchyardError extends Error {
  readonly kind: ErrorKind;
  readonly retryable: boolean;
  readonly fallbackable: boolean;
  readonly status: number | undefined;
  readonly provider: string | undefined;
  deployment: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly timeoutPhase: TimeoutPhase | undefined;
  readonly param: string | undefined;
  readonly code: string | undefined;
  readonly requestId: string | undefined;

  constructor(kind: ErrorKind, options: SwitchyardErrorOptions) {
    const cause = isSwitchyardError(options.cause)
      ? options.cause
      : scrubCause(options.cause, options.secrets);
    super(redactSecrets(options.message, options.secrets), cause === undefined ? undefined : { cause });
    this.name = 'SwitchyardError';
    this.kind = kind;
    this.retryable = options.retryable ?? ERROR_KIND_DEFAULTS[kind].retryable;
    this.fallbackable = options.fallbackable ?? ERROR_KIND_DEFAULTS[kind].fallbackable;
    this.status = options.status;
    this.provider = options.provider;
    this.deployment = options.deployment;
    this.retryAfterMs = options.retryAfterMs;
    this.timeoutPhase = options.timeoutPhase;
    this.param = options.param;
    this.code = options.code;
    this.requestId = options.requestId;
  }

  /** A plain, key-free summary for traces and reports. */
  toJSON(): Record<string, unknown> {
    return {
      kind: this.kind,
      message: this.message,
      status: this.status,
      provider: this.provider,
      deployment: this.deployment,
      retryAfterMs: this.retryAfterMs,
      timeoutPhase: this.timeoutPhase,
      param: this.param,
      code: this.code,
      requestId: this.requestId,
      retryable: this.retryable,
      fallbackable: this.fallbackable,
    };
  }
}

export function isSwitchyardError(value: unknown): value is SwitchyardError {
  return value instanceof SwitchyardError;
}
